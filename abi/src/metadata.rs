//! Module metadata: everything the runtime needs to instantiate a compiled module that is
//! not code (types, imports, exports, memories, tables, globals, segments, names).
//!
//! The compiler encodes a [`ModuleMetadata`] with [`ModuleMetadata::encode`] into a data
//! object of the kiln object file (postcard's format, through serde); the runtime decodes
//! it in place with [`ModuleMetadata::decode`], a decoder of that format written by hand
//! for size (`metadata/decode.rs`). Byte strings (data segments, names) borrow from the
//! encoded bytes, so data segments are never copied before they are applied; the larger
//! ones may be stored compressed (`packed.rs`), and are then unpacked where they are used:
//! an active data segment straight into linear memory, the function names when a function
//! is first named.

use crate::packed::Packed;
use serde::{Deserialize, Serialize};

mod decode;

pub use decode::DecodeError;

/// A value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference (one pointer-sized word at run time, 0 for null).
    Ref(RefType),
}

impl ValType {
    /// `funcref`, i.e. `(ref null func)`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`, i.e. `(ref null extern)`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `exnref`, i.e. `(ref null exn)`.
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);

    /// The reference type, if this is one.
    pub fn as_ref(self) -> Option<RefType> {
        match self {
            ValType::Ref(ty) => Some(ty),
            _ => None,
        }
    }

    /// Whether a value of this type is also one of type `other` (Wasm 3.0's subtyping
    /// without GC). Both types must use the same index space for concrete references.
    pub fn is_subtype_of(self, other: ValType) -> bool {
        match (self, other) {
            (ValType::Ref(a), ValType::Ref(b)) => a.is_subtype_of(b),
            (a, b) => a == b,
        }
    }

    /// Whether a local of this type needs no initial value (every type but non-nullable
    /// references).
    pub fn is_defaultable(self) -> bool {
        self.as_ref().is_none_or(|ty| ty.nullable)
    }
}

impl core::fmt::Display for ValType {
    /// The text format's name: `i32`, `funcref`, `(ref null 3)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(ty) => ty.fmt(f),
        }
    }
}

/// A reference type: a heap type and whether null is a value of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefType {
    /// Whether null belongs to the type.
    pub nullable: bool,
    /// What the reference points to.
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: RefType = RefType::nullable(HeapType::Func);
    /// `externref`.
    pub const EXTERNREF: RefType = RefType::nullable(HeapType::Extern);
    /// `exnref`.
    pub const EXNREF: RefType = RefType::nullable(HeapType::Exn);

    /// `(ref null heap)`.
    pub const fn nullable(heap: HeapType) -> RefType {
        RefType {
            nullable: true,
            heap,
        }
    }

    /// Whether every value of this type is one of `other`: null only into nullable types;
    /// a concrete function type below `func`; each hierarchy's bottom below all of it.
    pub fn is_subtype_of(self, other: RefType) -> bool {
        if self.nullable && !other.nullable {
            return false;
        }
        if self.heap == other.heap {
            return true;
        }
        matches!(
            (self.heap, other.heap),
            (HeapType::Concrete(_), HeapType::Func)
                | (HeapType::NoFunc, HeapType::Func | HeapType::Concrete(_))
                | (HeapType::NoExtern, HeapType::Extern)
                | (HeapType::NoExn, HeapType::Exn)
        )
    }

    /// The top type of this type's hierarchy (`func`, `extern` or `exn`).
    pub fn top(self) -> HeapType {
        match self.heap {
            HeapType::Func | HeapType::NoFunc | HeapType::Concrete(_) => HeapType::Func,
            HeapType::Extern | HeapType::NoExtern => HeapType::Extern,
            HeapType::Exn | HeapType::NoExn => HeapType::Exn,
        }
    }
}

impl core::fmt::Display for RefType {
    /// `funcref`, `externref` and `exnref` by their short names, others as `(ref null 3)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let short = match self.heap {
            HeapType::Func => "funcref",
            HeapType::Extern => "externref",
            HeapType::Exn => "exnref",
            HeapType::NoFunc => "nullfuncref",
            HeapType::NoExtern => "nullexternref",
            HeapType::NoExn => "nullexnref",
            HeapType::Concrete(_) => "",
        };
        if self.nullable && !short.is_empty() {
            return f.write_str(short);
        }
        let null = if self.nullable { "null " } else { "" };
        write!(f, "(ref {null}{})", self.heap)
    }
}

