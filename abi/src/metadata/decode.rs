//! The runtime's decoder of [`ModuleMetadata`], written by hand for postcard's wire format
//! (what the compiler's serde `Serialize` derives write through `postcard::to_allocvec`).
//!
//! Every static executable decodes its module's metadata at start-up, so its decoder is
//! on every executable's path. Through serde's derived `Deserialize` and postcard, the
//! decoding of the metadata's twenty-odd types was about 12 KB of a static hello's code:
//! a visitor per type and field, each variable-length integer read inlined where it is
//! read. Here each primitive is one small function over a [`Reader`], and a type's
//! decoder is the list of its fields' reads: 4 KB less. (Keeping each `vec` out of line
//! was measured larger: LLVM then inlines the whole decoder into its caller.) The
//! metadata's fields are read into a boxed [`ModuleMetadata::EMPTY`] value, one at a
//! time, as the runtime keeps it ([`Reader::metadata_boxed`]): an error drops that one
//! value, and no field is copied after its read (a value decoded on the stack and then
//! boxed cost 720 bytes more of a static x86_64 executable, its fields copied one by one
//! from their spill slots). A
//! failed read returns a unit [`Fail`] and leaves its message in the reader, so results fit
//! in registers, and every sequence shares one loop, [`Reader::each`], over a closure that
//! reads and pushes an element: 2.9 KB less again (x86_64 static hello).
//!
//! The format (postcard's, unchanged; `metadata.rs`'s round-trip test holds the two sides
//! together):
//!
//! ```text
//!   u8                      one byte
//!   u16, u32, u64, usize    unsigned LEB128, at most as many bytes as the type needs
//!   i32, i64                zigzag, then as the unsigned type of the same width
//!   u128                    unsigned LEB128 (at most 19 bytes)
//!   bool                    one byte, 0 or 1
//!   Option<T>               one byte, 0 (None) or 1 (Some) followed by T
//!   &str, &[u8]             length (usize), then the bytes (UTF-8 for a str)
//!   Vec<T>                  length (usize), then each element
//!   struct                  its fields in declaration order
//!   enum                    the variant's index (u32), then its fields
//! ```
//!
//! Hostile bytes give a [`DecodeError`], never a panic: every read checks what is left, and
//! no length read from the input sizes an allocation beyond the bytes that remain.

use super::*;

/// Metadata bytes that do not decode: what was being read when they ended or made no
/// sense.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "corrupt kiln module metadata: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// A read that failed; why is in [`Reader::error`]. A unit, not the message: a result
/// of a unit error fits in registers where one holding a `&'static str` went through
/// memory at every read, which was about 2 KB of the decoder.
#[derive(Debug)]
pub(super) struct Fail;

type Result<T> = core::result::Result<T, Fail>;

