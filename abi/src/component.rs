//! The component plan: what an executable built from a WebAssembly component replays at
//! start to instantiate it (issue 19).
//!
//! A component is a graph of core module instances wired together through lifted and
//! lowered functions, host imports and resources. The compiler side (`kiln-component`)
//! flattens that graph once, at compile time, into a [`ComponentPlan`]: the core modules to
//! compile (each a separate kiln module with its own symbol prefix), and the ordered
//! start-up [`Step`]s that instantiate them, each import of each instance given as a
//! [`CoreDef`]: an export of an earlier instance, or a [`Trampoline`] (a lowered host
//! import, a `resource.new`/`rep`/`drop`, ...). Host imports carry their full component
//! names and their component function types in a small type table of kiln's own
//! ([`TypeTable`]), from which the canonical ABI's flat core signatures follow
//! ([`TypeTable::lowered_signature`], [`TypeTable::lifted_signature`]).
//!
//! Nothing here refers to the translator's own types: the runtime reads a plan without
//! linking wasmparser or wasmtime-environ. The plan is postcard-encoded like
//! [`ModuleMetadata`](crate::metadata::ModuleMetadata), behind a version word of its own
//! ([`COMPONENT_PLAN_VERSION`]).
//!
//! ```text
//!  component ──kiln-component──► ComponentPlan ──► modules[i]: core wasm, compiled with
//!                                  │                 symbol prefix `modules[i].symbol_prefix`
//!                                  └─ steps ──────► runtime (milestone 2): for each step in
//!                                                   order: instantiate module i with imports
//!                                                   from earlier instances / trampolines;
//!                                                   record memories, reallocs, post-returns;
//!                                                   create resource tables
//! ```

use crate::metadata::{FuncType as CoreFuncType, ValType as CoreType};
use serde::{Deserialize, Serialize};

/// Version of the plan's encoding, the first word of [`ComponentPlan::encode`]'s output.
/// Bumped on any change to the types of this file; [`ComponentPlan::decode`] refuses
/// another version.
pub const COMPONENT_PLAN_VERSION: u32 = 2;

/// The canonical ABI's limit on flattened parameters: a function with more passes them
/// through memory, as one pointer.
pub const MAX_FLAT_PARAMS: usize = 16;

/// The canonical ABI's limit on flattened results: a function with more returns them
/// through memory (a return pointer parameter when lowered, a returned pointer when lifted).
pub const MAX_FLAT_RESULTS: usize = 1;

/// A component, flattened: what to compile and how to instantiate it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentPlan {
    /// The core modules, by module index: the component's own and the adapter modules the
    /// translator generated. Their bytes are returned beside the plan, in the same order.
    pub modules: Vec<CoreModule>,
    /// The start-up steps, in the order they run.
    pub steps: Vec<Step>,
    /// The functions the component imports from the host, by import index.
    pub imports: Vec<HostImport>,
    /// The functions the runtime provides to core instances, by trampoline index.
    pub trampolines: Vec<Trampoline>,
    /// Canonical options (`canon lift`/`canon lower`), by options index.
    pub options: Vec<CanonicalOptions>,
    /// The component's resource types: first the imported ones, then those it defines.
    pub resources: Vec<Resource>,
    /// The resource tables (one per resource type per component instance that uses it);
    /// `own` and `borrow` types refer to these. Indexed as the translator indexes them,
    /// since fused adapters pass table indices to the transfer trampolines as constants.
    pub resource_tables: Vec<ResourceTable>,
    /// The component's functions exported to the host (`wasi:cli/run@0.2.3#run`).
    pub exports: Vec<ComponentExport>,
    /// The component-level types of the imports and exports.
    pub types: TypeTable,
    /// Number of core instances the steps create (each [`Step::Instantiate`] creates the
    /// next one).
    pub n_instances: u32,
    /// Number of component instances (each has its own resource tables).
    pub n_component_instances: u32,
    /// Number of memories, reallocs and post-returns the steps extract.
    pub n_memories: u32,
    /// See `n_memories`.
    pub n_reallocs: u32,
    /// See `n_memories`.
    pub n_post_returns: u32,
    /// The messages of the trap codes a fused adapter passes to its `trap` trampoline
    /// (the translator's codes: an invalid `char`, a string out of bounds, a call into a
    /// component that may not be entered), by code.
    pub adapter_traps: Vec<(u8, String)>,
}

