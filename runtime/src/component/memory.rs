//! [`InstanceMemory`]: the [`GuestMemory`] of an instance, as the host sees it through the
//! public API: a [`Memory`] and the instance's `cabi_realloc` [`Func`], called through the
//! store like any export. This is how the host calls a lifted export; a host import's
//! trampoline, which runs inside a call, will reach the caller's memory through its
//! `Caller` instead.

use super::abi::GuestMemory;
use super::trap::{AbiError, ComponentTrap};
use crate::api::{Func, Memory, Store, Val};
use crate::error::CallError;

/// An instance's memory and allocator, borrowed with its store.
pub struct InstanceMemory<'a> {
    store: &'a mut Store,
    memory: Memory,
    realloc: Option<Func>,
}

impl<'a> InstanceMemory<'a> {
    /// `memory` of `store`, allocating with `realloc` (the canonical options' `realloc`,
    /// of type `(i32, i32, i32, i32) -> i32`), if any.
    pub fn new(store: &'a mut Store, memory: Memory, realloc: Option<Func>) -> InstanceMemory<'a> {
        InstanceMemory {
            store,
            memory,
            realloc,
        }
    }

    /// The store, for calls between lowering and lifting.
    pub fn store(&mut self) -> &mut Store {
        self.store
    }
}

impl GuestMemory for InstanceMemory<'_> {
    fn bytes(&self) -> &[u8] {
        self.memory.data(self.store)
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(self.store)
    }

    fn realloc(
        &mut self,
        old_ptr: u32,
        old_size: u32,
        align: u32,
        new_size: u32,
    ) -> Result<u32, AbiError> {
        let store = &mut *self.store;
        call_realloc(
            self.realloc,
            [old_ptr, old_size, align, new_size],
            |func, args| func.call(store, args),
        )
    }
}

/// Calls `cabi_realloc` (`None` when the options name none: then nothing can be
/// allocated) with `(old_ptr, old_size, align, new_size)` through `call`; returns the
/// pointer it gave.
pub(super) fn call_realloc(
    realloc: Option<Func>,
    args: [u32; 4],
    call: impl FnOnce(Func, &[Val]) -> Result<Vec<Val>, CallError>,
) -> Result<u32, AbiError> {
    let Some(realloc) = realloc else {
        return Err(ComponentTrap::NoMemory("string or list").into());
    };
    let args = args.map(|v| Val::I32(v as i32));
    match call(realloc, &args).map_err(AbiError::Guest)?[..] {
        [Val::I32(ptr)] => Ok(ptr as u32),
        ref other => Err(AbiError::Mismatch(format!(
            "cabi_realloc returned {other:?}, not one i32"
        ))),
    }
}