/// What a reference points to. Wasm 3.0 without GC: the function, extern and exception
/// hierarchies, each with its bottom type, and function types by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HeapType {
    /// Any function.
    Func,
    /// No function (the bottom of the function hierarchy: only null).
    NoFunc,
    /// Any host reference.
    Extern,
    /// No host reference.
    NoExtern,
    /// Any exception.
    Exn,
    /// No exception.
    NoExn,
    /// A function of one type. In module metadata the index is the module's type index; in
    /// the runtime's API and its canonical types, the process-wide type id.
    Concrete(u32),
}

impl core::fmt::Display for HeapType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::NoExn => f.write_str("noexn"),
            HeapType::Concrete(index) => write!(f, "{index}"),
        }
    }
}

/// A function type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FuncType {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

impl core::fmt::Display for FuncType {
    /// The form messages use: `func (i32, i64) -> (f32)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let list = |f: &mut core::fmt::Formatter<'_>, types: &[ValType]| {
            for (index, ty) in types.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{ty}")?;
            }
            Ok(())
        };
        f.write_str("func (")?;
        list(f, &self.params)?;
        f.write_str(") -> (")?;
        list(f, &self.results)?;
        f.write_str(")")
    }
}

/// Where a function type stands in declared subtyping (Wasm 3.0's `sub`): a type declared
/// without `sub` is final and has no supertype. A function may stand where a function of
/// one of its type's declared supertypes is expected (`call_indirect`, imports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Subtyping {
    /// Whether no type may declare this one as its supertype.
    pub is_final: bool,
    /// The declared supertype: a type index in module metadata, a type id in the
    /// runtime's canonical types.
    pub supertype: Option<u32>,
}

impl Subtyping {
    /// A type declared without `sub`.
    pub const FINAL: Subtyping = Subtyping {
        is_final: true,
        supertype: None,
    };
}

/// A table type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableType {
    /// Element type (a reference type).
    pub element: ValType,
    /// Initial number of elements.
    pub min: u64,
    /// Maximum number of elements.
    pub max: Option<u64>,
    /// Indexed by i64 (table64).
    pub table64: bool,
}

/// A memory type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryType {
    /// Initial size in pages.
    pub min_pages: u64,
    /// Maximum size in pages.
    pub max_pages: Option<u64>,
    /// Indexed by i64 (memory64).
    pub memory64: bool,
    /// Shared between threads.
    pub shared: bool,
}

/// A global type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalType {
    /// Value type.
    pub ty: ValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

impl core::fmt::Display for GlobalType {
    /// The form messages use: `global mut i32`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mutable = if self.mutable { "mut " } else { "" };
        write!(f, "global {mutable}{}", self.ty)
    }
}

/// One operator of a constant expression, which the runtime evaluates on a small stack.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ConstOp {
    /// Push an i32.
    I32Const(i32),
    /// Push an i64.
    I64Const(i64),
    /// Push an f32 by its bits.
    F32Const(u32),
    /// Push an f64 by its bits.
    F64Const(u64),
    /// Push a v128.
    V128Const(u128),
    /// Push a global's value.
    GlobalGet(u32),
    /// Push a null reference.
    RefNull,
    /// Push a reference to a function.
    RefFunc(u32),
    /// Pop two i32, push their sum.
    I32Add,
    /// Pop two i32, push their difference.
    I32Sub,
    /// Pop two i32, push their product.
    I32Mul,
    /// Pop two i64, push their sum.
    I64Add,
    /// Pop two i64, push their difference.
    I64Sub,
    /// Pop two i64, push their product.
    I64Mul,
}

/// A constant expression.
pub type ConstExpr = Vec<ConstOp>;

/// What an import or export names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
    /// A tag (exception handling).
    Tag,
}

/// The type of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportType {
    /// A function of this type index.
    Func(u32),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag of this function type index (its parameters are the exception's payload).
    Tag(u32),
}

/// An import.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Import<'a> {
    /// Module name.
    pub module: &'a str,
    /// Field name.
    pub name: &'a str,
    /// What is imported.
    pub ty: ImportType,
}

/// An export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Export<'a> {
    /// Export name.
    pub name: &'a str,
    /// What kind of entity.
    pub kind: ExternKind,
    /// Its index in its index space.
    pub index: u32,
}