/// The bytes left to decode.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    /// Why the last read failed.
    error: &'static str,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, error: "" }
    }

    /// The metadata in the bytes, or why they are not.
    pub(super) fn metadata(
        bytes: &'a [u8],
    ) -> core::result::Result<ModuleMetadata<'a>, DecodeError> {
        let mut metadata = ModuleMetadata::EMPTY;
        let mut reader = Reader::new(bytes);
        match reader.module_metadata(&mut metadata) {
            Ok(()) => Ok(metadata),
            Err(Fail) => Err(DecodeError(reader.error)),
        }
    }

    /// [`Reader::metadata`] on the heap, each field written into the allocation as it is
    /// read (see the module documentation).
    pub(super) fn metadata_boxed(
        bytes: &'a [u8],
    ) -> core::result::Result<Box<ModuleMetadata<'a>>, DecodeError> {
        let mut metadata = Box::new(ModuleMetadata::EMPTY);
        let mut reader = Reader::new(bytes);
        match reader.module_metadata(&mut metadata) {
            Ok(()) => Ok(metadata),
            Err(Fail) => Err(DecodeError(reader.error)),
        }
    }

    /// The failure `why`. (Not generic over a result: each instance of that was 20 bytes.)
    #[cold]
    #[inline(never)]
    fn fail(&mut self, why: &'static str) -> Fail {
        self.error = why;
        Fail
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        if len > self.bytes.len() {
            return Err(self.fail("unexpected end"));
        }
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned LEB128 number of at most `bits` bits, at most 64 (postcard's varint:
    /// no more bytes than the width needs, and no bits set beyond it).
    fn varint(&mut self, bits: u32) -> Result<u64> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.u8()?;
            // `shift < bits` here; a byte that reaches past `bits` must not set those bits.
            let payload = byte & 0x7f;
            if bits - shift < 7 && payload >> (bits - shift) != 0 {
                return Err(self.fail("bad variable-length integer"));
            }
            value |= u64::from(payload) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            if shift >= bits {
                return Err(self.fail("bad variable-length integer"));
            }
        }
    }

    /// A `u128` (`V128Const` only), as [`Reader::varint`] reads the others: apart, so that
    /// their results fit in registers.
    fn u128(&mut self) -> Result<u128> {
        let mut value = 0u128;
        let mut shift = 0;
        loop {
            let byte = self.u8()?;
            let payload = byte & 0x7f;
            if 128 - shift < 7 && payload >> (128 - shift) != 0 {
                return Err(self.fail("bad variable-length integer"));
            }
            value |= u128::from(payload) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            if shift >= 128 {
                return Err(self.fail("bad variable-length integer"));
            }
        }
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(self.varint(32)? as u32)
    }

    fn u64(&mut self) -> Result<u64> {
        self.varint(64)
    }

    fn usize(&mut self) -> Result<usize> {
        match usize::try_from(self.u64()?) {
            Ok(len) => Ok(len),
            Err(_) => Err(self.fail("length too large")),
        }
    }

    fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.fail("bad bool")),
        }
    }

    /// Whether an `Option`'s value follows.
    fn is_some(&mut self) -> Result<bool> {
        match self.take(1) {
            Ok([0]) => Ok(false),
            Ok([1]) => Ok(true),
            _ => Err(self.fail("bad option")),
        }
    }

    fn option<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        if self.is_some()? {
            read(self).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(super) fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.usize()?;
        self.take(len)
    }

    /// A [`Packed`] string. Its unpacked length is checked where it is unpacked
    /// (`Packed::unpack_into`), which only executables whose module compresses link.
    fn packed(&mut self) -> Result<Packed<'a>> {
        Ok(Packed {
            unpacked_len: self.u32()?,
            bytes: self.bytes()?,
        })
    }

    fn str(&mut self) -> Result<&'a str> {
        let bytes = self.bytes()?;
        match core::str::from_utf8(bytes) {
            Ok(str) => Ok(str),
            Err(_) => Err(self.fail("bad UTF-8")),
        }
    }

    /// A sequence of `read`s behind its length. Every element takes at least one byte, so
    /// the bytes left bound the capacity a hostile length can ask for.
    fn vec<T>(&mut self, mut read: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let len = self.usize()?;
        let mut items = Vec::with_capacity(len.min(self.bytes.len()));
        self.each(len, &mut |reader| {
            items.push(read(reader)?);
            Ok(())
        })?;
        Ok(items)
    }

    /// `len` calls of `read`: the loop of every [`Reader::vec`], once.
    #[inline(never)]
    fn each(&mut self, len: usize, read: &mut dyn FnMut(&mut Self) -> Result<()>) -> Result<()> {
        for _ in 0..len {
            read(self)?;
        }
        Ok(())
    }

    fn variant(&mut self) -> Result<u32> {
        self.u32()
    }

    fn val_type(&mut self) -> Result<ValType> {
        Ok(match self.variant()? {
            0 => ValType::I32,
            1 => ValType::I64,
            2 => ValType::F32,
            3 => ValType::F64,
            4 => ValType::V128,
            5 => ValType::Ref(RefType {
                nullable: self.bool()?,
                heap: self.heap_type()?,
            }),
            _ => return Err(self.fail("bad value type")),
        })
    }

    fn heap_type(&mut self) -> Result<HeapType> {
        Ok(match self.variant()? {
            0 => HeapType::Func,
            1 => HeapType::NoFunc,
            2 => HeapType::Extern,
            3 => HeapType::NoExtern,
            4 => HeapType::Exn,
            5 => HeapType::NoExn,
            6 => HeapType::Concrete(self.u32()?),
            _ => return Err(self.fail("bad heap type")),
        })
    }

    fn func_type(&mut self) -> Result<FuncType> {
        Ok(FuncType {
            params: self.vec(Self::val_type)?,
            results: self.vec(Self::val_type)?,
        })
    }

    fn table_type(&mut self) -> Result<TableType> {
        Ok(TableType {
            element: self.val_type()?,
            min: self.u64()?,
            max: self.option(Self::u64)?,
            table64: self.bool()?,
        })
    }

    fn memory_type(&mut self) -> Result<MemoryType> {
        Ok(MemoryType {
            min_pages: self.u64()?,
            max_pages: self.option(Self::u64)?,
            memory64: self.bool()?,
            shared: self.bool()?,
        })
    }

    fn global_type(&mut self) -> Result<GlobalType> {
        Ok(GlobalType {
            ty: self.val_type()?,
            mutable: self.bool()?,
        })
    }

    fn const_op(&mut self) -> Result<ConstOp> {
        // Zigzag: the low bit is the sign.
        let signed = |value: u64| (value >> 1) as i64 ^ -((value & 1) as i64);
        Ok(match self.variant()? {
            0 => ConstOp::I32Const(signed(self.u32()?.into()) as i32),
            1 => ConstOp::I64Const(signed(self.u64()?)),
            2 => ConstOp::F32Const(self.u32()?),
            3 => ConstOp::F64Const(self.u64()?),
            4 => ConstOp::V128Const(self.u128()?),
            5 => ConstOp::GlobalGet(self.u32()?),
            6 => ConstOp::RefNull,
            7 => ConstOp::RefFunc(self.u32()?),
            8 => ConstOp::I32Add,
            9 => ConstOp::I32Sub,
            10 => ConstOp::I32Mul,
            11 => ConstOp::I64Add,
            12 => ConstOp::I64Sub,
            13 => ConstOp::I64Mul,
            _ => return Err(self.fail("bad constant instruction")),
        })
    }

    fn const_expr(&mut self) -> Result<ConstExpr> {
        self.vec(Self::const_op)
    }

    /// An import, whose module name is `previous`'s when it is not stored
    /// (`metadata::serialize_imports`).
    fn import(&mut self, previous: &mut Option<&'a str>) -> Result<Import<'a>> {
        // Not `self.option(Self::str)`: its instance alone was 111 bytes of every
        // executable.
        let module = match (self.is_some()?, *previous) {
            (true, _) => self.str()?,
            (false, Some(previous)) => previous,
            (false, None) => return Err(self.fail("bad import")),
        };
        *previous = Some(module);
        Ok(Import {
            module,
            name: self.str()?,
            ty: match self.variant()? {
                0 => ImportType::Func(self.u32()?),
                1 => ImportType::Table(self.table_type()?),
                2 => ImportType::Memory(self.memory_type()?),
                3 => ImportType::Global(self.global_type()?),
                4 => ImportType::Tag(self.u32()?),
                _ => return Err(self.fail("bad import")),
            },
        })
    }

    fn export(&mut self) -> Result<Export<'a>> {
        Ok(Export {
            name: self.str()?,
            kind: match self.variant()? {
                0 => ExternKind::Func,
                1 => ExternKind::Table,
                2 => ExternKind::Memory,
                3 => ExternKind::Global,
                4 => ExternKind::Tag,
                _ => return Err(self.fail("bad export")),
            },
            index: self.u32()?,
        })
    }

    fn global(&mut self) -> Result<Global> {
        Ok(Global {
            ty: self.global_type()?,
            init: self.const_expr()?,
        })
    }

    fn element_segment(&mut self) -> Result<ElementSegment> {
        Ok(ElementSegment {
            mode: match self.variant()? {
                0 => ElementMode::Active {
                    table: self.u32()?,
                    offset: self.const_expr()?,
                },
                1 => ElementMode::Passive,
                2 => ElementMode::Declared,
                _ => return Err(self.fail("bad element segment")),
            },
            element: self.val_type()?,
            items: match self.variant()? {
                0 => ElementItems::Functions(self.vec(Self::u32)?),
                1 => ElementItems::Expressions(self.vec(Self::const_expr)?),
                _ => return Err(self.fail("bad element segment")),
            },
        })
    }

    fn data_segment(&mut self) -> Result<DataSegment<'a>> {
        Ok(DataSegment {
            mode: match self.variant()? {
                0 => DataMode::Active {
                    memory: self.u32()?,
                    offset: self.const_expr()?,
                },
                1 => DataMode::Passive,
                _ => return Err(self.fail("bad data segment")),
            },
            bytes: self.packed()?,
        })
    }

    fn subtyping(&mut self) -> Result<Subtyping> {
        Ok(Subtyping {
            is_final: self.bool()?,
            supertype: self.option(Self::u32)?,
        })
    }

    /// Reads the metadata's fields into `metadata`, which holds [`ModuleMetadata::EMPTY`]
    /// (so that a failed read leaves a value that drops as one, and a boxed value is
    /// written in place: see [`Reader::metadata_boxed`]).
    fn module_metadata(&mut self, metadata: &mut ModuleMetadata<'a>) -> Result<()> {
        set(&mut metadata.name, self.option(Self::str)?);
        set(&mut metadata.types, self.vec(Self::func_type)?);
        let mut previous = None;
        set(
            &mut metadata.imports,
            self.vec(|reader| reader.import(&mut previous))?,
        );
        set(&mut metadata.functions, self.vec(Self::u32)?);
        set(&mut metadata.tables, self.vec(Self::table_type)?);
        set(&mut metadata.memories, self.vec(Self::memory_type)?);
        set(&mut metadata.global_types, self.vec(Self::global_type)?);
        set(&mut metadata.globals, self.vec(Self::global)?);
        set(&mut metadata.tags, self.vec(Self::u32)?);
        set(&mut metadata.tag_names, self.vec(Self::str)?);
        set(&mut metadata.exports, self.vec(Self::export)?);
        set(&mut metadata.start, self.option(Self::u32)?);
        set(&mut metadata.elements, self.vec(Self::element_segment)?);
        set(&mut metadata.data, self.vec(Self::data_segment)?);
        set(&mut metadata.function_names, self.packed()?);
        set(
            &mut metadata.memory_settings,
            MemorySettings {
                reservation: self.u64()?,
                guard_size: self.u64()?,
                bounds_checks: self.bool()?,
            },
        );
        set(&mut metadata.cpu_features, self.vec(Self::str)?);
        set(&mut metadata.memory_image_offset, self.option(Self::u64)?);
        set(&mut metadata.fixed_memory_address, self.option(Self::u64)?);
        set(
            &mut metadata.table_inits,
            self.vec(|reader| reader.option(Self::const_expr))?,
        );
        set(&mut metadata.subtyping, self.vec(Self::subtyping)?);
        set(&mut metadata.fuel, self.bool()?);
        set(&mut metadata.interruptible, self.bool()?);
        set(&mut metadata.may_throw, self.vec(Self::bool)?);
        metadata.profile = self.option(Self::bytes)?;
        Ok(())
    }
}