/// One core module of a component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreModule {
    /// Where the module comes from.
    pub origin: ModuleOrigin,
    /// The prefix of its symbols in the component's object, so several modules share it.
    pub symbol_prefix: String,
}

/// Where a core module comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModuleOrigin {
    /// A module of the component, at this byte offset of the component.
    Component {
        /// Offset of the module's first byte (its magic) in the component.
        offset: u64,
    },
    /// A fused adapter module generated by the translator.
    Adapter,
}

/// A start-up step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Instantiate core module `module` as the next core instance; `args` are its
    /// imports, in the module's import order.
    Instantiate {
        /// Index into [`ComponentPlan::modules`].
        module: u32,
        /// One definition per import of the module.
        args: Vec<CoreDef>,
        /// The component instance the new instance belongs to.
        component_instance: Option<u32>,
    },
    /// Record an exported memory as memory `index` (which canonical options name).
    ExtractMemory {
        /// Memory index in the plan's memory space.
        index: u32,
        /// The memory.
        export: CoreExport,
    },
    /// Record a `cabi_realloc` function as realloc `index`.
    ExtractRealloc {
        /// Realloc index.
        index: u32,
        /// The function.
        def: CoreDef,
    },
    /// Record a post-return function as post-return `index`.
    ExtractPostReturn {
        /// Post-return index.
        index: u32,
        /// The function.
        def: CoreDef,
    },
    /// Set the destructor of resource `resource`, defined by the component.
    DefineResource {
        /// Index into [`ComponentPlan::resources`].
        resource: u32,
        /// The destructor, called with the representation when the last handle goes.
        destructor: Option<CoreDef>,
    },
}

/// A core definition: what a core import is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CoreDef {
    /// An export of an instance created by an earlier step.
    Export(CoreExport),
    /// A function the runtime provides (index into [`ComponentPlan::trampolines`]).
    Trampoline(u32),
    /// The flags of a component instance: a mutable `i32` global the runtime owns,
    /// initially 1, the component model's `may_leave` flag, which fused adapters check
    /// before they call out of the instance and clear while they copy values.
    InstanceFlags(u32),
}

/// An export of a core instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreExport {
    /// The core instance, by creation order.
    pub instance: u32,
    /// The export's name.
    pub name: String,
}

/// A function the runtime provides to core instances, with its core signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trampoline {
    /// What it does.
    pub kind: TrampolineKind,
    /// Its core signature.
    pub signature: CoreFuncType,
}

/// What a trampoline does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrampolineKind {
    /// `canon lower` of a host import: lift the core arguments through the import's type
    /// and the options' memory, call the host, lower the results back.
    LowerImport {
        /// Index into [`ComponentPlan::imports`].
        import: u32,
        /// Index into [`ComponentPlan::options`].
        options: u32,
    },
    /// `resource.new`: a new `own` handle for a representation.
    ResourceNew {
        /// Index into [`ComponentPlan::resource_tables`].
        table: u32,
    },
    /// `resource.rep`: the representation behind an own handle.
    ResourceRep {
        /// Index into [`ComponentPlan::resource_tables`].
        table: u32,
    },
    /// `resource.drop`: drop a handle, calling the destructor of an owned one.
    ResourceDrop {
        /// Index into [`ComponentPlan::resource_tables`].
        table: u32,
    },
    /// Used by fused adapters: move an `own` handle between two tables.
    ResourceTransferOwn,
    /// Used by fused adapters: lend a `borrow` handle to another table.
    ResourceTransferBorrow,
    /// Used by fused adapters around a call that passes resources between two of the
    /// component's instances (caller instance, 0, callee instance): starts a call scope,
    /// which the borrows lent for it belong to.
    EnterSyncCall,
    /// Ends the scope [`TrampolineKind::EnterSyncCall`] started: the callee must have
    /// dropped the borrows it was given.
    ExitSyncCall,
    /// Used by fused adapters: trap with the component-model trap code given as the
    /// `i32` argument (a bad string, an out-of-bounds list, re-entering a component).
    Trap,
}