/// A global the module defines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Global {
    /// Its type.
    pub ty: GlobalType,
    /// Its initial value.
    pub init: ConstExpr,
}

/// When an element segment is applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ElementMode {
    /// Copied into a table at instantiation.
    Active {
        /// The table.
        table: u32,
        /// Where in the table.
        offset: ConstExpr,
    },
    /// Available to `table.init`.
    Passive,
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// The items of an element segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ElementItems {
    /// Function indices.
    Functions(Vec<u32>),
    /// Constant expressions.
    Expressions(Vec<ConstExpr>),
}

/// An element segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElementSegment {
    /// When it is applied.
    pub mode: ElementMode,
    /// Element type.
    pub element: ValType,
    /// The elements.
    pub items: ElementItems,
}

/// When a data segment is applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DataMode {
    /// Copied into a memory at instantiation.
    Active {
        /// The memory.
        memory: u32,
        /// Where in the memory.
        offset: ConstExpr,
    },
    /// Available to `memory.init`.
    Passive,
}

/// A data segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSegment<'a> {
    /// When it is applied.
    pub mode: DataMode,
    /// The bytes, borrowed from the encoded metadata; compressed only in an active segment
    /// (a passive one is copied from by `memory.init` as it is stored).
    #[serde(borrow)]
    pub bytes: Packed<'a>,
}

/// How linear memories must be laid out for the code, chosen at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySettings {
    /// Bytes reserved for each 32-bit memory; with `bounds_checks` off this covers the
    /// whole 32-bit index space.
    pub reservation: u64,
    /// Inaccessible bytes after the reservation, absorbing `address + offset` overshoot.
    pub guard_size: u64,
    /// Whether the code checks every access explicitly (for small address spaces).
    pub bounds_checks: bool,
}

impl MemorySettings {
    /// The default layout of the compiler and of memories the host creates: a reservation
    /// of 4 GiB less one wasm page plus a 2 GiB guard, no explicit checks. A memory then
    /// grows to 65535 pages at most (growing to 65536 fails, as wasm allows), so its
    /// length stays 64 KiB below 2^32 and an index plus a constant of up to 64 KiB, after
    /// an access at that index, cannot wrap (the compiler's `abi::memory_headroom`).
    pub const DEFAULT: MemorySettings = MemorySettings {
        reservation: (1 << 32) - crate::WASM_PAGE_SIZE,
        guard_size: 1 << 31,
        bounds_checks: false,
    };

    /// The most address space one memory may take, reservation plus guard: 2^47 bytes
    /// (128 TiB), the user address space of x86_64 and of 48-bit aarch64.
    pub const MAX_MAPPING: u64 = 1 << 47;

    /// The layout with its reservation and guard rounded up to whole wasm pages (64 KiB, a
    /// multiple of every page size kiln runs on), the one value the compiler records and
    /// the runtime maps; an error when they do not fit in [`Self::MAX_MAPPING`] together.
    /// The compiler decides which accesses need no check from these sizes, so they must
    /// never wrap or saturate.
    pub fn checked(self) -> Result<MemorySettings, String> {
        let round = |bytes: u64| bytes.checked_next_multiple_of(crate::WASM_PAGE_SIZE);
        let too_large = || {
            format!(
                "a reservation of {} bytes plus a guard of {} bytes exceeds the {} bytes a \
                 memory may take",
                self.reservation,
                self.guard_size,
                Self::MAX_MAPPING
            )
        };
        let (Some(reservation), Some(guard_size)) =
            (round(self.reservation), round(self.guard_size))
        else {
            return Err(too_large());
        };
        match reservation.checked_add(guard_size) {
            Some(total) if total <= Self::MAX_MAPPING => Ok(MemorySettings {
                reservation,
                guard_size,
                bounds_checks: self.bounds_checks,
            }),
            _ => Err(too_large()),
        }
    }
}

