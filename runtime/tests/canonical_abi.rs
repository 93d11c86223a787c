//! The canonical ABI and resource tables of the component layer (`src/component/`), on a
//! `Vec<u8>` memory with a bump allocator: every type round trips through memory and flat
//! values, layouts are byte-exact against the specification's numbers, hostile bytes trap
//! with messages that say what the guest did, parameters and results spill past the flat
//! limits in both directions, and resource handles follow the own/borrow rules.

use kiln_abi::component::{
    ComponentPlan, DefinedType, FuncType, Resource, ResourceTable, TypeTable, ValType,
};
use kiln_abi::vmctx::ValRaw;
use kiln_runtime::component::abi::{
    lift_flat, lift_params, lift_results, load, lower_flat, lower_params, lower_results, store,
};
use kiln_runtime::component::{
    AbiError, ComponentTrap, ComponentVal, Context, DroppedOwn, FlatReader, GuestMemory, Handles,
    ResourceTables,
};

use ComponentVal as V;

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// A memory with a bump allocator; `forced` makes `realloc` return that pointer instead.
struct TestMemory {
    bytes: Vec<u8>,
    next: u32,
    forced: Option<u32>,
    /// Every `realloc` call's arguments.
    calls: Vec<(u32, u32, u32, u32)>,
}

impl TestMemory {
    fn new(size: usize) -> TestMemory {
        TestMemory {
            bytes: vec![0; size],
            next: 1024,
            forced: None,
            calls: Vec::new(),
        }
    }
}

impl GuestMemory for TestMemory {
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
    fn realloc(&mut self, old: u32, old_size: u32, align: u32, size: u32) -> Result<u32, AbiError> {
        self.calls.push((old, old_size, align, size));
        if let Some(ptr) = self.forced {
            return Ok(ptr);
        }
        let ptr = self.next.next_multiple_of(align);
        self.next = ptr + size;
        Ok(ptr)
    }
}

/// Handles that pass the number through: a handle index is its own representation.
struct SameHandles;

impl Handles for SameHandles {
    fn lift_own(&mut self, _: u32, handle: u32) -> Result<u32, ComponentTrap> {
        Ok(handle)
    }
    fn lift_borrow(&mut self, _: u32, handle: u32) -> Result<u32, ComponentTrap> {
        Ok(handle)
    }
    fn lower_own(&mut self, _: u32, rep: u32) -> Result<u32, ComponentTrap> {
        Ok(rep)
    }
    fn lower_borrow(&mut self, _: u32, rep: u32) -> Result<u32, ComponentTrap> {
        Ok(rep)
    }
}

fn def(types: &mut TypeTable, ty: DefinedType) -> ValType {
    types.defined.push(ty);
    ValType::Defined(types.defined.len() as u32 - 1)
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("n{i}")).collect()
}

fn func(types: &mut TypeTable, params: Vec<ValType>, results: Vec<ValType>) -> u32 {
    types.funcs.push(FuncType {
        params: params
            .into_iter()
            .enumerate()
            .map(|(i, ty)| (format!("p{i}"), ty))
            .collect(),
        results,
    });
    types.funcs.len() as u32 - 1
}