/// Canonical ABI options of a `canon lift` or `canon lower`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanonicalOptions {
    /// The component instance whose options these are.
    pub component_instance: u32,
    /// The memory strings and lists live in (index of a [`Step::ExtractMemory`]).
    pub memory: Option<u32>,
    /// The `cabi_realloc` that allocates in it (index of a [`Step::ExtractRealloc`]).
    pub realloc: Option<u32>,
    /// Called after the results of a lifted function have been read.
    pub post_return: Option<u32>,
    /// Always UTF-8: kiln refuses the other encodings when it builds the plan.
    pub string_encoding: StringEncoding,
}

/// How strings are encoded in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StringEncoding {
    /// UTF-8, the only encoding kiln implements.
    Utf8,
}

/// A function imported from the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostImport {
    /// Its full name.
    pub name: ImportName,
    /// Its type: index into [`TypeTable::funcs`].
    pub func_type: u32,
}

/// The component-level name of a host function: `wasi:cli/stdout@0.2.3#get-stdout` is
/// interface `wasi:cli/stdout`, version `0.2.3`, function `get-stdout`. A function
/// imported alone, outside an interface, has an empty interface.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportName {
    /// `namespace:package/interface`, or the import's plain name.
    pub interface: String,
    /// The semver version after `@`, if any.
    pub version: Option<String>,
    /// The function's name in the interface (`[method]output-stream.write` for a method).
    pub function: String,
}

impl ImportName {
    /// Splits an instance import's name (`wasi:cli/stdout@0.2.3`) and a function's name.
    pub fn new(instance: &str, function: &str) -> ImportName {
        let (interface, version) = match instance.split_once('@') {
            Some((interface, version)) => (interface.to_string(), Some(version.to_string())),
            None => (instance.to_string(), None),
        };
        ImportName {
            interface,
            version,
            function: function.to_string(),
        }
    }
}

impl core::fmt::Display for ImportName {
    /// `wasi:cli/stdout@0.2.3#get-stdout`, or the plain name when outside an interface.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.interface.is_empty() {
            return f.write_str(&self.function);
        }
        f.write_str(&self.interface)?;
        if let Some(version) = &self.version {
            write!(f, "@{version}")?;
        }
        write!(f, "#{}", self.function)
    }
}

/// A resource type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Its name: `wasi:io/streams@0.2.3#output-stream` for an imported one, the
    /// component's own name (or `resource<N>`) for a defined one.
    pub name: String,
    /// Whether the host defines it (then the host keeps its representations), or the
    /// component (then the representation is an i32 of the component's choosing).
    pub imported: bool,
    /// The component instance that defines it (defined resources only).
    pub component_instance: Option<u32>,
}

/// A table of handles of one resource type in one component instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceTable {
    /// Index into [`ComponentPlan::resources`].
    pub resource: u32,
    /// The component instance the table belongs to.
    pub component_instance: u32,
}

/// A function of the component exported to the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentExport {
    /// Its full name, as for imports: `wasi:cli/run@0.2.3#run`.
    pub name: ImportName,
    /// The core function lifted.
    pub func: CoreDef,
    /// Its type: index into [`TypeTable::funcs`].
    pub func_type: u32,
    /// Index into [`ComponentPlan::options`].
    pub options: u32,
}

// ---------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------

/// The component-level types a plan refers to: functions and the compound value types
/// they use, each defined once and referred to by index.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeTable {
    /// Function types.
    pub funcs: Vec<FuncType>,
    /// Compound value types, referred to by [`ValType::Defined`].
    pub defined: Vec<DefinedType>,
}

/// A component function type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncType {
    /// Named parameters.
    pub params: Vec<(String, ValType)>,
    /// The results (WASI 0.2 functions have at most one).
    pub results: Vec<ValType>,
}

/// A component value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    /// `bool`.
    Bool,
    /// `s8`.
    S8,
    /// `u8`.
    U8,
    /// `s16`.
    S16,
    /// `u16`.
    U16,
    /// `s32`.
    S32,
    /// `u32`.
    U32,
    /// `s64`.
    S64,
    /// `u64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char`.
    Char,
    /// `string`.
    String,
    /// A compound type: index into [`TypeTable::defined`].
    Defined(u32),
}