/// The address of a module's first memory in code compiled for a fixed one
/// ([`ModuleMetadata::fixed_memory_address`]; x86_64 executables): 1.5 GiB. Below 2 GiB, so
/// the address plus a 32-bit index is one addressing mode (a sign-extended 32-bit
/// displacement plus the index's register); above the low addresses where a
/// position-dependent executable (4 MiB), its `brk` heap and valgrind (1.375 GiB) sit. The
/// memory's mapping, reservation and guard (6 GiB by default), ends at 7.5 GiB, far below
/// where Linux puts position-independent executables, libraries and `mmap`s (from 2^46 up).
pub const FIXED_MEMORY_ADDRESS: u64 = 0x6000_0000;

/// Everything about a module the runtime needs besides its code.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModuleMetadata<'a> {
    /// The module's name, from the name section.
    pub name: Option<&'a str>,
    /// Function types.
    pub types: Vec<FuncType>,
    /// Imports, in order. Encoded with each module name stored once per run of imports
    /// from the same module ([`serialize_imports`]).
    #[serde(serialize_with = "serialize_imports")]
    pub imports: Vec<Import<'a>>,
    /// Type index of every function, imported first.
    pub functions: Vec<u32>,
    /// Every table, imported first.
    pub tables: Vec<TableType>,
    /// Every memory, imported first.
    pub memories: Vec<MemoryType>,
    /// Type of every global, imported first.
    pub global_types: Vec<GlobalType>,
    /// Globals the module defines.
    pub globals: Vec<Global>,
    /// Function type index of every tag, imported first.
    pub tags: Vec<u32>,
    /// Name of every tag (empty where the module gives none), for uncaught exceptions.
    pub tag_names: Vec<&'a str>,
    /// Exports.
    pub exports: Vec<Export<'a>>,
    /// The start function.
    pub start: Option<u32>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Data segments.
    pub data: Vec<DataSegment<'a>>,
    /// Name of every function (none where the module gives none), for backtraces and
    /// perf maps, demangled by the compiler, in their compact encoding
    /// (`crate::function_names::FunctionNames`), perhaps compressed.
    pub function_names: Packed<'a>,
    /// Memory layout the code was compiled for.
    pub memory_settings: MemorySettings,
    /// CPU features the code may use, the target's baseline included, as Cranelift's ISA
    /// flag names without `has_` (x86_64: `sse41`, `avx2`, `avx512dq`, ...; aarch64: `lse`,
    /// ...). The runtime refuses to load the code on a CPU that lacks one beyond the
    /// baseline (`X86_64_BASELINE_FEATURES`), which it assumes.
    pub cpu_features: Vec<&'a str>,
    /// Where the descriptor's memory image goes in the module's first memory (which it
    /// defines); `Some` means the image replaces that memory's active data segments, whose
    /// bytes [`ModuleMetadata::data`] then leaves out (they are empty).
    pub memory_image_offset: Option<u64>,
    /// Where the code assumes the module's first memory lies ([`FIXED_MEMORY_ADDRESS`]),
    /// when it was compiled for that: the code then adds the address to an access's index
    /// as a constant instead of keeping the memory's base in a register. The memory is
    /// defined by the module, 32-bit, in the default layout (no explicit bounds checks, so
    /// it never moves); the runtime maps it at this address or refuses to instantiate, so
    /// one instance of such a module can live in a process at a time.
    pub fixed_memory_address: Option<u64>,
    /// The initial element of each defined table, in order: `None` for null, else the
    /// table's initialiser expression (Wasm 3.0 `(table n (ref $t) (ref.func $f))`),
    /// evaluated once at instantiation.
    pub table_inits: Vec<Option<ConstExpr>>,
    /// Each type's place in declared subtyping, by type index (as long as `types`).
    pub subtyping: Vec<Subtyping>,
    /// Whether the code meters fuel (`VMLimits::fuel`).
    pub fuel: bool,
    /// Whether the code checks for interruption (`VMLimits::epoch`).
    pub interruptible: bool,
    /// By function index, imports first: for a defined function, whether it may throw an
    /// exception; for an imported one, whether the code lets it throw. Where `false`, a
    /// call a handler covers was compiled as a plain call, so the runtime refuses to bind
    /// such an import to a wasm function that may throw. Missing entries mean `true`.
    pub may_throw: Vec<bool>,
    /// Set when the code counts function entries (`--profile-generate`; the counters are
    /// `ModuleDescriptor::profile`): what the runtime writes the profile with, a
    /// [`ProfileSettings`] encoded on its own ([`ProfileSettings::encode`]). Decoding the
    /// metadata only borrows these bytes, so a runtime that never writes profiles (an
    /// executable whose code does not count) links no decoder for the settings: decoding
    /// them in place cost every static executable about 2.9 KB of code.
    pub profile: Option<&'a [u8]>,
}