/// Runs `f` with a context over `types` and `memory`, with pass-through handles.
fn with<R>(types: &TypeTable, memory: &mut TestMemory, f: impl FnOnce(&mut Context<'_>) -> R) -> R {
    let mut handles = SameHandles;
    let mut cx = Context {
        types,
        memory: Some(memory),
        handles: &mut handles,
        hostcall_fuel: u64::MAX,
    };
    f(&mut cx)
}

fn store_load(types: &TypeTable, ty: ValType, value: &V) -> V {
    let mut memory = TestMemory::new(1 << 16);
    with(types, &mut memory, |cx| {
        store(cx, ty, 64, value).unwrap();
        load(cx, ty, 64).unwrap()
    })
}

fn lower_lift(types: &TypeTable, ty: ValType, value: &V) -> V {
    let mut memory = TestMemory::new(1 << 16);
    with(types, &mut memory, |cx| {
        let mut flat = Vec::new();
        lower_flat(cx, ty, value, &mut flat).unwrap();
        let mut expected = Vec::new();
        types.flatten(ty, &mut expected);
        assert_eq!(flat.len(), expected.len(), "flat count of {value:?}");
        let mut reader = FlatReader::new(&flat);
        lift_flat(cx, ty, &mut reader).unwrap()
    })
}

fn check_round_trip(types: &TypeTable, ty: ValType, value: V) {
    assert_eq!(store_load(types, ty, &value), value, "through memory");
    assert_eq!(lower_lift(types, ty, &value), value, "through flat values");
}

/// The trap of loading `ty` from `bytes` written at 64 in a 64 KiB memory.
fn load_trap(types: &TypeTable, ty: ValType, bytes: &[u8]) -> String {
    let mut memory = TestMemory::new(1 << 16);
    memory.bytes[64..64 + bytes.len()].copy_from_slice(bytes);
    match with(types, &mut memory, |cx| load(cx, ty, 64)) {
        Err(AbiError::Trap(trap)) => trap.to_string(),
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// The trap of lifting `ty` from flat `values`.
fn lift_trap(types: &TypeTable, ty: ValType, values: &[u64]) -> String {
    let mut memory = TestMemory::new(1 << 16);
    let raw: Vec<ValRaw> = values.iter().map(|&v| ValRaw::from_u64(v)).collect();
    match with(types, &mut memory, |cx| {
        lift_flat(cx, ty, &mut FlatReader::new(&raw))
    }) {
        Err(AbiError::Trap(trap)) => trap.to_string(),
        other => panic!("expected a trap, got {other:?}"),
    }
}

fn le32(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn some(value: V) -> Option<Box<V>> {
    Some(Box::new(value))
}

// ---------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------

#[test]
fn scalars_round_trip() {
    let types = TypeTable::default();
    for (ty, value) in [
        (ValType::Bool, V::Bool(true)),
        (ValType::Bool, V::Bool(false)),
        (ValType::S8, V::S8(-128)),
        (ValType::U8, V::U8(255)),
        (ValType::S16, V::S16(-2)),
        (ValType::U16, V::U16(0xfffe)),
        (ValType::S32, V::S32(i32::MIN)),
        (ValType::U32, V::U32(u32::MAX)),
        (ValType::S64, V::S64(-1)),
        (ValType::U64, V::U64(u64::MAX - 1)),
        (ValType::F32, V::F32(-1.5)),
        (ValType::F64, V::F64(std::f64::consts::PI)),
        (ValType::Char, V::Char('\u{10ffff}')),
        (ValType::Char, V::Char('é')),
        (ValType::String, V::String("héllo, wörld".into())),
        (ValType::String, V::String(String::new())),
    ] {
        check_round_trip(&types, ty, value);
    }
}

#[test]
fn nested_compound_values_round_trip() {
    // list<record { name: string, data: option<list<u8>>, status: result<u32, enum> }>
    let mut types = TypeTable::default();
    let bytes = def(&mut types, DefinedType::List(ValType::U8));
    let maybe_bytes = def(&mut types, DefinedType::Option(bytes));
    let level = def(&mut types, DefinedType::Enum(names(3)));
    let status = def(
        &mut types,
        DefinedType::Result {
            ok: Some(ValType::U32),
            err: Some(level),
        },
    );
    let entry = def(
        &mut types,
        DefinedType::Record(vec![
            ("name".into(), ValType::String),
            ("data".into(), maybe_bytes),
            ("status".into(), status),
        ]),
    );
    let entries = def(&mut types, DefinedType::List(entry));
    let value = V::List(vec![
        V::Record(vec![
            V::String("first".into()),
            V::Option(some(V::Bytes(vec![1, 2, 3]))),
            V::Result(Ok(some(V::U32(7)))),
        ]),
        V::Record(vec![
            V::String("".into()),
            V::Option(None),
            V::Result(Err(some(V::Enum(2)))),
        ]),
        V::Record(vec![
            V::String("third ✓".into()),
            V::Option(some(V::Bytes(vec![]))),
            V::Result(Err(some(V::Enum(0)))),
        ]),
    ]);
    check_round_trip(&types, entries, value);

    let pair = def(
        &mut types,
        DefinedType::Tuple(vec![ValType::U8, ValType::String, ValType::F64]),
    );
    check_round_trip(
        &types,
        pair,
        V::Tuple(vec![V::U8(9), V::String("x".into()), V::F64(0.25)]),
    );
    let no_payloads = def(
        &mut types,
        DefinedType::Result {
            ok: None,
            err: None,
        },
    );
    check_round_trip(&types, no_payloads, V::Result(Ok(None)));
    check_round_trip(&types, no_payloads, V::Result(Err(None)));
    let own = def(&mut types, DefinedType::Own(0));
    let borrow = def(&mut types, DefinedType::Borrow(0));
    check_round_trip(&types, own, V::Own(5));
    check_round_trip(&types, borrow, V::Borrow(6));
}

#[test]
fn lists_of_bytes_lift_as_bytes_and_lower_from_either_form() {
    let mut types = TypeTable::default();
    let bytes = def(&mut types, DefinedType::List(ValType::U8));
    let mut memory = TestMemory::new(1 << 16);
    let (flat, lifted) = with(&types, &mut memory, |cx| {
        let mut flat = Vec::new();
        lower_flat(cx, bytes, &V::List(vec![V::U8(7), V::U8(8)]), &mut flat).unwrap();
        lower_flat(cx, bytes, &V::Bytes(vec![7, 8]), &mut flat).unwrap();
        let lifted = lift_flat(cx, bytes, &mut FlatReader::new(&flat)).unwrap();
        (flat.iter().map(|v| v.u32()).collect::<Vec<_>>(), lifted)
    });
    assert_eq!(flat, [1024, 2, 1026, 2]);
    assert_eq!(memory.bytes[1024..1028], [7, 8, 7, 8]);
    assert_eq!(lifted, V::Bytes(vec![7, 8]));
    // Bytes are no list of another element type.
    let words = def(&mut types, DefinedType::List(ValType::U16));
    let error = with(&types, &mut memory, |cx| {
        lower_flat(cx, words, &V::Bytes(vec![1, 2]), &mut Vec::new())
    });
    assert!(matches!(error, Err(AbiError::Mismatch(_))), "{error:?}");
}

#[test]
fn variants_with_mixed_payloads_round_trip_through_joined_flat_types() {
    let mut types = TypeTable::default();
    let mixed = def(
        &mut types,
        DefinedType::Variant(vec![
            ("a".into(), Some(ValType::F32)),
            ("b".into(), Some(ValType::U32)),
            ("c".into(), Some(ValType::F64)),
            ("d".into(), Some(ValType::String)),
            ("e".into(), Some(ValType::S64)),
            ("f".into(), None),
            ("g".into(), Some(ValType::S8)),
        ]),
    );
    let mut flat = Vec::new();
    types.flatten(mixed, &mut flat);
    use kiln_runtime::ValType::{I32, I64};
    assert_eq!(flat, [I32, I64, I32]);
    for value in [
        V::variant(0, Some(V::F32(-2.5))),
        V::variant(1, Some(V::U32(0xdead_beef))),
        V::variant(2, Some(V::F64(1e300))),
        V::variant(3, Some(V::String("joined".into()))),
        V::variant(4, Some(V::S64(-3))),
        V::variant(5, None),
        V::variant(6, Some(V::S8(-1))),
    ] {
        check_round_trip(&types, mixed, value);
    }

    // The exact flat values: an f32 as its bits, zero-extended into the i64 position; an
    // s8 as its sign-extended i32, zero-extended; unused positions zero.
    let mut memory = TestMemory::new(1 << 16);
    let lowered = |value: V, memory: &mut TestMemory| {
        with(&types, memory, |cx| {
            let mut out = Vec::new();
            lower_flat(cx, mixed, &value, &mut out).unwrap();
            out.iter().map(|v| v.u128()).collect::<Vec<_>>()
        })
    };
    assert_eq!(
        lowered(V::variant(0, Some(V::F32(1.0))), &mut memory),
        [0, 0x3f80_0000, 0]
    );
    assert_eq!(
        lowered(V::variant(6, Some(V::S8(-1))), &mut memory),
        [6, 0xffff_ffff, 0]
    );
    assert_eq!(
        lowered(V::variant(2, Some(V::F64(1.0))), &mut memory),
        [2, 0x3ff0_0000_0000_0000, 0]
    );
    assert_eq!(lowered(V::variant(5, None), &mut memory), [5, 0, 0]);

    // Lifting a u32 from the i64 position wraps it, as the specification says.
    let raw = [1, 0xffff_ffff_0000_0005, 0x1234].map(ValRaw::from_u64);
    let lifted = with(&types, &mut memory, |cx| {
        lift_flat(cx, mixed, &mut FlatReader::new(&raw)).unwrap()
    });
    assert_eq!(lifted, V::variant(1, Some(V::U32(5))));
    // f32 in an i32 position of another variant (`i32` joined with `f32`).
    let small = def(
        &mut types,
        DefinedType::Variant(vec![
            ("i".into(), Some(ValType::U32)),
            ("f".into(), Some(ValType::F32)),
        ]),
    );
    let raw = [1, 0x4000_0000].map(ValRaw::from_u64);
    let lifted = with(&types, &mut memory, |cx| {
        lift_flat(cx, small, &mut FlatReader::new(&raw)).unwrap()
    });
    assert_eq!(lifted, V::variant(1, Some(V::F32(2.0))));
}

#[test]
fn flags_of_every_width_round_trip() {
    for n in [0, 8, 9, 32, 33] {
        let mut types = TypeTable::default();
        let flags = def(&mut types, DefinedType::Flags(names(n)));
        for set in [vec![], vec![0], vec![n.saturating_sub(1)], (0..n).collect()] {
            check_round_trip(&types, flags, V::flags(n, set));
        }
    }
    // Byte widths: 8 flags in one byte, 9 in two, 33 in two words; bits past the last
    // flag are ignored when read.
    let mut types = TypeTable::default();
    let nine = def(&mut types, DefinedType::Flags(names(9)));
    assert_eq!(
        store_bytes(&types, nine, &V::flags(9, [0, 8]), 4),
        [0x01, 0x01, 0, 0]
    );
    let thirty_three = def(&mut types, DefinedType::Flags(names(33)));
    assert_eq!(
        store_bytes(&types, thirty_three, &V::flags(33, [1, 32]), 8),
        le32(&[2, 1])
    );
    let mut memory = TestMemory::new(1 << 16);
    memory.bytes[64..66].copy_from_slice(&[0xff, 0xff]);
    let read = with(&types, &mut memory, |cx| load(cx, nine, 64).unwrap());
    assert_eq!(read, V::flags(9, 0..9));
    let raw = [0xffff_ffff, 0xffff_ffff].map(ValRaw::from_u64);
    let read = with(&types, &mut memory, |cx| {
        lift_flat(cx, thirty_three, &mut FlatReader::new(&raw)).unwrap()
    });
    assert_eq!(read, V::Flags(vec![0xffff_ffff, 1]));
}

#[test]
fn nans_are_canonical_when_lifted() {
    let types = TypeTable::default();
    let raw = [ValRaw::from_u64(0x7fc0_1234)];
    let mut memory = TestMemory::new(1 << 16);
    let lifted = with(&types, &mut memory, |cx| {
        lift_flat(cx, ValType::F32, &mut FlatReader::new(&raw)).unwrap()
    });
    let V::F32(value) = lifted else {
        panic!("{lifted:?}")
    };
    assert_eq!(value.to_bits(), 0x7fc0_0000);
    memory.bytes[64..72].copy_from_slice(&0xfff0_0000_0000_0001u64.to_le_bytes());
    let loaded = with(&types, &mut memory, |cx| {
        load(cx, ValType::F64, 64).unwrap()
    });
    let V::F64(value) = loaded else {
        panic!("{loaded:?}")
    };
    assert_eq!(value.to_bits(), 0x7ff8_0000_0000_0000);
}

// ---------------------------------------------------------------------------------------
// Layouts, byte for byte
// ---------------------------------------------------------------------------------------

/// The `len` bytes at 64 after storing `value` there.
fn store_bytes(types: &TypeTable, ty: ValType, value: &V, len: usize) -> Vec<u8> {
    let mut memory = TestMemory::new(1 << 16);
    memory.bytes[64..64 + len].fill(0xaa);
    with(types, &mut memory, |cx| store(cx, ty, 64, value).unwrap());
    // Padding keeps whatever was there: clear the sentinel so the bytes compare plainly.
    memory.bytes[64..64 + len]
        .iter()
        .map(|&b| if b == 0xaa { 0 } else { b })
        .collect()
}

#[test]
fn layouts_are_byte_exact() {
    let mut types = TypeTable::default();
    let record = def(
        &mut types,
        DefinedType::Record(vec![
            ("a".into(), ValType::U8),
            ("b".into(), ValType::U32),
            ("c".into(), ValType::U16),
        ]),
    );
    let layout = types.layout(record);
    assert_eq!((layout.size, layout.align), (12, 4));
    assert_eq!(
        store_bytes(
            &types,
            record,
            &V::Record(vec![V::U8(0x11), V::U32(0x4433_2211), V::U16(0x6655)]),
            12
        ),
        [0x11, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0, 0]
    );

    // 257 cases: a u16 discriminant, then the payload at the u32's alignment.
    let cases = (0..257)
        .map(|i| (format!("c{i}"), (i == 256).then_some(ValType::U32)))
        .collect();
    let wide = def(&mut types, DefinedType::Variant(cases));
    let layout = types.layout(wide);
    assert_eq!((layout.size, layout.align), (8, 4));
    assert_eq!(
        store_bytes(&types, wide, &V::variant(256, Some(V::U32(7))), 8),
        [0x00, 0x01, 0, 0, 7, 0, 0, 0]
    );

    // result<string, u8>: flat [i32, i32, i32]; in memory a u8 discriminant, then the
    // string's pointer and length at offset 4.
    let result = def(
        &mut types,
        DefinedType::Result {
            ok: Some(ValType::String),
            err: Some(ValType::U8),
        },
    );
    let mut flat = Vec::new();
    types.flatten(result, &mut flat);
    use kiln_runtime::ValType::I32;
    assert_eq!(flat, [I32, I32, I32]);
    let bytes = store_bytes(
        &types,
        result,
        &V::Result(Ok(some(V::String("ab".into())))),
        12,
    );
    assert_eq!(bytes, [vec![0, 0, 0, 0], le32(&[1024, 2])].concat());
    let bytes = store_bytes(&types, result, &V::Result(Err(some(V::U8(9)))), 12);
    assert_eq!(bytes[..5], [1, 0, 0, 0, 9]);

    // option<u64>: the payload at 8; an enum of 3 is one byte.
    let option = def(&mut types, DefinedType::Option(ValType::U64));
    assert_eq!(
        store_bytes(&types, option, &V::Option(some(V::U64(3))), 16),
        [[1, 0, 0, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0, 0, 0]].concat()
    );
    let small_enum = def(&mut types, DefinedType::Enum(names(3)));
    assert_eq!(types.layout(small_enum).size, 1);
}

#[test]
fn strings_and_lists_come_from_cabi_realloc() {
    let mut types = TypeTable::default();
    let list = def(&mut types, DefinedType::List(ValType::U16));
    let mut memory = TestMemory::new(1 << 16);
    let flat = with(&types, &mut memory, |cx| {
        let mut out = Vec::new();
        lower_flat(cx, list, &V::List(vec![V::U16(1), V::U16(0x302)]), &mut out).unwrap();
        lower_flat(cx, ValType::String, &V::String("hé".into()), &mut out).unwrap();
        out.iter().map(|v| v.u32()).collect::<Vec<_>>()
    });
    // realloc(0, 0, align, size), as the specification calls it.
    assert_eq!(memory.calls, [(0, 0, 2, 4), (0, 0, 1, 3)]);
    assert_eq!(flat, [1024, 2, 1028, 3]);
    assert_eq!(memory.bytes[1024..1031], [1, 0, 2, 3, b'h', 0xc3, 0xa9]);
}

/// Lifts `ty` from flat `values` over `memory` with `fuel` bytes of hostcall fuel;
/// returns the value and the fuel left, or the trap's message.
fn lift_with_fuel(
    types: &TypeTable,
    memory: &mut TestMemory,
    ty: ValType,
    values: &[u64],
    fuel: u64,
) -> Result<(V, u64), String> {
    let raw: Vec<ValRaw> = values.iter().map(|&v| ValRaw::from_u64(v)).collect();
    let mut handles = SameHandles;
    let mut cx = Context {
        types,
        memory: Some(memory),
        handles: &mut handles,
        hostcall_fuel: fuel,
    };
    match lift_flat(&mut cx, ty, &mut FlatReader::new(&raw)) {
        Ok(value) => Ok((value, cx.hostcall_fuel)),
        Err(AbiError::Trap(trap)) => Err(trap.to_string()),
        Err(other) => panic!("expected a value or a trap, got {other:?}"),
    }
}

#[test]
fn lifting_charges_strings_and_lists_to_the_hostcall_fuel() {
    // The host's size of a value, which `--hostcall-fuel`'s help states.
    assert_eq!(std::mem::size_of::<ComponentVal>(), 32);
    let mut types = TypeTable::default();
    let bytes = def(&mut types, DefinedType::List(ValType::U8));
    let words = def(&mut types, DefinedType::List(ValType::U32));
    let strings = def(&mut types, DefinedType::List(ValType::String));
    let mut memory = TestMemory::new(1 << 16);
    memory.bytes[64..69].copy_from_slice(b"hello");
    // A string or a list<u8> costs its length, to the last byte of fuel.
    assert_eq!(
        lift_with_fuel(&types, &mut memory, ValType::String, &[64, 5], 5),
        Ok((V::String("hello".into()), 0))
    );
    assert_eq!(
        lift_with_fuel(&types, &mut memory, ValType::String, &[64, 5], 4),
        Err(
            "hostcall fuel exhausted: the guest's values need 5 more bytes copied into \
             the host, 4 left of the call's fuel"
                .into()
        )
    );
    assert_eq!(
        lift_with_fuel(&types, &mut memory, bytes, &[64, 5], 9),
        Ok((V::Bytes(b"hello".to_vec()), 4))
    );
    // Any other list costs a host value per element, before any is made.
    assert_eq!(
        lift_with_fuel(&types, &mut memory, words, &[64, 1], 100).map(|(_, left)| left),
        Ok(100 - 32)
    );
    assert!(lift_with_fuel(&types, &mut memory, words, &[64, 4], 127).is_err());
    // Nested strings are charged on top of their list: 2 × 32 + 5 + 5 bytes.
    memory.bytes[128..144].copy_from_slice(&le32(&[64, 5, 64, 5]));
    assert_eq!(
        lift_with_fuel(&types, &mut memory, strings, &[128, 2], 74).map(|(_, left)| left),
        Ok(0)
    );
    assert!(lift_with_fuel(&types, &mut memory, strings, &[128, 2], 73)
        .unwrap_err()
        .contains("need 5 more bytes"));
}

// ---------------------------------------------------------------------------------------
// Hostile bytes
// ---------------------------------------------------------------------------------------

#[test]
fn out_of_bounds_pointers_trap() {
    let mut types = TypeTable::default();
    // A string past the end, and one whose end wraps past 2^32.
    assert_eq!(
        load_trap(&types, ValType::String, &le32(&[0xfff0, 0x20])),
        "string of 32 bytes at 0xfff0 is out of bounds of memory of 65536 bytes"
    );
    assert_eq!(
        load_trap(&types, ValType::String, &le32(&[0xffff_fff0, 0x20])),
        "string of 32 bytes at 0xfffffff0 is out of bounds of memory of 65536 bytes"
    );
    // A list whose byte length (length × element size) is past the memory.
    let list = def(&mut types, DefinedType::List(ValType::U64));
    assert_eq!(
        load_trap(&types, list, &le32(&[8, 0x100_0000])),
        "list of 134217728 bytes at 0x8 is out of bounds of memory of 65536 bytes"
    );
    assert_eq!(
        lift_trap(&types, list, &[0xffff_fff8, 2]),
        "list of 16 bytes at 0xfffffff8 is out of bounds of memory of 65536 bytes"
    );
    // The value itself out of bounds.
    let mut memory = TestMemory::new(1 << 16);
    let error = with(&types, &mut memory, |cx| {
        load(cx, ValType::U64, 0xfffc_0000)
    });
    assert_eq!(
        error.unwrap_err().to_string(),
        "value of 8 bytes at 0xfffc0000 is out of bounds of memory of 65536 bytes"
    );
    // No memory at all.
    let mut handles = SameHandles;
    let mut cx = Context {
        types: &types,
        memory: None,
        handles: &mut handles,
        hostcall_fuel: u64::MAX,
    };
    let raw = [0u64, 0].map(ValRaw::from_u64);
    assert_eq!(
        lift_flat(&mut cx, ValType::String, &mut FlatReader::new(&raw))
            .unwrap_err()
            .to_string(),
        "passing a string needs a memory and cabi_realloc, and the canonical options name none"
    );
    assert_eq!(
        lower_flat(&mut cx, list, &V::List(vec![]), &mut Vec::new())
            .unwrap_err()
            .to_string(),
        "passing a list needs a memory and cabi_realloc, and the canonical options name none"
    );
}

#[test]
fn huge_lengths_trap_before_anything_is_allocated() {
    let mut types = TypeTable::default();
    let bytes = def(&mut types, DefinedType::List(ValType::U8));
    assert_eq!(
        lift_trap(&types, bytes, &[0, 0xffff_ffff]),
        "list of length 4294967295 is too long"
    );
    assert_eq!(
        lift_trap(&types, ValType::String, &[0, 0x1000_0000]),
        "string of length 268435456 is too long"
    );
    // Zero-sized elements cannot make billions of values out of no memory.
    let empty = def(&mut types, DefinedType::Flags(vec![]));
    let empties = def(&mut types, DefinedType::List(empty));
    assert_eq!(
        lift_trap(&types, empties, &[0, 0xffff_ffff]),
        "list of length 4294967295 is too long"
    );
    let mut memory = TestMemory::new(1 << 16);
    let raw = [0u64, 3].map(ValRaw::from_u64);
    let lifted = with(&types, &mut memory, |cx| {
        lift_flat(cx, empties, &mut FlatReader::new(&raw)).unwrap()
    });
    assert_eq!(lifted, V::List(vec![V::Flags(vec![]); 3]));
}

#[test]
fn misaligned_pointers_trap() {
    let mut types = TypeTable::default();
    let list = def(&mut types, DefinedType::List(ValType::U32));
    assert_eq!(
        lift_trap(&types, list, &[2, 1]),
        "list at 0x2 is not aligned to 4 bytes"
    );
    let mut memory = TestMemory::new(1 << 16);
    let error = with(&types, &mut memory, |cx| load(cx, ValType::U32, 66));
    assert_eq!(
        error.unwrap_err().to_string(),
        "value at 0x42 is not aligned to 4 bytes"
    );
}

#[test]
fn invalid_utf8_traps() {
    let types = TypeTable::default();
    let mut memory = TestMemory::new(1 << 16);
    memory.bytes[200..204].copy_from_slice(&[b'o', b'k', 0xff, b'!']);
    memory.bytes[300..303].copy_from_slice(&[0xed, 0xa0, 0x80]); // an encoded surrogate
    for (ptr, len, message) in [
        (
            200,
            4,
            "string of 4 bytes at 0xc8 is not valid UTF-8 (bad byte at 0xca)",
        ),
        (
            300,
            3,
            "string of 3 bytes at 0x12c is not valid UTF-8 (bad byte at 0x12c)",
        ),
    ] {
        let raw = [ptr, len].map(ValRaw::from_u64);
        let error = with(&types, &mut memory, |cx| {
            lift_flat(cx, ValType::String, &mut FlatReader::new(&raw))
        });
        assert_eq!(error.unwrap_err().to_string(), message);
    }
}

#[test]
fn chars_out_of_range_or_surrogates_trap() {
    let types = TypeTable::default();
    assert_eq!(
        lift_trap(&types, ValType::Char, &[0x11_0000]),
        "char 0x110000 is out of range (past 0x10ffff)"
    );
    assert_eq!(
        lift_trap(&types, ValType::Char, &[0xd800]),
        "char 0xd800 is a surrogate"
    );
    assert_eq!(
        load_trap(&types, ValType::Char, &le32(&[0xdfff])),
        "char 0xdfff is a surrogate"
    );
}

#[test]
fn discriminants_out_of_range_trap() {
    let mut types = TypeTable::default();
    let variant = def(
        &mut types,
        DefinedType::Variant(vec![
            ("a".into(), None),
            ("b".into(), Some(ValType::U8)),
            ("c".into(), None),
        ]),
    );
    let option = def(&mut types, DefinedType::Option(ValType::U32));
    let result = def(
        &mut types,
        DefinedType::Result {
            ok: None,
            err: Some(ValType::U32),
        },
    );
    let enumeration = def(&mut types, DefinedType::Enum(names(5)));
    assert_eq!(
        load_trap(&types, variant, &[3, 0]),
        "variant discriminant 3 is out of range (3 cases)"
    );
    assert_eq!(
        lift_trap(&types, variant, &[0x100, 0]),
        "variant discriminant 256 is out of range (3 cases)"
    );
    assert_eq!(
        load_trap(&types, option, &[2, 0, 0, 0, 0, 0, 0, 0]),
        "option discriminant 2 is out of range (2 cases)"
    );
    assert_eq!(
        lift_trap(&types, result, &[2, 0]),
        "result discriminant 2 is out of range (2 cases)"
    );
    assert_eq!(
        load_trap(&types, enumeration, &[5]),
        "enum discriminant 5 is out of range (5 cases)"
    );
    assert_eq!(
        lift_trap(&types, enumeration, &[0xffff_ffff]),
        "enum discriminant 4294967295 is out of range (5 cases)"
    );
}

#[test]
fn bools_are_normalised_and_small_integers_truncated() {
    let types = TypeTable::default();
    let mut memory = TestMemory::new(1 << 16);
    memory.bytes[64] = 2;
    let raw = [0x100, 0x1_0000_0000, 0x1ff].map(ValRaw::from_u64);
    let (loaded, flat) = with(&types, &mut memory, |cx| {
        let loaded = load(cx, ValType::Bool, 64).unwrap();
        let mut reader = FlatReader::new(&raw);
        let flat = [ValType::Bool, ValType::Bool, ValType::S8]
            .map(|ty| lift_flat(cx, ty, &mut reader).unwrap());
        (loaded, flat)
    });
    assert_eq!(loaded, V::Bool(true));
    // 0x1_0000_0000 has its low 32 bits clear: an i32 of 0 is false.
    assert_eq!(flat, [V::Bool(true), V::Bool(false), V::S8(-1)]);
}

#[test]
fn realloc_results_are_checked() {
    let types = TypeTable::default();
    let mut memory = TestMemory::new(1 << 16);
    memory.forced = Some(0xfffe);
    let error = with(&types, &mut memory, |cx| {
        lower_flat(
            cx,
            ValType::String,
            &V::String("abcd".into()),
            &mut Vec::new(),
        )
    });
    assert_eq!(
        error.unwrap_err().to_string(),
        "cabi_realloc returned 0xfffe for 4 bytes, out of bounds of memory of 65536 bytes"
    );
    let mut types = TypeTable::default();
    let list = def(&mut types, DefinedType::List(ValType::U64));
    memory.forced = Some(0x104);
    let error = with(&types, &mut memory, |cx| {
        lower_flat(cx, list, &V::List(vec![V::U64(1)]), &mut Vec::new())
    });
    assert_eq!(
        error.unwrap_err().to_string(),
        "cabi_realloc returned 0x104, not aligned to 8 bytes"
    );
}

#[test]
fn host_values_of_the_wrong_type_are_errors_not_panics() {
    let mut types = TypeTable::default();
    let record = def(
        &mut types,
        DefinedType::Record(vec![("a".into(), ValType::U8)]),
    );
    let variant = def(
        &mut types,
        DefinedType::Variant(vec![("a".into(), None), ("b".into(), Some(ValType::U8))]),
    );
    let mut memory = TestMemory::new(1 << 16);
    for (ty, value) in [
        (ValType::U32, V::String("x".into())),
        (record, V::Record(vec![])),
        (variant, V::variant(0, Some(V::U8(1)))),
        (variant, V::variant(1, None)),
        (variant, V::variant(9, None)),
    ] {
        let stored = with(&types, &mut memory, |cx| store(cx, ty, 64, &value));
        assert!(
            matches!(stored, Err(AbiError::Mismatch(_))),
            "{value:?}: {stored:?}"
        );
        let lowered = with(&types, &mut memory, |cx| {
            lower_flat(cx, ty, &value, &mut Vec::new())
        });
        assert!(
            matches!(lowered, Err(AbiError::Mismatch(_))),
            "{value:?}: {lowered:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Parameters and results: the flat limits
// ---------------------------------------------------------------------------------------

#[test]
fn parameters_spill_to_memory_past_sixteen_flat_values() {
    let mut types = TypeTable::default();
    let seventeen = func(&mut types, vec![ValType::U32; 17], vec![]);
    let sixteen = func(&mut types, vec![ValType::U32; 16], vec![]);
    let args: Vec<V> = (0..17).map(|i| V::U32(100 + i)).collect();
    let mut memory = TestMemory::new(1 << 16);

    // Calling an export: lowered to memory from cabi_realloc, one pointer.
    let core = with(&types, &mut memory, |cx| {
        lower_params(cx, seventeen, &args).unwrap()
    });
    assert_eq!(core.len(), 1);
    assert_eq!(memory.calls, [(0, 0, 4, 68)]);
    let ptr = core[0].u32() as usize;
    assert_eq!(
        memory.bytes[ptr..ptr + 68],
        le32(&(100..117).collect::<Vec<_>>())
    );
    // A host import given that pointer lifts the same values.
    let lifted = with(&types, &mut memory, |cx| {
        lift_params(cx, seventeen, &core).unwrap()
    });
    assert_eq!(lifted, args);

    // Sixteen stay flat.
    let core = with(&types, &mut memory, |cx| {
        lower_params(cx, sixteen, &args[..16]).unwrap()
    });
    assert_eq!(core.len(), 16);
    assert_eq!(core[15].u32(), 115);
    let lifted = with(&types, &mut memory, |cx| {
        lift_params(cx, sixteen, &core).unwrap()
    });
    assert_eq!(lifted, args[..16]);

    // A hostile parameter pointer.
    let error = with(&types, &mut memory, |cx| {
        lift_params(cx, seventeen, &[ValRaw::from_u64(0xffd0)])
    });
    assert_eq!(
        error.unwrap_err().to_string(),
        "parameters of 68 bytes at 0xffd0 is out of bounds of memory of 65536 bytes"
    );
    let error = with(&types, &mut memory, |cx| {
        lift_params(cx, seventeen, &[ValRaw::from_u64(0x102)])
    });
    assert_eq!(
        error.unwrap_err().to_string(),
        "parameters at 0x102 is not aligned to 4 bytes"
    );
}

#[test]
fn results_go_through_the_return_pointer_past_one_flat_value() {
    let mut types = TypeTable::default();
    let returns_string = func(&mut types, vec![ValType::U32], vec![ValType::String]);
    let returns_u64 = func(&mut types, vec![], vec![ValType::U64]);
    let mut memory = TestMemory::new(1 << 16);

    // A host import: written through the return pointer, its last core argument.
    let args = [ValRaw::from_u64(7), ValRaw::from_u64(0x200)];
    let result = V::String("result".into());
    let flat = with(&types, &mut memory, |cx| {
        lower_results(cx, returns_string, std::slice::from_ref(&result), &args).unwrap()
    });
    assert!(flat.is_empty());
    assert_eq!(memory.bytes[0x200..0x208], le32(&[1024, 6]));
    assert_eq!(&memory.bytes[1024..1030], b"result");
    // A lifted export returns that pointer: its results are read there.
    let lifted = with(&types, &mut memory, |cx| {
        lift_results(cx, returns_string, &[ValRaw::from_u64(0x200)]).unwrap()
    });
    assert_eq!(lifted, std::slice::from_ref(&result));

    // One flat value is returned as such.
    let flat = with(&types, &mut memory, |cx| {
        lower_results(cx, returns_u64, &[V::U64(1 << 40)], &[]).unwrap()
    });
    assert_eq!(flat, [ValRaw::from_u64(1 << 40)]);
    let lifted = with(&types, &mut memory, |cx| {
        lift_results(cx, returns_u64, &flat).unwrap()
    });
    assert_eq!(lifted, [V::U64(1 << 40)]);

    // A hostile return pointer.
    let args = [ValRaw::from_u64(7), ValRaw::from_u64(0x201)];
    let error = with(&types, &mut memory, |cx| {
        lower_results(cx, returns_string, std::slice::from_ref(&result), &args)
    });
    assert_eq!(
        error.unwrap_err().to_string(),
        "results at 0x201 is not aligned to 4 bytes"
    );
    let error = with(&types, &mut memory, |cx| {
        lift_results(cx, returns_string, &[ValRaw::from_u64(0xfffc)])
    });
    assert_eq!(
        error.unwrap_err().to_string(),
        "results of 8 bytes at 0xfffc is out of bounds of memory of 65536 bytes"
    );
}

// ---------------------------------------------------------------------------------------
// Resource handles
// ---------------------------------------------------------------------------------------

/// A plan with two component instances: instance 0 defines resource 0 (`guest-thing`)
/// and uses the host's resource 1 (`wasi:io/streams#output-stream`); instance 1 uses
/// resource 0. Tables: 0 = (resource 0, instance 0), 1 = (resource 1, instance 0),
/// 2 = (resource 0, instance 1).
fn resource_plan() -> ComponentPlan {
    ComponentPlan {
        resources: vec![
            Resource {
                name: "guest-thing".into(),
                imported: false,
                component_instance: Some(0),
            },
            Resource {
                name: "wasi:io/streams#output-stream".into(),
                imported: true,
                component_instance: None,
            },
        ],
        resource_tables: vec![
            ResourceTable {
                resource: 0,
                component_instance: 0,
            },
            ResourceTable {
                resource: 1,
                component_instance: 0,
            },
            ResourceTable {
                resource: 0,
                component_instance: 1,
            },
        ],
        n_component_instances: 2,
        ..ComponentPlan::default()
    }
}

fn trap_message<T: std::fmt::Debug>(result: Result<T, ComponentTrap>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn handles_start_at_one_and_are_reused() {
    let mut tables = ResourceTables::new(&resource_plan());
    let handles: Vec<u32> = (10..13)
        .map(|rep| tables.resource_new(0, rep).unwrap())
        .collect();
    assert_eq!(handles, [1, 2, 3]);
    assert_eq!(tables.resource_rep(0, 2), Ok(11));
    assert_eq!(
        tables.resource_drop(0, 2),
        Ok(Some(DroppedOwn {
            resource: 0,
            rep: 11
        }))
    );
    assert_eq!(tables.resource_new(0, 20), Ok(2), "the freed index first");
    assert_eq!(tables.resource_new(0, 21), Ok(4));
    // Handles of the other table of the same instance share its index space.
    assert_eq!(tables.resource_new(1, 30), Ok(5));
    // The other instance has its own.
    assert_eq!(tables.resource_new(2, 40), Ok(1));
    assert_eq!(tables.resource_rep(2, 1), Ok(40));
}

#[test]
fn a_table_holds_at_most_max_handles_live_ones() {
    let mut tables = ResourceTables::new(&resource_plan());
    tables.set_max_handles(3);
    for rep in 0..3 {
        tables.resource_new(0, rep).unwrap();
    }
    // Every table of an instance counts against its one index space.
    assert_eq!(
        trap_message(tables.resource_new(1, 9)),
        "resource table full: the instance holds 3 handles, the most it may"
    );
    // A dropped handle makes room again; the other instance has its own three.
    tables.resource_drop(0, 2).unwrap();
    assert_eq!(tables.resource_new(1, 9), Ok(2));
    for rep in 0..3 {
        tables.resource_new(2, rep).unwrap();
    }
    assert!(tables.resource_new(2, 3).is_err());
}

#[test]
fn unknown_and_dropped_handles_trap() {
    let mut tables = ResourceTables::new(&resource_plan());
    assert_eq!(
        trap_message(tables.resource_rep(0, 7)),
        "unknown handle index 7"
    );
    assert_eq!(
        trap_message(tables.resource_drop(0, 0)),
        "unknown handle index 0"
    );
    let handle = tables.resource_new(0, 1).unwrap();
    tables.resource_drop(0, handle).unwrap();
    assert_eq!(
        trap_message(tables.resource_drop(0, handle)),
        "unknown handle index 1"
    );
    assert_eq!(
        trap_message(tables.lift_own(0, handle)),
        "unknown handle index 1"
    );
}

#[test]
fn a_handle_of_another_resource_type_traps() {
    let mut tables = ResourceTables::new(&resource_plan());
    tables.resource_new(0, 1).unwrap();
    let stream = tables.resource_new(1, 2).unwrap();
    assert_eq!(stream, 2);
    assert_eq!(
        trap_message(tables.resource_rep(0, stream)),
        "handle 2 is of another resource type (wasi:io/streams#output-stream, expected guest-thing)"
    );
    assert_eq!(
        trap_message(tables.resource_drop(0, stream)),
        "handle 2 is of another resource type (wasi:io/streams#output-stream, expected guest-thing)"
    );
    // Still there, and still its own type's.
    assert_eq!(tables.resource_rep(1, stream), Ok(2));
}

#[test]
fn borrows_are_not_owns_and_lent_handles_cannot_be_dropped() {
    let mut tables = ResourceTables::new(&resource_plan());
    let own = tables.resource_new(2, 5).unwrap();
    // The host calls an export of instance 1 with a borrow of a host-side object: the
    // callee gets a borrow handle, which is not an own.
    tables.begin_call();
    let borrowed = tables.lower_borrow(2, 9).unwrap();
    assert_eq!(borrowed, 2);
    assert_eq!(
        trap_message(tables.lift_own(2, borrowed)),
        "handle 2 is a borrow, not an own"
    );
    assert_eq!(tables.resource_rep(2, borrowed), Ok(9));
    // Instance 1 passes its own handle as a borrow to a host import: lent for that call.
    tables.begin_call();
    assert_eq!(tables.lift_borrow(2, own), Ok(5));
    assert_eq!(
        trap_message(tables.resource_drop(2, own)),
        "resource handle 1 dropped while lent out (1 borrows)"
    );
    assert_eq!(
        trap_message(tables.lift_own(2, own)),
        "resource handle 1 dropped while lent out (1 borrows)"
    );
    tables.end_call().unwrap();
    // The inner call returned: the loan is over.
    assert_eq!(tables.resource_drop(2, borrowed), Ok(None));
    tables.end_call().unwrap();
    assert_eq!(
        tables.resource_drop(2, own),
        Ok(Some(DroppedOwn {
            resource: 0,
            rep: 5
        }))
    );
}

#[test]
fn a_borrow_must_be_dropped_before_its_call_returns() {
    let mut tables = ResourceTables::new(&resource_plan());
    tables.begin_call();
    tables.lower_borrow(2, 1).unwrap();
    let second = tables.lower_borrow(2, 2).unwrap();
    tables.resource_drop(2, second).unwrap();
    assert_eq!(
        trap_message(tables.end_call()),
        "borrowed handle not dropped before the call returned (1 left)"
    );
    // Outside any call no borrow can be made.
    assert_eq!(
        trap_message(tables.lower_borrow(2, 3)),
        "a borrow outside of any call"
    );
}

#[test]
fn the_defining_instance_borrows_its_own_representation() {
    let mut tables = ResourceTables::new(&resource_plan());
    tables.begin_call();
    // Instance 0 defines resource 0: a borrow lowered into it is the representation.
    assert_eq!(tables.lower_borrow(0, 77), Ok(77));
    tables.end_call().unwrap();
}

#[test]
fn owns_transfer_and_borrows_lend_between_instances() {
    let mut tables = ResourceTables::new(&resource_plan());
    let own = tables.resource_new(0, 8).unwrap();
    let moved = tables.transfer_own(own, 0, 2).unwrap();
    assert_eq!(tables.resource_rep(2, moved), Ok(8));
    assert_eq!(
        trap_message(tables.resource_rep(0, own)),
        "unknown handle index 1"
    );
    // Lending instance 1's handle back to instance 0, which defines the resource: the
    // representation, and the handle lent until the call ends.
    tables.begin_call();
    assert_eq!(tables.transfer_borrow(moved, 2, 0), Ok(8));
    assert!(matches!(
        tables.resource_drop(2, moved),
        Err(ComponentTrap::LentOut { .. })
    ));
    tables.end_call().unwrap();
    tables.resource_drop(2, moved).unwrap();
}

#[test]
fn own_and_borrow_parameters_go_through_the_tables() {
    // A host import taking (own<output-stream>, borrow<output-stream>) and returning an
    // own<output-stream>, called by instance 0 (table 1).
    let mut types = TypeTable::default();
    let own = def(&mut types, DefinedType::Own(1));
    let borrow = def(&mut types, DefinedType::Borrow(1));
    let f = func(&mut types, vec![own, borrow], vec![own]);
    let mut tables = ResourceTables::new(&resource_plan());
    let given = tables.resource_new(1, 100).unwrap();
    let lent = tables.resource_new(1, 200).unwrap();
    let mut memory = TestMemory::new(1 << 16);
    tables.begin_call();
    let (args, results) = {
        let mut cx = Context {
            types: &types,
            memory: Some(&mut memory),
            handles: &mut tables,
            hostcall_fuel: u64::MAX,
        };
        let core = [given, lent].map(|h| ValRaw::from_u64(u64::from(h)));
        let args = lift_params(&mut cx, f, &core).unwrap();
        let results = lower_results(&mut cx, f, &[V::Own(300)], &core).unwrap();
        (args, results)
    };
    assert_eq!(args, [V::Own(100), V::Borrow(200)]);
    // The own handle left the guest's table and its index was reused for the result.
    assert_eq!(results, [ValRaw::from_u64(u64::from(given))]);
    assert_eq!(tables.resource_rep(1, given), Ok(300));
    assert!(matches!(
        tables.resource_drop(1, lent),
        Err(ComponentTrap::LentOut { .. })
    ));
    tables.end_call().unwrap();
    assert_eq!(
        tables.resource_drop(1, lent),
        Ok(Some(DroppedOwn {
            resource: 1,
            rep: 200
        }))
    );
}

// ---------------------------------------------------------------------------------------
// Random hostile input
// ---------------------------------------------------------------------------------------

#[test]
fn random_memory_and_flat_values_lift_or_trap_but_never_panic() {
    // Types that nest every kind of value, read from random bytes and random flat values
    // (small pointers and lengths often enough to get past the bounds checks).
    let mut types = TypeTable::default();
    let bytes = def(&mut types, DefinedType::List(ValType::U8));
    let maybe = def(&mut types, DefinedType::Option(bytes));
    let level = def(&mut types, DefinedType::Enum(names(3)));
    let status = def(
        &mut types,
        DefinedType::Result {
            ok: Some(ValType::U32),
            err: Some(level),
        },
    );
    let flags = def(&mut types, DefinedType::Flags(names(33)));
    let mixed = def(
        &mut types,
        DefinedType::Variant(vec![
            ("a".into(), Some(ValType::F32)),
            ("b".into(), Some(ValType::String)),
            ("c".into(), Some(ValType::Char)),
            ("d".into(), None),
        ]),
    );
    let entry = def(
        &mut types,
        DefinedType::Record(vec![
            ("name".into(), ValType::String),
            ("data".into(), maybe),
            ("status".into(), status),
            ("flags".into(), flags),
            ("mixed".into(), mixed),
            ("c".into(), ValType::Char),
        ]),
    );
    let entries = def(&mut types, DefinedType::List(entry));
    let nested = def(&mut types, DefinedType::List(entries));
    let spilled = func(&mut types, vec![entry; 3], vec![]);
    let all = [
        entry,
        entries,
        nested,
        mixed,
        status,
        flags,
        ValType::String,
    ];

    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut lifted, mut trapped) = (0, 0);
    for _ in 0..3000 {
        let mut memory = TestMemory::new(4096);
        for byte in memory.bytes.iter_mut() {
            // Mostly small values, so that lengths and discriminants are often valid.
            let r = next();
            *byte = if r % 4 == 0 {
                r as u8
            } else {
                (r >> 8) as u8 & 0x7
            };
        }
        let flat: Vec<ValRaw> = (0..24)
            .map(|_| {
                let r = next();
                ValRaw::from_u64(match r % 3 {
                    0 => r >> 32,
                    1 => (r >> 8) % 4096,
                    _ => (r >> 8) % 8,
                })
            })
            .collect();
        let ty = all[(next() % all.len() as u64) as usize];
        let ptr = (next() % 4200) as u32;
        for result in with(&types, &mut memory, |cx| {
            [
                load(cx, ty, ptr).map(|_| ()),
                lift_flat(cx, ty, &mut FlatReader::new(&flat)).map(|_| ()),
                lift_params(cx, spilled, &flat).map(|_| ()),
            ]
        }) {
            match result {
                Ok(()) => lifted += 1,
                Err(AbiError::Trap(_)) => trapped += 1,
                Err(other) => panic!("not a trap: {other}"),
            }
        }
    }
    // Both outcomes are exercised.
    assert!(
        lifted > 500 && trapped > 500,
        "{lifted} lifted, {trapped} trapped"
    );
}