/// A compound component value type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DefinedType {
    /// `record { name: type, ... }`.
    Record(Vec<(String, ValType)>),
    /// `variant { case(type), case, ... }`.
    Variant(Vec<(String, Option<ValType>)>),
    /// `list<type>`.
    List(ValType),
    /// `tuple<types>`.
    Tuple(Vec<ValType>),
    /// `flags { names }`.
    Flags(Vec<String>),
    /// `enum { names }`.
    Enum(Vec<String>),
    /// `option<type>`.
    Option(ValType),
    /// `result<ok, err>`, either side possibly absent.
    Result {
        /// The ok payload.
        ok: Option<ValType>,
        /// The error payload.
        err: Option<ValType>,
    },
    /// `own<resource>`: index into [`ComponentPlan::resource_tables`].
    Own(u32),
    /// `borrow<resource>`: index into [`ComponentPlan::resource_tables`].
    Borrow(u32),
}

/// Size and alignment of a value in linear memory (the canonical ABI's `elem_size` and
/// `alignment`, 32-bit memories).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Bytes.
    pub size: u32,
    /// Bytes, a power of two.
    pub align: u32,
}

impl TypeTable {
    /// The flattened core types of `ty` (the canonical ABI's `flatten_type`).
    pub fn flatten(&self, ty: ValType, out: &mut Vec<CoreType>) {
        match ty {
            ValType::Bool
            | ValType::S8
            | ValType::U8
            | ValType::S16
            | ValType::U16
            | ValType::S32
            | ValType::U32
            | ValType::Char => out.push(CoreType::I32),
            ValType::S64 | ValType::U64 => out.push(CoreType::I64),
            ValType::F32 => out.push(CoreType::F32),
            ValType::F64 => out.push(CoreType::F64),
            ValType::String => out.extend([CoreType::I32, CoreType::I32]),
            ValType::Defined(index) => match &self.defined[index as usize] {
                DefinedType::Record(fields) => {
                    for (_, field) in fields {
                        self.flatten(*field, out);
                    }
                }
                DefinedType::Tuple(types) => {
                    for field in types {
                        self.flatten(*field, out);
                    }
                }
                DefinedType::List(_) => out.extend([CoreType::I32, CoreType::I32]),
                DefinedType::Flags(names) => {
                    // One i32 per 32 flags; none for no flags.
                    out.extend(std::iter::repeat_n(CoreType::I32, names.len().div_ceil(32)))
                }
                DefinedType::Enum(_) | DefinedType::Own(_) | DefinedType::Borrow(_) => {
                    out.push(CoreType::I32)
                }
                DefinedType::Variant(cases) => {
                    self.flatten_variant(cases.iter().map(|(_, ty)| *ty), out)
                }
                DefinedType::Option(ty) => self.flatten_variant([None, Some(*ty)], out),
                DefinedType::Result { ok, err } => self.flatten_variant([*ok, *err], out),
            },
        }
    }

    /// A variant flattens to its discriminant and, per position, the join of its cases'
    /// flattened types (`i32` and `f32` join as `i32`, anything else different as `i64`).
    fn flatten_variant(
        &self,
        cases: impl IntoIterator<Item = Option<ValType>>,
        out: &mut Vec<CoreType>,
    ) {
        let mut joined: Vec<CoreType> = Vec::new();
        let mut case_types = Vec::new();
        for ty in cases.into_iter().flatten() {
            case_types.clear();
            self.flatten(ty, &mut case_types);
            for (position, &ty) in case_types.iter().enumerate() {
                match joined.get_mut(position) {
                    None => joined.push(ty),
                    Some(slot) => *slot = join(*slot, ty),
                }
            }
        }
        out.push(CoreType::I32);
        out.extend(joined);
    }