/// The imports as the metadata stores them: each as its module name, its field name and
/// its type, the module name `None` where it is the previous import's. A WASI program
/// imports everything from `wasi_snapshot_preview1`: the Rust `files` program's 27
/// imports repeated it in about 600 bytes.
fn serialize_imports<S: serde::Serializer>(
    imports: &[Import<'_>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut previous = None;
    serializer.collect_seq(imports.iter().map(|import| {
        let module = (previous != Some(import.module)).then_some(import.module);
        previous = Some(import.module);
        (module, import.name, import.ty)
    }))
}

/// How a module compiled to count function entries writes its profile (see
/// `crate::profile`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSettings<'a> {
    /// SHA-256 of the module's wasm bytes, copied into the profile.
    pub module_sha256: [u8; 32],
    /// The file an executable writes the profile to when it exits (an absolute path baked
    /// in by `kiln build`); `None` for objects whose embedder writes it.
    pub file: Option<&'a str>,
}

impl<'a> ProfileSettings<'a> {
    /// Encodes the settings for [`ModuleMetadata::profile`].
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("serializing into a Vec cannot fail")
    }

    /// Decodes settings written by [`ProfileSettings::encode`], borrowing from `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<ProfileSettings<'a>, DecodeError> {
        postcard::from_bytes(bytes).map_err(|_| DecodeError("bad profile settings"))
    }
}

impl ModuleMetadata<'static> {
    /// Metadata of nothing: what the decoder (`decode.rs`) fills in, field by field, and
    /// the compiler's module pass starts from.
    pub const EMPTY: ModuleMetadata<'static> = ModuleMetadata {
        name: None,
        types: Vec::new(),
        imports: Vec::new(),
        functions: Vec::new(),
        tables: Vec::new(),
        memories: Vec::new(),
        global_types: Vec::new(),
        globals: Vec::new(),
        tags: Vec::new(),
        tag_names: Vec::new(),
        exports: Vec::new(),
        start: None,
        elements: Vec::new(),
        data: Vec::new(),
        function_names: Packed {
            unpacked_len: 0,
            bytes: &[],
        },
        memory_settings: MemorySettings {
            reservation: 0,
            guard_size: 0,
            bounds_checks: false,
        },
        cpu_features: Vec::new(),
        memory_image_offset: None,
        fixed_memory_address: None,
        table_inits: Vec::new(),
        subtyping: Vec::new(),
        fuel: false,
        interruptible: false,
        may_throw: Vec::new(),
        profile: None,
    };
}