/// Puts `value` in `slot`, which holds a field of [`ModuleMetadata::EMPTY`]: that has
/// nothing to drop, so it is forgotten, and no drop of the old value is compiled at each
/// field.
fn set<T>(slot: &mut T, value: T) {
    core::mem::forget(core::mem::replace(slot, value));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metadata with every variant of every enum and the extreme values of every integer
    /// type, so that each read is checked against postcard's encoding of it.
    fn everything() -> ModuleMetadata<'static> {
        let names = crate::function_names::FunctionNames::encode(&[
            "f",
            "",
            "<core::fmt::Write>::write_str",
        ])
        .leak();
        let packed_segment = &[0x1f, 0, 1, 2];
        let all_heaps = [
            HeapType::Func,
            HeapType::NoFunc,
            HeapType::Extern,
            HeapType::NoExtern,
            HeapType::Exn,
            HeapType::NoExn,
            HeapType::Concrete(u32::MAX),
        ];
        let mut params = vec![
            ValType::I32,
            ValType::I64,
            ValType::F32,
            ValType::F64,
            ValType::V128,
        ];
        for (index, heap) in all_heaps.into_iter().enumerate() {
            params.push(ValType::Ref(RefType {
                nullable: index % 2 == 0,
                heap,
            }));
        }
        let ops = vec![
            ConstOp::I32Const(i32::MIN),
            ConstOp::I32Const(-1),
            ConstOp::I32Const(i32::MAX),
            ConstOp::I64Const(i64::MIN),
            ConstOp::I64Const(i64::MAX),
            ConstOp::F32Const(u32::MAX),
            ConstOp::F64Const(u64::MAX),
            ConstOp::V128Const(u128::MAX),
            ConstOp::V128Const(1 << 127),
            ConstOp::GlobalGet(7),
            ConstOp::RefNull,
            ConstOp::RefFunc(300),
            ConstOp::I32Add,
            ConstOp::I32Sub,
            ConstOp::I32Mul,
            ConstOp::I64Add,
            ConstOp::I64Sub,
            ConstOp::I64Mul,
        ];
        let table = TableType {
            element: ValType::FUNCREF,
            min: u64::MAX,
            max: Some(0),
            table64: true,
        };
        let memory = MemoryType {
            min_pages: 1 << 40,
            max_pages: None,
            memory64: true,
            shared: false,
        };
        let global = GlobalType {
            ty: ValType::V128,
            mutable: true,
        };
        ModuleMetadata {
            name: None,
            types: vec![
                FuncType {
                    params,
                    results: vec![ValType::EXNREF],
                },
                FuncType {
                    params: vec![],
                    results: vec![],
                },
            ],
            imports: vec![
                Import {
                    module: "m",
                    name: "",
                    ty: ImportType::Func(1),
                },
                Import {
                    module: "é",
                    name: "t",
                    ty: ImportType::Table(table),
                },
                Import {
                    module: "m",
                    name: "mem",
                    ty: ImportType::Memory(memory),
                },
                Import {
                    module: "m",
                    name: "g",
                    ty: ImportType::Global(global),
                },
                Import {
                    module: "m",
                    name: "e",
                    ty: ImportType::Tag(0),
                },
            ],
            functions: vec![0, 1, u32::MAX, 128, 16_384],
            tables: vec![table],
            memories: vec![memory],
            global_types: vec![global],
            globals: vec![Global {
                ty: global,
                init: ops.clone(),
            }],
            tags: vec![1],
            tag_names: vec!["", "tag"],
            exports: [
                ExternKind::Func,
                ExternKind::Table,
                ExternKind::Memory,
                ExternKind::Global,
                ExternKind::Tag,
            ]
            .into_iter()
            .map(|kind| Export {
                name: "x",
                kind,
                index: 2,
            })
            .collect(),
            start: Some(3),
            elements: vec![
                ElementSegment {
                    mode: ElementMode::Active {
                        table: 1,
                        offset: vec![ConstOp::GlobalGet(0)],
                    },
                    element: ValType::FUNCREF,
                    items: ElementItems::Functions(vec![0, 4]),
                },
                ElementSegment {
                    mode: ElementMode::Passive,
                    element: ValType::EXTERNREF,
                    items: ElementItems::Expressions(vec![ops.clone(), vec![]]),
                },
                ElementSegment {
                    mode: ElementMode::Declared,
                    element: ValType::FUNCREF,
                    items: ElementItems::Functions(vec![]),
                },
            ],
            data: vec![
                DataSegment {
                    mode: DataMode::Active {
                        memory: 0,
                        offset: vec![ConstOp::I64Const(-5)],
                    },
                    bytes: Packed::plain(&[0, 255, 128]),
                },
                DataSegment {
                    mode: DataMode::Active {
                        memory: 0,
                        offset: vec![ConstOp::I32Const(0)],
                    },
                    bytes: Packed {
                        unpacked_len: u32::MAX,
                        bytes: packed_segment,
                    },
                },
                DataSegment {
                    mode: DataMode::Passive,
                    bytes: Packed::plain(&[]),
                },
            ],
            function_names: Packed::plain(names),
            memory_settings: MemorySettings {
                reservation: u64::MAX,
                guard_size: 0,
                bounds_checks: true,
            },
            cpu_features: vec!["sse41"],
            memory_image_offset: None,
            fixed_memory_address: None,
            table_inits: vec![None, Some(ops)],
            subtyping: vec![
                Subtyping::FINAL,
                Subtyping {
                    is_final: false,
                    supertype: Some(0),
                },
            ],
            fuel: false,
            interruptible: true,
            may_throw: vec![true, false],
            profile: None,
        }
    }

    #[test]
    fn decodes_what_postcard_encodes() {
        let metadata = everything();
        let encoded = metadata.encode();
        assert_eq!(ModuleMetadata::decode(&encoded).unwrap(), metadata);
        // `everything` leaves the options that `metadata.rs`'s test sets unset.
        let mut set = metadata.clone();
        set.name = Some("name");
        set.memory_image_offset = Some(u64::MAX);
        set.fixed_memory_address = Some(crate::metadata::FIXED_MEMORY_ADDRESS);
        set.profile = Some(&[1, 2]);
        assert_eq!(ModuleMetadata::decode(&set.encode()).unwrap(), set);
    }

    /// The boxed decoding (the runtime's) gives what the plain one gives, and fails alike.
    #[test]
    fn boxed_decoding_is_the_same() {
        let metadata = everything();
        let encoded = metadata.encode();
        assert_eq!(*ModuleMetadata::decode_boxed(&encoded).unwrap(), metadata);
        for len in 0..encoded.len() {
            assert_eq!(
                ModuleMetadata::decode_boxed(&encoded[..len]).map(|boxed| *boxed),
                ModuleMetadata::decode(&encoded[..len]),
                "{len} of {} bytes",
                encoded.len()
            );
        }
    }

    #[test]
    fn truncated_or_altered_bytes_are_errors_not_panics() {
        let encoded = everything().encode();
        for len in 0..encoded.len() {
            assert!(
                ModuleMetadata::decode(&encoded[..len]).is_err(),
                "{len} of {} bytes decoded",
                encoded.len()
            );
        }
        // Every byte set to each of a few values: decoded or refused, never a panic (and
        // never a huge allocation from a length).
        for index in 0..encoded.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut altered = encoded.clone();
                altered[index] = value;
                let _ = ModuleMetadata::decode(&altered);
            }
        }
    }

    #[test]
    fn import_module_names_are_stored_once_per_run() {
        let mut metadata = everything();
        let wasi = "wasi_snapshot_preview1";
        metadata.imports = ["fd_write", "fd_read", "proc_exit"]
            .into_iter()
            .map(|name| Import {
                module: wasi,
                name,
                ty: ImportType::Func(1),
            })
            .collect();
        let encoded = metadata.encode();
        let count = encoded
            .windows(wasi.len())
            .filter(|window| *window == wasi.as_bytes())
            .count();
        assert_eq!(count, 1, "the module name once for three imports");
        assert_eq!(ModuleMetadata::decode(&encoded).unwrap(), metadata);
        // The first import cannot take the previous one's module name.
        let at = encoded
            .windows(wasi.len())
            .position(|window| window == wasi.as_bytes())
            .unwrap();
        let mut altered = encoded[..at - 2].to_vec();
        altered.push(0);
        altered.extend_from_slice(&encoded[at + wasi.len()..]);
        assert_eq!(
            ModuleMetadata::decode(&altered),
            Err(DecodeError("bad import"))
        );
    }

    #[test]
    fn integers_must_fit_their_type() {
        // A read's value, or the message it failed with.
        fn check<'a, T>(
            bytes: &'a [u8],
            read: impl FnOnce(&mut Reader<'a>) -> Result<T>,
        ) -> core::result::Result<T, &'static str> {
            let mut reader = Reader::new(bytes);
            read(&mut reader).map_err(|Fail| reader.error)
        }
        let read = |bytes: &[u8], bits| check(bytes, |reader| reader.varint(bits));
        assert_eq!(
            read(&[0xff, 0xff, 0xff, 0xff, 0x0f], 32),
            Ok(u32::MAX.into())
        );
        // A 33rd bit, a sixth byte, a length past the bytes.
        const BAD: &str = "bad variable-length integer";
        assert_eq!(read(&[0xff, 0xff, 0xff, 0xff, 0x1f], 32), Err(BAD));
        assert_eq!(read(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 32), Err(BAD));
        assert_eq!(read(&[0x80], 32), Err("unexpected end"));
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(read(&max, 64), Ok(u64::MAX));
        *max.last_mut().unwrap() = 0x02;
        assert_eq!(read(&max, 64), Err(BAD));
        let mut max = vec![0xff; 18];
        max.push(0x03);
        assert_eq!(check(&max, Reader::u128), Ok(u128::MAX));
        *max.last_mut().unwrap() = 0x04;
        assert_eq!(check(&max, Reader::u128), Err(BAD));
        let mut long = vec![0x80; 19];
        long.push(0x00);
        assert_eq!(check(&long, Reader::u128), Err(BAD));
        assert_eq!(check(&[5, b'a'], Reader::bytes), Err("unexpected end"));
        assert_eq!(check(&[2], Reader::bool), Err("bad bool"));
        assert_eq!(check(&[2], Reader::is_some), Err("bad option"));
        assert_eq!(check(&[], Reader::is_some), Err("bad option"));
    }
}