    /// Size and alignment of `ty` in a 32-bit linear memory.
    pub fn layout(&self, ty: ValType) -> Layout {
        let scalar = |size| Layout { size, align: size };
        match ty {
            ValType::Bool | ValType::S8 | ValType::U8 => scalar(1),
            ValType::S16 | ValType::U16 => scalar(2),
            ValType::S32 | ValType::U32 | ValType::Char | ValType::F32 => scalar(4),
            ValType::S64 | ValType::U64 | ValType::F64 => scalar(8),
            ValType::String => Layout { size: 8, align: 4 },
            ValType::Defined(index) => match &self.defined[index as usize] {
                DefinedType::Record(fields) => self.tuple_layout(fields.iter().map(|f| f.1)),
                DefinedType::Tuple(types) => self.tuple_layout(types.iter().copied()),
                DefinedType::List(_) => Layout { size: 8, align: 4 },
                DefinedType::Flags(names) => match names.len() {
                    0 => Layout { size: 0, align: 1 },
                    1..=8 => scalar(1),
                    9..=16 => scalar(2),
                    n => Layout {
                        size: 4 * n.div_ceil(32) as u32,
                        align: 4,
                    },
                },
                DefinedType::Enum(names) => scalar(discriminant_size(names.len())),
                DefinedType::Own(_) | DefinedType::Borrow(_) => scalar(4),
                DefinedType::Variant(cases) => {
                    self.variant_layout(cases.iter().map(|(_, ty)| *ty), cases.len())
                }
                DefinedType::Option(ty) => self.variant_layout([None, Some(*ty)], 2),
                DefinedType::Result { ok, err } => self.variant_layout([*ok, *err], 2),
            },
        }
    }

    /// The offsets of a record's or tuple's fields from its start: each field aligned to
    /// its own alignment after the one before (the canonical ABI's `load_record`).
    pub fn field_offsets(&self, fields: impl IntoIterator<Item = ValType>) -> Vec<u32> {
        let mut offset = 0u32;
        fields
            .into_iter()
            .map(|field| {
                let layout = self.layout(field);
                let at = offset.next_multiple_of(layout.align);
                offset = at + layout.size;
                at
            })
            .collect()
    }

    /// The offset of a variant's payload from its start: the discriminant
    /// ([`discriminant_size`] bytes for `n_cases` cases) rounded up to the largest
    /// alignment of the cases' payloads.
    pub fn payload_offset(
        &self,
        cases: impl IntoIterator<Item = Option<ValType>>,
        n_cases: usize,
    ) -> u32 {
        let alignment = cases
            .into_iter()
            .flatten()
            .map(|ty| self.layout(ty).align)
            .max()
            .unwrap_or(1);
        discriminant_size(n_cases).next_multiple_of(alignment)
    }

    /// Size and alignment of a tuple (or record) of `fields`: how a function's parameters
    /// or results lie in memory when they do not fit the flat limits.
    pub fn tuple_layout(&self, fields: impl IntoIterator<Item = ValType>) -> Layout {
        let (mut size, mut align) = (0u32, 1u32);
        for field in fields {
            let layout = self.layout(field);
            size = size.next_multiple_of(layout.align) + layout.size;
            align = align.max(layout.align);
        }
        Layout {
            size: size.next_multiple_of(align),
            align,
        }
    }

    fn variant_layout(&self, cases: impl IntoIterator<Item = Option<ValType>>, n: usize) -> Layout {
        let discriminant = discriminant_size(n);
        let (mut payload_size, mut align) = (0u32, discriminant);
        for ty in cases.into_iter().flatten() {
            let layout = self.layout(ty);
            payload_size = payload_size.max(layout.size);
            align = align.max(layout.align);
        }
        Layout {
            size: (discriminant.next_multiple_of(align) + payload_size).next_multiple_of(align),
            align,
        }
    }

    /// The core signature of `canon lower` of function type `func`: parameters flattened
    /// (through memory, as one `i32` pointer, past [`MAX_FLAT_PARAMS`]); results flattened
    /// when they fit in [`MAX_FLAT_RESULTS`], otherwise written through a return pointer
    /// passed as a last `i32` parameter.
    pub fn lowered_signature(&self, func: u32) -> CoreFuncType {
        let (params, results) = self.flat_params_results(func);
        let mut signature = CoreFuncType {
            params: if params.len() > MAX_FLAT_PARAMS {
                vec![CoreType::I32]
            } else {
                params
            },
            results: Vec::new(),
        };
        if results.len() > MAX_FLAT_RESULTS {
            signature.params.push(CoreType::I32);
        } else {
            signature.results = results;
        }
        signature
    }

    /// The core signature of `canon lift` of function type `func`: parameters as for
    /// [`lowered_signature`](Self::lowered_signature); results flattened when they fit,
    /// otherwise one returned `i32` pointer to them.
    pub fn lifted_signature(&self, func: u32) -> CoreFuncType {
        let (params, results) = self.flat_params_results(func);
        CoreFuncType {
            params: if params.len() > MAX_FLAT_PARAMS {
                vec![CoreType::I32]
            } else {
                params
            },
            results: if results.len() > MAX_FLAT_RESULTS {
                vec![CoreType::I32]
            } else {
                results
            },
        }
    }