impl<'a> ModuleMetadata<'a> {
    /// Encodes the metadata for the object file.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("serializing into a Vec cannot fail")
    }

    /// Decodes metadata written by [`ModuleMetadata::encode`], borrowing from `bytes` (by
    /// the hand-written decoder of `decode.rs`, not serde's).
    pub fn decode(bytes: &'a [u8]) -> Result<ModuleMetadata<'a>, DecodeError> {
        decode::Reader::metadata(bytes)
    }

    /// [`ModuleMetadata::decode`] into a heap allocation, written in place.
    pub fn decode_boxed(bytes: &'a [u8]) -> Result<Box<ModuleMetadata<'a>>, DecodeError> {
        decode::Reader::metadata_boxed(bytes)
    }

    /// Number of imports of each kind.
    pub fn imported_count(&self, kind: ExternKind) -> u32 {
        let count = self.imports.iter().filter(|import| {
            matches!(
                (kind, import.ty),
                (ExternKind::Func, ImportType::Func(_))
                    | (ExternKind::Table, ImportType::Table(_))
                    | (ExternKind::Memory, ImportType::Memory(_))
                    | (ExternKind::Global, ImportType::Global(_))
                    | (ExternKind::Tag, ImportType::Tag(_))
            )
        });
        count.count() as u32
    }

    /// The counts the context layout is made from.
    pub fn vm_counts(&self) -> crate::vmctx::VMCounts {
        let imported_memories = self.imported_count(ExternKind::Memory);
        let imported_tables = self.imported_count(ExternKind::Table);
        let imported_globals = self.imported_count(ExternKind::Global);
        crate::vmctx::VMCounts {
            types: self.types.len() as u32,
            functions: self.functions.len() as u32,
            imported_memories,
            imported_tables,
            imported_globals,
            tags: self.tags.len() as u32,
            defined_memories: self.memories.len() as u32 - imported_memories,
            defined_tables: self.tables.len() as u32 - imported_tables,
            defined_globals: self.globals.len() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_and_borrows() {
        let bytes = [1u8, 2, 3];
        let settings = ProfileSettings {
            module_sha256: [3; 32],
            file: Some("/tmp/app.kilnprof"),
        };
        let profile = settings.encode();
        let names = crate::function_names::FunctionNames::encode(&["f", "g"]);
        let metadata = ModuleMetadata {
            name: Some("m"),
            types: vec![FuncType {
                params: vec![ValType::I32],
                results: vec![],
            }],
            imports: vec![Import {
                module: "env",
                name: "f",
                ty: ImportType::Func(0),
            }],
            functions: vec![0, 0],
            tables: vec![],
            memories: vec![MemoryType {
                min_pages: 1,
                max_pages: None,
                memory64: false,
                shared: false,
            }],
            global_types: vec![],
            globals: vec![],
            tags: vec![0],
            tag_names: vec!["e"],
            exports: vec![Export {
                name: "g",
                kind: ExternKind::Func,
                index: 1,
            }],
            start: None,
            elements: vec![],
            data: vec![DataSegment {
                mode: DataMode::Active {
                    memory: 0,
                    offset: vec![ConstOp::I32Const(8)],
                },
                bytes: Packed::plain(&bytes),
            }],
            function_names: Packed::plain(&names),
            memory_settings: MemorySettings {
                reservation: 1 << 32,
                guard_size: 1 << 31,
                bounds_checks: false,
            },
            cpu_features: vec!["sse41", "avx2"],
            memory_image_offset: Some(65536),
            fixed_memory_address: Some(FIXED_MEMORY_ADDRESS),
            fuel: true,
            interruptible: false,
            may_throw: vec![false, true],
            table_inits: vec![None, Some(vec![ConstOp::RefFunc(1)])],
            subtyping: vec![Subtyping {
                is_final: false,
                supertype: Some(0),
            }],
            profile: Some(&profile),
        };
        let encoded = metadata.encode();
        let decoded = ModuleMetadata::decode(&encoded).unwrap();
        assert_eq!(decoded, metadata);
        assert_eq!(
            ProfileSettings::decode(decoded.profile.unwrap()).unwrap(),
            settings
        );
        let segment = decoded.data[0].bytes.bytes.as_ptr() as usize;
        let range = encoded.as_ptr() as usize..encoded.as_ptr() as usize + encoded.len();
        assert!(
            range.contains(&segment),
            "data segment bytes must borrow from the encoding"
        );
        assert_eq!(decoded.vm_counts().defined_memories, 1);
    }

    #[test]
    fn function_types_print_as_in_messages() {
        let ty = FuncType {
            params: vec![ValType::I32, ValType::I64],
            results: vec![ValType::F32],
        };
        assert_eq!(ty.to_string(), "func (i32, i64) -> (f32)");
        let empty = FuncType {
            params: vec![],
            results: vec![],
        };
        assert_eq!(empty.to_string(), "func () -> ()");
    }

    #[test]
    fn layouts_round_to_wasm_pages_and_must_fit() {
        let settings = |reservation, guard_size| MemorySettings {
            reservation,
            guard_size,
            bounds_checks: false,
        };
        assert_eq!(
            MemorySettings::DEFAULT.checked(),
            Ok(MemorySettings::DEFAULT)
        );
        assert_eq!(settings(1, 65537).checked(), Ok(settings(65536, 131072)));
        assert_eq!(settings(0, 0).checked(), Ok(settings(0, 0)));
        let max = MemorySettings::MAX_MAPPING;
        assert!(settings(max - 65536, 65536).checked().is_ok());
        for (reservation, guard) in [
            (1 << 32, u64::MAX - 4095),
            (1 << 32, u64::MAX),
            (u64::MAX, 0),
            (1 << 32, 1 << 63),
            (max, 1),
        ] {
            let error = settings(reservation, guard).checked().unwrap_err();
            assert!(error.contains("exceeds"), "{error}");
        }
    }
}
