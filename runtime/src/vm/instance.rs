//! The runtime side of an instance (`InstanceData`): its context (`vmctx`), which compiled
//! code receives, and the store indices of everything it uses. `vmctx.instance` points
//! here, so builtins and host functions find the instance from the context they are given.

use super::module::Module;
use super::store::VMStore;
use kiln_abi::metadata::ExternKind;
use kiln_abi::vmctx::{VMMemoryDefinition, VMOffsets};
use std::alloc::Layout;

/// An instance: its context and its entities, as indices into its store.
pub(crate) struct InstanceData {
    pub module: Module,
    pub offsets: VMOffsets,
    /// The context compiled code receives; owned (allocated with `vmctx_layout`).
    pub vmctx: *mut u8,
    pub store: *mut VMStore,
    /// Store indices of every function, imported first.
    pub funcs: Vec<u32>,
    /// Store indices of every memory, imported first.
    pub memories: Vec<u32>,
    /// Store indices of every table, imported first.
    pub tables: Vec<u32>,
    /// Store indices of every global, imported first.
    pub globals: Vec<u32>,
    /// Store indices of every tag, imported first.
    pub tags: Vec<u32>,
    /// Each element segment's references as table elements; emptied by `elem.drop`.
    pub elements: Vec<Vec<usize>>,
    /// Whether each data segment was dropped.
    pub data_dropped: Vec<bool>,
    /// The index of the memory exported as `memory`, which WASI's host functions use on
    /// every call: found once, not by a search of the exports per call.
    pub memory_export: Option<u32>,
}

/// The allocation layout of a context.
pub(crate) fn vmctx_layout(offsets: &VMOffsets) -> Layout {
    Layout::from_size_align(offsets.size.max(16) as usize, 16).expect("context layout")
}

impl Drop for InstanceData {
    fn drop(&mut self) {
        // SAFETY: allocated in `instantiate` with this layout.
        unsafe { std::alloc::dealloc(self.vmctx, vmctx_layout(&self.offsets)) };
    }
}

impl InstanceData {
    /// Pointer to a field of the context at `offset`.
    pub fn at<T>(&self, offset: u32) -> *mut T {
        // SAFETY: offsets come from `VMOffsets` for this context's size.
        unsafe { self.vmctx.add(offset as usize).cast::<T>() }
    }

    /// The `VMMemoryDefinition` compiled code uses for memory `index`.
    pub fn memory_definition(&self, index: u32) -> *mut VMMemoryDefinition {
        let imported = self.offsets.counts.imported_memories;
        if index < imported {
            // SAFETY: the import pointers are written at instantiation.
            unsafe { *self.at::<*mut VMMemoryDefinition>(self.offsets.imported_memory(index)) }
        } else {
            self.at(self.offsets.memory(index - imported))
        }
    }

    /// Base and length of memory `index`, if the instance has it.
    pub fn memory_view(&self, index: u32) -> Option<(*mut u8, usize)> {
        if index as usize >= self.memories.len() {
            return None;
        }
        let definition = self.memory_definition(index);
        // SAFETY: the definition is live for the instance's lifetime.
        unsafe { Some(((*definition).base, (*definition).current_length)) }
    }

    /// The export `name`: its kind and the entity's index in the store.
    pub fn export(&self, name: &str) -> Option<(ExternKind, u32)> {
        let export = self
            .module
            .metadata()
            .exports
            .iter()
            .find(|export| export.name == name)?;
        self.entity(export.kind, export.index)
    }

    /// The store index of the entity of kind `kind` at `index` of this instance.
    pub fn entity(&self, kind: ExternKind, index: u32) -> Option<(ExternKind, u32)> {
        let indices = match kind {
            ExternKind::Func => &self.funcs,
            ExternKind::Table => &self.tables,
            ExternKind::Memory => &self.memories,
            ExternKind::Global => &self.globals,
            ExternKind::Tag => &self.tags,
        };
        Some((kind, *indices.get(index as usize)?))
    }

    /// The index of the memory `module` exports as `memory`, if any (for
    /// [`InstanceData::memory_export`]).
    pub fn find_memory_export(module: &Module) -> Option<u32> {
        module
            .metadata()
            .exports
            .iter()
            .find(|export| export.name == "memory" && export.kind == ExternKind::Memory)
            .map(|export| export.index)
    }

    /// Base and length of the memory exported as `memory`.
    pub fn exported_memory(&self) -> Option<(*mut u8, usize)> {
        self.memory_view(self.memory_export?)
    }
}