    fn flat_params_results(&self, func: u32) -> (Vec<CoreType>, Vec<CoreType>) {
        let func = &self.funcs[func as usize];
        let (mut params, mut results) = (Vec::new(), Vec::new());
        for (_, ty) in &func.params {
            self.flatten(*ty, &mut params);
        }
        for ty in &func.results {
            self.flatten(*ty, &mut results);
        }
        (params, results)
    }
}

/// The canonical ABI's join of two flattened types in the same position of a variant.
fn join(a: CoreType, b: CoreType) -> CoreType {
    match (a, b) {
        _ if a == b => a,
        (CoreType::I32, CoreType::F32) | (CoreType::F32, CoreType::I32) => CoreType::I32,
        _ => CoreType::I64,
    }
}

/// Bytes of the discriminant of a variant (or enum) with `n` cases: 1 up to 256 cases, 2
/// up to 65536, 4 past that.
pub fn discriminant_size(n: usize) -> u32 {
    match n {
        0..=0x100 => 1,
        0x101..=0x1_0000 => 2,
        _ => 4,
    }
}

/// A plan's bytes that do not decode.
#[derive(Debug)]
pub enum PlanDecodeError {
    /// The bytes were written by another version of kiln.
    Version {
        /// The version in the bytes.
        found: u32,
    },
    /// The bytes are corrupt.
    Corrupt(postcard::Error),
}

impl core::fmt::Display for PlanDecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PlanDecodeError::Version { found } => write!(
                f,
                "component plan of version {found}, this kiln reads version {COMPONENT_PLAN_VERSION}"
            ),
            PlanDecodeError::Corrupt(error) => write!(f, "corrupt component plan: {error}"),
        }
    }
}

impl std::error::Error for PlanDecodeError {}

impl ComponentPlan {
    /// Encodes the plan: [`COMPONENT_PLAN_VERSION`] (4 bytes, little-endian), then postcard.
    pub fn encode(&self) -> Vec<u8> {
        let bytes = COMPONENT_PLAN_VERSION.to_le_bytes().to_vec();
        postcard::to_extend(self, bytes).expect("serializing into a Vec cannot fail")
    }

    /// Decodes a plan written by [`ComponentPlan::encode`].
    pub fn decode(bytes: &[u8]) -> Result<ComponentPlan, PlanDecodeError> {
        let (version, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or(PlanDecodeError::Corrupt(
                postcard::Error::DeserializeUnexpectedEnd,
            ))?;
        let found = u32::from_le_bytes(*version);
        if found != COMPONENT_PLAN_VERSION {
            return Err(PlanDecodeError::Version { found });
        }
        postcard::from_bytes(rest).map_err(PlanDecodeError::Corrupt)
    }

    /// The host import named `name` (`wasi:cli/stdout@0.2.3#get-stdout`).
    pub fn import(&self, name: &str) -> Option<&HostImport> {
        self.imports.iter().find(|i| i.name.to_string() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CoreType::{F32, F64, I32, I64};

    fn table(defined: Vec<DefinedType>, funcs: Vec<FuncType>) -> TypeTable {
        TypeTable { funcs, defined }
    }

    fn flat(types: &TypeTable, ty: ValType) -> Vec<CoreType> {
        let mut out = Vec::new();
        types.flatten(ty, &mut out);
        out
    }

    #[test]
    fn variants_join_their_cases() {
        let types = table(
            vec![
                DefinedType::Variant(vec![
                    ("a".into(), Some(ValType::F32)),
                    ("b".into(), Some(ValType::U32)),
                    ("c".into(), None),
                ]),
                DefinedType::Variant(vec![
                    ("a".into(), Some(ValType::F64)),
                    ("b".into(), Some(ValType::String)),
                ]),
                DefinedType::Option(ValType::Defined(0)),
                DefinedType::Result {
                    ok: None,
                    err: Some(ValType::U8),
                },
                DefinedType::Flags((0..33).map(|i| i.to_string()).collect()),
            ],
            vec![],
        );
        assert_eq!(flat(&types, ValType::Defined(0)), [I32, I32]);
        assert_eq!(flat(&types, ValType::Defined(1)), [I32, I64, I32]);
        assert_eq!(flat(&types, ValType::Defined(2)), [I32, I32, I32]);
        assert_eq!(flat(&types, ValType::Defined(3)), [I32, I32]);
        assert_eq!(flat(&types, ValType::Defined(4)), [I32, I32]);
        assert_eq!(flat(&types, ValType::F64), [F64]);
        assert_eq!(flat(&types, ValType::F32), [F32]);
    }

    #[test]
    fn layouts_follow_the_canonical_abi() {
        let types = table(
            vec![
                DefinedType::Record(vec![
                    ("a".into(), ValType::U8),
                    ("b".into(), ValType::U64),
                    ("c".into(), ValType::U16),
                ]),
                DefinedType::Result {
                    ok: Some(ValType::String),
                    err: Some(ValType::U8),
                },
                DefinedType::Flags((0..9).map(|i| i.to_string()).collect()),
            ],
            vec![],
        );
        assert_eq!(
            types.layout(ValType::Defined(0)),
            Layout { size: 24, align: 8 }
        );
        assert_eq!(
            types.layout(ValType::Defined(1)),
            Layout { size: 12, align: 4 }
        );
        assert_eq!(
            types.layout(ValType::Defined(2)),
            Layout { size: 2, align: 2 }
        );
    }

    #[test]
    fn field_and_payload_offsets_follow_the_canonical_abi() {
        let types = table(vec![], vec![]);
        assert_eq!(
            types.field_offsets([ValType::U8, ValType::U32, ValType::U16]),
            [0, 4, 8]
        );
        assert_eq!(
            types.field_offsets([ValType::U16, ValType::U8, ValType::F64, ValType::U8]),
            [0, 2, 8, 16]
        );
        assert_eq!(types.payload_offset([None, Some(ValType::U8)], 2), 1);
        assert_eq!(types.payload_offset([Some(ValType::U64), None], 2), 8);
        assert_eq!(types.payload_offset([Some(ValType::U16)], 257), 2);
        assert_eq!(types.payload_offset([Some(ValType::U8)], 0x1_0001), 4);
        assert_eq!(types.payload_offset([None, None], 2), 1);
        assert_eq!(
            [0, 256, 257, 0x1_0000, 0x1_0001].map(discriminant_size),
            [1, 1, 2, 2, 4]
        );
    }

    #[test]
    fn signatures_spill_past_the_flat_limits() {
        let many = (0..17).map(|i| (i.to_string(), ValType::U32)).collect();
        let types = table(
            vec![DefinedType::Result {
                ok: Some(ValType::U64),
                err: None,
            }],
            vec![
                FuncType {
                    params: many,
                    results: vec![],
                },
                FuncType {
                    params: vec![("x".into(), ValType::String)],
                    results: vec![ValType::Defined(0)],
                },
                FuncType {
                    params: vec![],
                    results: vec![ValType::U32],
                },
            ],
        );
        assert_eq!(types.lowered_signature(0).params, [I32]);
        let lowered = types.lowered_signature(1);
        assert_eq!(
            (lowered.params, lowered.results),
            (vec![I32, I32, I32], vec![])
        );
        let lifted = types.lifted_signature(1);
        assert_eq!((lifted.params, lifted.results), (vec![I32, I32], vec![I32]));
        let lowered = types.lowered_signature(2);
        assert_eq!((lowered.params, lowered.results), (vec![], vec![I32]));
    }

    #[test]
    fn plans_round_trip_and_check_their_version() {
        let plan = ComponentPlan {
            imports: vec![HostImport {
                name: ImportName::new("wasi:cli/stdout@0.2.3", "get-stdout"),
                func_type: 0,
            }],
            ..ComponentPlan::default()
        };
        let bytes = plan.encode();
        assert_eq!(ComponentPlan::decode(&bytes).unwrap(), plan);
        assert_eq!(
            plan.imports[0].name.to_string(),
            "wasi:cli/stdout@0.2.3#get-stdout"
        );
        let mut other = bytes.clone();
        other[0] ^= 0xff;
        assert!(matches!(
            ComponentPlan::decode(&other),
            Err(PlanDecodeError::Version { .. })
        ));
        assert!(matches!(
            ComponentPlan::decode(&bytes[..bytes.len() - 1]),
            Err(PlanDecodeError::Corrupt(_))
        ));
    }
}
