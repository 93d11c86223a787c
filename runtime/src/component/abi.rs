//! The canonical ABI (component model, `CanonicalABI.md`) for 32-bit memories and UTF-8
//! strings: how a [`ComponentVal`] lies in linear memory ([`load`], [`store`]) and in flat
//! core values ([`lift_flat`], [`lower_flat`]), and whole parameter and result lists in
//! both directions of a call:
//!
//! ```text
//!  guest ──canon lower──► host import:  lift_params (flat, or one pointer past 16 values)
//!                                       lower_results (flat, or through the return
//!                                       pointer, the import's last core argument)
//!  host ──canon lift──► guest export:   lower_params (flat, or written to memory from
//!                                       cabi_realloc, passed as one pointer)
//!                                       lift_results (flat, or read at the returned pointer)
//! ```
//!
//! Memory is reached through [`GuestMemory`] (an instance's memory and `cabi_realloc` in
//! the runtime, a `Vec<u8>` and a bump allocator in tests) and resource handles through
//! [`Handles`] (the resource tables of `resources.rs`). Every value read from the guest
//! is checked as the specification says, and a failed check is a [`ComponentTrap`] naming
//! what the guest did; nothing the guest controls can make this code panic or allocate
//! before the bounds check of what it would hold: a list's length is checked against the
//! memory before its values are built.
//!
//! Flat values are [`ValRaw`]s, the runtime's raw values, each in its low bits. Variants
//! join their cases' flat types (`i32` with `f32` as `i32`, any other mix as `i64`); as
//! raw bits the joins cost nothing: a lowered `f32` is its bits, an `i32` under an `i64`
//! is zero-extended, and lifting reads the low bits the case's type needs.

use super::trap::{AbiError, ComponentTrap};
use super::value::ComponentVal;
use kiln_abi::component::{
    discriminant_size, DefinedType, FuncType, TypeTable, ValType, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS,
};
use kiln_abi::vmctx::ValRaw;

/// The canonical ABI's limit on a string's or list's byte length (`MAX_STRING_BYTE_LENGTH`,
/// `MAX_LIST_BYTE_LENGTH`).
pub const MAX_BYTE_LENGTH: u64 = (1 << 28) - 1;

/// A guest's linear memory and its allocator, as the canonical options name them.
pub trait GuestMemory {
    /// The memory's bytes, as they are now (a `realloc` may grow them).
    fn bytes(&self) -> &[u8];
    /// The memory's bytes, writable.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Calls the guest's `cabi_realloc(old_ptr, old_size, align, new_size)`. The pointer it
    /// returns is checked by the caller; an error is the guest's own failure (a trap in
    /// `cabi_realloc`), or [`ComponentTrap::NoMemory`] when the options name no realloc.
    fn realloc(
        &mut self,
        old_ptr: u32,
        old_size: u32,
        align: u32,
        new_size: u32,
    ) -> Result<u32, AbiError>;
}

/// The resource handles of the instance whose values are lifted or lowered, for `own` and
/// `borrow` types; `table` is an index into the plan's `resource_tables`. Implemented by
/// `resources::ResourceTables`, whose innermost call the borrows belong to.
pub trait Handles {
    /// Takes an own handle out of the table (the canonical ABI's `lift_own`); returns its
    /// representation.
    fn lift_own(&mut self, table: u32, handle: u32) -> Result<u32, ComponentTrap>;
    /// Lends a handle for the current call (`lift_borrow`); returns its representation.
    fn lift_borrow(&mut self, table: u32, handle: u32) -> Result<u32, ComponentTrap>;
    /// Puts a representation into a new own handle (`lower_own`).
    fn lower_own(&mut self, table: u32, rep: u32) -> Result<u32, ComponentTrap>;
    /// Gives a borrow handle for the current call (`lower_borrow`): the representation
    /// itself when the instance defines the resource.
    fn lower_borrow(&mut self, table: u32, rep: u32) -> Result<u32, ComponentTrap>;
}

/// What lifting and lowering need: the types, the options' memory (`None` when they name
/// none: then no string or list can pass), the instance's resource handles and the
/// hostcall fuel left.
pub struct Context<'a> {
    /// The plan's types.
    pub types: &'a TypeTable,
    /// The memory of the canonical options, with its `cabi_realloc`.
    pub memory: Option<&'a mut dyn GuestMemory>,
    /// The resource handles of the instance on the guest's side.
    pub handles: &'a mut dyn Handles,
    /// Bytes that lifting may still copy or allocate on the host for the guest's strings
    /// and lists (Wasmtime's hostcall fuel): each string costs its length, each
    /// `list<u8>` its length, each other list its length times the size of a
    /// [`ComponentVal`], charged before anything is allocated; past it lifting traps with
    /// [`ComponentTrap::HostcallFuel`]. `u64::MAX` for no limit. Lowering charges
    /// nothing: what the host gives the guest is already the host's.
    pub hostcall_fuel: u64,
}

impl Context<'_> {
    /// Takes `bytes` from the hostcall fuel, or traps when less is left.
    fn consume_fuel(&mut self, bytes: u64) -> Result<(), ComponentTrap> {
        match self.hostcall_fuel.checked_sub(bytes) {
            Some(left) => {
                self.hostcall_fuel = left;
                Ok(())
            }
            None => Err(ComponentTrap::HostcallFuel {
                needed: bytes,
                left: self.hostcall_fuel,
            }),
        }
    }

    fn memory(&mut self, what: &'static str) -> Result<&mut dyn GuestMemory, ComponentTrap> {
        match self.memory.as_deref_mut() {
            Some(memory) => Ok(memory),
            None => Err(ComponentTrap::NoMemory(what)),
        }
    }

    fn memory_size(&self) -> usize {
        self.memory
            .as_deref()
            .map_or(0, |memory| memory.bytes().len())
    }

    /// Traps unless `size` bytes at `ptr` lie in memory and `ptr` is aligned to `align`.
    fn check_range(
        &self,
        what: &str,
        ptr: u32,
        align: u32,
        size: u64,
    ) -> Result<(), ComponentTrap> {
        if !ptr.is_multiple_of(align) {
            return Err(ComponentTrap::Misaligned {
                what: what.to_string(),
                ptr,
                align,
            });
        }
        let memory_size = self.memory_size();
        if u64::from(ptr) + size > memory_size as u64 {
            return Err(ComponentTrap::OutOfBounds {
                what: what.to_string(),
                ptr,
                size,
                memory_size,
            });
        }
        Ok(())
    }

    /// The `N` bytes at `ptr`, checked.
    fn read<const N: usize>(&self, ptr: u32) -> Result<[u8; N], ComponentTrap> {
        self.check_range("value", ptr, 1, N as u64)?;
        let bytes = self.memory.as_deref().map_or(&[][..], |m| m.bytes());
        let start = ptr as usize;
        let mut out = [0u8; N];
        out.copy_from_slice(&bytes[start..start + N]);
        Ok(out)
    }

    /// Writes `data` at `ptr`, checked.
    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), ComponentTrap> {
        self.check_range("value", ptr, 1, data.len() as u64)?;
        let memory = self.memory("value")?;
        let start = ptr as usize;
        memory.bytes_mut()[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn read_u32(&self, ptr: u32) -> Result<u32, ComponentTrap> {
        self.read::<4>(ptr).map(u32::from_le_bytes)
    }

    /// The canonical ABI's `allocate`: `cabi_realloc(0, 0, align, size)`, its result
    /// checked for alignment and bounds.
    fn allocate(&mut self, what: &'static str, align: u32, size: u32) -> Result<u32, AbiError> {
        let ptr = self.memory(what)?.realloc(0, 0, align, size)?;
        if !ptr.is_multiple_of(align) {
            return Err(ComponentTrap::ReallocMisaligned { ptr, align }.into());
        }
        let memory_size = self.memory_size();
        if u64::from(ptr) + u64::from(size) > memory_size as u64 {
            return Err(ComponentTrap::ReallocOutOfBounds {
                ptr,
                size,
                memory_size,
            }
            .into());
        }
        Ok(ptr)
    }

    fn func(&self, index: u32) -> Result<&FuncType, AbiError> {
        self.types
            .funcs
            .get(index as usize)
            .ok_or_else(|| AbiError::Mismatch(format!("no function type {index}")))
    }
}

/// Defined type `index` of `types`, borrowed from the table (not from the context, which
/// lifting and lowering keep using mutably meanwhile).
fn defined(types: &TypeTable, index: u32) -> Result<&DefinedType, AbiError> {
    types
        .defined
        .get(index as usize)
        .ok_or_else(|| AbiError::Mismatch(format!("no defined type {index}")))
}

fn mismatch(ty: ValType, value: &ComponentVal) -> AbiError {
    AbiError::Mismatch(format!("a {} value for type {ty:?}", value.kind()))
}

fn canonical_f32(bits: u32) -> f32 {
    let value = f32::from_bits(bits);
    if value.is_nan() {
        f32::from_bits(0x7fc0_0000)
    } else {
        value
    }
}

fn canonical_f64(bits: u64) -> f64 {
    let value = f64::from_bits(bits);
    if value.is_nan() {
        f64::from_bits(0x7ff8_0000_0000_0000)
    } else {
        value
    }
}

fn char_from(value: u32) -> Result<char, ComponentTrap> {
    char::from_u32(value).ok_or(ComponentTrap::InvalidChar(value))
}

/// The cases of a variant-like type, as (payload type per case), and its kind's name.
fn cases_of(ty: &DefinedType) -> Option<(Vec<Option<ValType>>, &'static str)> {
    match ty {
        DefinedType::Variant(cases) => Some((cases.iter().map(|c| c.1).collect(), "variant")),
        DefinedType::Option(ty) => Some((vec![None, Some(*ty)], "option")),
        DefinedType::Result { ok, err } => Some((vec![*ok, *err], "result")),
        _ => None,
    }
}

fn not_variant(ty: ValType) -> AbiError {
    AbiError::Mismatch(format!("{ty:?} is not a variant, option or result"))
}

/// A variant-like value as (case index, payload).
fn case_of(value: &ComponentVal) -> Option<(u32, Option<&ComponentVal>)> {
    match value {
        ComponentVal::Variant { case, payload } => Some((*case, payload.as_deref())),
        ComponentVal::Option(None) => Some((0, None)),
        ComponentVal::Option(Some(payload)) => Some((1, Some(payload))),
        ComponentVal::Result(Ok(payload)) => Some((0, payload.as_deref())),
        ComponentVal::Result(Err(payload)) => Some((1, payload.as_deref())),
        _ => None,
    }
}

/// Builds a variant-like value of `kind` from its case and payload.
fn make_case(kind: &str, case: u32, payload: Option<ComponentVal>) -> ComponentVal {
    let payload = payload.map(Box::new);
    match (kind, case) {
        ("option", 0) => ComponentVal::Option(None),
        ("option", _) => ComponentVal::Option(payload),
        ("result", 0) => ComponentVal::Result(Ok(payload)),
        ("result", _) => ComponentVal::Result(Err(payload)),
        _ => ComponentVal::Variant { case, payload },
    }
}

/// A variant value's case index, and its payload with the payload's type.
type CheckedCase<'v> = (u32, Option<(ValType, &'v ComponentVal)>);

/// Checks a variant value's case against the type's cases: the index in range and a
/// payload exactly when the case has a type.
fn check_case<'v>(
    ty: ValType,
    cases: &[Option<ValType>],
    value: &'v ComponentVal,
) -> Result<CheckedCase<'v>, AbiError> {
    let (case, payload) = case_of(value).ok_or_else(|| mismatch(ty, value))?;
    match (cases.get(case as usize), payload) {
        (Some(None), None) => Ok((case, None)),
        (Some(Some(case_ty)), Some(payload)) => Ok((case, Some((*case_ty, payload)))),
        _ => Err(AbiError::Mismatch(format!(
            "case {case} of {ty:?} with{} a payload",
            if payload.is_some() { "" } else { "out" }
        ))),
    }
}

fn flat_count(types: &TypeTable, ty: ValType) -> usize {
    let mut flat = Vec::new();
    types.flatten(ty, &mut flat);
    flat.len()
}

/// Bytes of a flags type's words in memory: 0, 1, 2, or 4 per 32 flags.
fn flags_width(n_flags: usize) -> usize {
    match n_flags {
        0 => 0,
        1..=8 => 1,
        9..=16 => 2,
        _ => 4,
    }
}

/// Clears the bits past the last flag (the canonical ABI ignores them).
fn mask_flags(words: &mut [u32], n_flags: usize) {
    for (index, word) in words.iter_mut().enumerate() {
        let first = index * 32;
        if n_flags < first + 32 {
            *word &= (1u64 << (n_flags - first)).wrapping_sub(1) as u32;
        }
    }
}

fn check_flags(ty: ValType, n_flags: usize, value: &ComponentVal) -> Result<&[u32], AbiError> {
    match value {
        ComponentVal::Flags(words) if words.len() == n_flags.div_ceil(32) => Ok(words),
        _ => Err(mismatch(ty, value)),
    }
}

// ---------------------------------------------------------------------------------------
// Memory: load and store
// ---------------------------------------------------------------------------------------

/// Reads a value of type `ty` at `ptr` (the canonical ABI's `load`), after checking that
/// the whole value lies in memory and `ptr` is aligned for it.
pub fn load(cx: &mut Context<'_>, ty: ValType, ptr: u32) -> Result<ComponentVal, AbiError> {
    let layout = cx.types.layout(ty);
    cx.check_range("value", ptr, layout.align, u64::from(layout.size))?;
    load_at(cx, ty, ptr)
}

/// Writes `value` of type `ty` at `ptr` (the canonical ABI's `store`), after checking that
/// the whole value fits in memory there and `ptr` is aligned for it.
pub fn store(
    cx: &mut Context<'_>,
    ty: ValType,
    ptr: u32,
    value: &ComponentVal,
) -> Result<(), AbiError> {
    let layout = cx.types.layout(ty);
    cx.check_range("value", ptr, layout.align, u64::from(layout.size))?;
    store_at(cx, ty, ptr, value)
}

/// `load` without the whole-value check: every read is still checked on its own.
fn load_at(cx: &mut Context<'_>, ty: ValType, ptr: u32) -> Result<ComponentVal, AbiError> {
    Ok(match ty {
        ValType::Bool => ComponentVal::Bool(cx.read::<1>(ptr)?[0] != 0),
        ValType::S8 => ComponentVal::S8(cx.read::<1>(ptr)?[0] as i8),
        ValType::U8 => ComponentVal::U8(cx.read::<1>(ptr)?[0]),
        ValType::S16 => ComponentVal::S16(i16::from_le_bytes(cx.read(ptr)?)),
        ValType::U16 => ComponentVal::U16(u16::from_le_bytes(cx.read(ptr)?)),
        ValType::S32 => ComponentVal::S32(i32::from_le_bytes(cx.read(ptr)?)),
        ValType::U32 => ComponentVal::U32(cx.read_u32(ptr)?),
        ValType::S64 => ComponentVal::S64(i64::from_le_bytes(cx.read(ptr)?)),
        ValType::U64 => ComponentVal::U64(u64::from_le_bytes(cx.read(ptr)?)),
        ValType::F32 => ComponentVal::F32(canonical_f32(cx.read_u32(ptr)?)),
        ValType::F64 => ComponentVal::F64(canonical_f64(u64::from_le_bytes(cx.read(ptr)?))),
        ValType::Char => ComponentVal::Char(char_from(cx.read_u32(ptr)?)?),
        ValType::String => {
            let (begin, len) = (cx.read_u32(ptr)?, cx.read_u32(ptr + 4)?);
            ComponentVal::String(load_string(cx, begin, len)?)
        }
        ValType::Defined(index) => match defined(cx.types, index)? {
            &DefinedType::List(elem) => {
                let (begin, len) = (cx.read_u32(ptr)?, cx.read_u32(ptr + 4)?);
                load_list(cx, elem, begin, len)?
            }
            DefinedType::Record(fields) => {
                ComponentVal::Record(load_fields(cx, ptr, fields.iter().map(|f| f.1))?)
            }
            DefinedType::Tuple(types) => {
                ComponentVal::Tuple(load_fields(cx, ptr, types.iter().copied())?)
            }
            DefinedType::Enum(names) => {
                let value = load_discriminant(cx, ptr, names.len())?;
                if value as usize >= names.len() {
                    return Err(ComponentTrap::Discriminant {
                        kind: "enum",
                        value,
                        cases: names.len(),
                    }
                    .into());
                }
                ComponentVal::Enum(value)
            }
            DefinedType::Flags(names) => {
                let n_flags = names.len();
                let mut words = match flags_width(n_flags) {
                    0 => Vec::new(),
                    1 => vec![u32::from(cx.read::<1>(ptr)?[0])],
                    2 => vec![u32::from(u16::from_le_bytes(cx.read(ptr)?))],
                    _ => (0..n_flags.div_ceil(32) as u32)
                        .map(|i| cx.read_u32(ptr + 4 * i))
                        .collect::<Result<_, _>>()?,
                };
                mask_flags(&mut words, n_flags);
                ComponentVal::Flags(words)
            }
            &DefinedType::Own(table) => {
                let handle = cx.read_u32(ptr)?;
                ComponentVal::Own(cx.handles.lift_own(table, handle)?)
            }
            &DefinedType::Borrow(table) => {
                let handle = cx.read_u32(ptr)?;
                ComponentVal::Borrow(cx.handles.lift_borrow(table, handle)?)
            }
            defined @ (DefinedType::Variant(_)
            | DefinedType::Option(_)
            | DefinedType::Result { .. }) => {
                let (cases, kind) = cases_of(defined).ok_or_else(|| not_variant(ty))?;
                let value = load_discriminant(cx, ptr, cases.len())?;
                let Some(case) = cases.get(value as usize) else {
                    return Err(ComponentTrap::Discriminant {
                        kind,
                        value,
                        cases: cases.len(),
                    }
                    .into());
                };
                let payload = match case {
                    None => None,
                    Some(case_ty) => {
                        let offset = cx.types.payload_offset(cases.iter().copied(), cases.len());
                        Some(load_at(cx, *case_ty, ptr + offset)?)
                    }
                };
                make_case(kind, value, payload)
            }
        },
    })
}

fn load_discriminant(cx: &Context<'_>, ptr: u32, n_cases: usize) -> Result<u32, ComponentTrap> {
    Ok(match discriminant_size(n_cases) {
        1 => u32::from(cx.read::<1>(ptr)?[0]),
        2 => u32::from(u16::from_le_bytes(cx.read(ptr)?)),
        _ => cx.read_u32(ptr)?,
    })
}

fn load_fields(
    cx: &mut Context<'_>,
    ptr: u32,
    types: impl Iterator<Item = ValType> + Clone,
) -> Result<Vec<ComponentVal>, AbiError> {
    let offsets = cx.types.field_offsets(types.clone());
    types
        .zip(offsets)
        .map(|(ty, offset)| load_at(cx, ty, ptr + offset))
        .collect()
}

/// A string's bytes at `ptr` (the canonical ABI's `load_string_from_range`): length
/// limit, bounds, UTF-8.
fn load_string(cx: &mut Context<'_>, ptr: u32, len: u32) -> Result<String, ComponentTrap> {
    if cx.memory.is_none() {
        return Err(ComponentTrap::NoMemory("string"));
    }
    if u64::from(len) > MAX_BYTE_LENGTH {
        return Err(ComponentTrap::TooLong {
            what: "string".into(),
            length: len,
        });
    }
    cx.check_range("string", ptr, 1, u64::from(len))?;
    cx.consume_fuel(u64::from(len))?;
    let bytes = cx.memory.as_deref().map_or(&[][..], |m| m.bytes());
    let bytes = &bytes[ptr as usize..ptr as usize + len as usize];
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(error) => Err(ComponentTrap::InvalidUtf8 {
            ptr,
            len,
            valid_up_to: error.valid_up_to(),
        }),
    }
}

/// A list's elements at `ptr` (`load_list_from_range`): length limit, alignment, bounds
/// and hostcall fuel, all checked before anything is allocated. A `list<u8>` is
/// [`ComponentVal::Bytes`], one copy of the guest's bytes.
fn load_list(
    cx: &mut Context<'_>,
    elem: ValType,
    ptr: u32,
    len: u32,
) -> Result<ComponentVal, AbiError> {
    if cx.memory.is_none() {
        return Err(ComponentTrap::NoMemory("list").into());
    }
    let layout = cx.types.layout(elem);
    // Zero-sized elements (of types WIT cannot write: empty flags, records, tuples) are
    // checked as if they took one byte each, so that a hostile length cannot make the
    // host build billions of empty values out of no memory at all.
    let size = u64::from(len) * u64::from(layout.size.max(1));
    if size > MAX_BYTE_LENGTH {
        return Err(ComponentTrap::TooLong {
            what: "list".into(),
            length: len,
        }
        .into());
    }
    cx.check_range("list", ptr, layout.align, size)?;
    // What the host allocates: the bytes themselves for `list<u8>`, a value per element
    // otherwise (their own strings and lists are charged as they are read).
    let host_size = match elem {
        ValType::U8 => u64::from(len),
        _ => u64::from(len) * std::mem::size_of::<ComponentVal>() as u64,
    };
    cx.consume_fuel(host_size)?;
    if elem == ValType::U8 {
        let bytes = cx.memory.as_deref().map_or(&[][..], |m| m.bytes());
        return Ok(ComponentVal::Bytes(
            bytes[ptr as usize..ptr as usize + len as usize].to_vec(),
        ));
    }
    let mut values = Vec::with_capacity(len as usize);
    for index in 0..len {
        values.push(load_at(cx, elem, ptr + index * layout.size)?);
    }
    Ok(ComponentVal::List(values))
}

/// `store` without the whole-value check: every write is still checked on its own.
fn store_at(
    cx: &mut Context<'_>,
    ty: ValType,
    ptr: u32,
    value: &ComponentVal,
) -> Result<(), AbiError> {
    match (ty, value) {
        (ValType::Bool, ComponentVal::Bool(v)) => cx.write(ptr, &[u8::from(*v)])?,
        (ValType::S8, ComponentVal::S8(v)) => cx.write(ptr, &v.to_le_bytes())?,
        (ValType::U8, ComponentVal::U8(v)) => cx.write(ptr, &[*v])?,
        (ValType::S16, ComponentVal::S16(v)) => cx.write(ptr, &v.to_le_bytes())?,
        (ValType::U16, ComponentVal::U16(v)) => cx.write(ptr, &v.to_le_bytes())?,
        (ValType::S32, ComponentVal::S32(v)) => cx.write(ptr, &v.to_le_bytes())?,
        (ValType::U32, ComponentVal::U32(v)) => cx.write(ptr, &v.to_le_bytes())?,
        (ValType::S64, ComponentVal::S64(v)) => cx.write(ptr, &v.to_le_bytes())?,
        (ValType::U64, ComponentVal::U64(v)) => cx.write(ptr, &v.to_le_bytes())?,
        (ValType::F32, ComponentVal::F32(v)) => cx.write(ptr, &v.to_bits().to_le_bytes())?,
        (ValType::F64, ComponentVal::F64(v)) => cx.write(ptr, &v.to_bits().to_le_bytes())?,
        (ValType::Char, ComponentVal::Char(v)) => cx.write(ptr, &u32::from(*v).to_le_bytes())?,
        (ValType::String, ComponentVal::String(text)) => {
            let (begin, len) = store_string(cx, text)?;
            cx.write(ptr, &begin.to_le_bytes())?;
            cx.write(ptr + 4, &len.to_le_bytes())?;
        }
        (ValType::Defined(index), value) => match (defined(cx.types, index)?, value) {
            (&DefinedType::List(elem), value) => {
                let (begin, len) = store_list(cx, ty, elem, value)?;
                cx.write(ptr, &begin.to_le_bytes())?;
                cx.write(ptr + 4, &len.to_le_bytes())?;
            }
            (DefinedType::Record(fields), ComponentVal::Record(values)) => {
                let types: Vec<ValType> = fields.iter().map(|f| f.1).collect();
                store_fields(cx, ty, ptr, &types, values)?
            }
            (DefinedType::Tuple(types), ComponentVal::Tuple(values)) => {
                store_fields(cx, ty, ptr, types, values)?
            }
            (DefinedType::Enum(names), ComponentVal::Enum(case))
                if (*case as usize) < names.len() =>
            {
                store_discriminant(cx, ptr, names.len(), *case)?
            }
            (DefinedType::Flags(names), value) => {
                let mut words = check_flags(ty, names.len(), value)?.to_vec();
                mask_flags(&mut words, names.len());
                match flags_width(names.len()) {
                    0 => {}
                    1 => cx.write(ptr, &[words[0] as u8])?,
                    2 => cx.write(ptr, &(words[0] as u16).to_le_bytes())?,
                    _ => {
                        for (i, word) in words.iter().enumerate() {
                            cx.write(ptr + 4 * i as u32, &word.to_le_bytes())?;
                        }
                    }
                }
            }
            (&DefinedType::Own(table), ComponentVal::Own(rep)) => {
                let handle = cx.handles.lower_own(table, *rep)?;
                cx.write(ptr, &handle.to_le_bytes())?
            }
            (&DefinedType::Borrow(table), ComponentVal::Borrow(rep)) => {
                let handle = cx.handles.lower_borrow(table, *rep)?;
                cx.write(ptr, &handle.to_le_bytes())?
            }
            (
                defined @ (DefinedType::Variant(_)
                | DefinedType::Option(_)
                | DefinedType::Result { .. }),
                value,
            ) => {
                let (cases, _) = cases_of(defined).ok_or_else(|| not_variant(ty))?;
                let (case, payload) = check_case(ty, &cases, value)?;
                store_discriminant(cx, ptr, cases.len(), case)?;
                if let Some((case_ty, payload)) = payload {
                    let offset = cx.types.payload_offset(cases.iter().copied(), cases.len());
                    store_at(cx, case_ty, ptr + offset, payload)?;
                }
            }
            _ => return Err(mismatch(ty, value)),
        },
        _ => return Err(mismatch(ty, value)),
    }
    Ok(())
}

fn store_discriminant(
    cx: &mut Context<'_>,
    ptr: u32,
    n_cases: usize,
    case: u32,
) -> Result<(), ComponentTrap> {
    match discriminant_size(n_cases) {
        1 => cx.write(ptr, &[case as u8]),
        2 => cx.write(ptr, &(case as u16).to_le_bytes()),
        _ => cx.write(ptr, &case.to_le_bytes()),
    }
}

fn store_fields(
    cx: &mut Context<'_>,
    ty: ValType,
    ptr: u32,
    types: &[ValType],
    values: &[ComponentVal],
) -> Result<(), AbiError> {
    if types.len() != values.len() {
        return Err(AbiError::Mismatch(format!(
            "{} fields for {ty:?} of {}",
            values.len(),
            types.len()
        )));
    }
    let offsets = cx.types.field_offsets(types.iter().copied());
    for ((&ty, value), offset) in types.iter().zip(values).zip(offsets) {
        store_at(cx, ty, ptr + offset, value)?;
    }
    Ok(())
}

/// Copies a string into memory from `cabi_realloc` (`store_string_copy`); returns its
/// address and length.
fn store_string(cx: &mut Context<'_>, text: &str) -> Result<(u32, u32), AbiError> {
    let len = u32::try_from(text.len())
        .ok()
        .filter(|&len| u64::from(len) <= MAX_BYTE_LENGTH)
        .ok_or_else(|| AbiError::Mismatch(format!("a string of {} bytes", text.len())))?;
    let ptr = cx.allocate("string", 1, len)?;
    cx.write(ptr, text.as_bytes())?;
    Ok((ptr, len))
}

/// Copies a list (a [`ComponentVal::List`], or [`ComponentVal::Bytes`] for `list<u8>`)
/// into memory from `cabi_realloc` (`store_list_into_range`); returns its address and
/// length.
fn store_list(
    cx: &mut Context<'_>,
    ty: ValType,
    elem: ValType,
    value: &ComponentVal,
) -> Result<(u32, u32), AbiError> {
    let n_values = match value {
        ComponentVal::List(values) => values.len(),
        ComponentVal::Bytes(bytes) if elem == ValType::U8 => bytes.len(),
        _ => return Err(mismatch(ty, value)),
    };
    let layout = cx.types.layout(elem);
    let byte_length = n_values as u64 * u64::from(layout.size);
    let (Ok(len), Ok(byte_length)) = (u32::try_from(n_values), u32::try_from(byte_length)) else {
        return Err(AbiError::Mismatch(format!(
            "a list of {n_values} elements of {} bytes",
            layout.size
        )));
    };
    let ptr = cx.allocate("list", layout.align, byte_length)?;
    match value {
        ComponentVal::Bytes(bytes) => cx.write(ptr, bytes)?,
        ComponentVal::List(values) => {
            for (index, value) in values.iter().enumerate() {
                store_at(cx, elem, ptr + index as u32 * layout.size, value)?;
            }
        }
        _ => return Err(mismatch(ty, value)),
    }
    Ok((ptr, len))
}

// ---------------------------------------------------------------------------------------
// Flat values: lift_flat and lower_flat
// ---------------------------------------------------------------------------------------

/// Flat core values being lifted, read in order.
pub struct FlatReader<'a> {
    values: &'a [ValRaw],
    next: usize,
}

impl<'a> FlatReader<'a> {
    /// A reader of `values` from the first.
    pub fn new(values: &'a [ValRaw]) -> FlatReader<'a> {
        FlatReader { values, next: 0 }
    }

    fn next(&mut self) -> Result<ValRaw, AbiError> {
        let value = self.values.get(self.next).copied().ok_or_else(|| {
            AbiError::Mismatch(format!(
                "{} core values, fewer than the type needs",
                self.values.len()
            ))
        })?;
        self.next += 1;
        Ok(value)
    }

    fn next_u32(&mut self) -> Result<u32, AbiError> {
        self.next().map(ValRaw::u32)
    }
}

/// Lifts a value of type `ty` from flat core values (the canonical ABI's `lift_flat`).
pub fn lift_flat(
    cx: &mut Context<'_>,
    ty: ValType,
    flat: &mut FlatReader<'_>,
) -> Result<ComponentVal, AbiError> {
    Ok(match ty {
        ValType::Bool => ComponentVal::Bool(flat.next_u32()? != 0),
        ValType::S8 => ComponentVal::S8(flat.next_u32()? as i8),
        ValType::U8 => ComponentVal::U8(flat.next_u32()? as u8),
        ValType::S16 => ComponentVal::S16(flat.next_u32()? as i16),
        ValType::U16 => ComponentVal::U16(flat.next_u32()? as u16),
        ValType::S32 => ComponentVal::S32(flat.next_u32()? as i32),
        ValType::U32 => ComponentVal::U32(flat.next_u32()?),
        ValType::S64 => ComponentVal::S64(flat.next()?.u64() as i64),
        ValType::U64 => ComponentVal::U64(flat.next()?.u64()),
        ValType::F32 => ComponentVal::F32(canonical_f32(flat.next_u32()?)),
        ValType::F64 => ComponentVal::F64(canonical_f64(flat.next()?.u64())),
        ValType::Char => ComponentVal::Char(char_from(flat.next_u32()?)?),
        ValType::String => {
            let (ptr, len) = (flat.next_u32()?, flat.next_u32()?);
            ComponentVal::String(load_string(cx, ptr, len)?)
        }
        ValType::Defined(index) => match defined(cx.types, index)? {
            &DefinedType::List(elem) => {
                let (ptr, len) = (flat.next_u32()?, flat.next_u32()?);
                load_list(cx, elem, ptr, len)?
            }
            DefinedType::Record(fields) => ComponentVal::Record(
                fields
                    .iter()
                    .map(|f| lift_flat(cx, f.1, flat))
                    .collect::<Result<_, _>>()?,
            ),
            DefinedType::Tuple(types) => ComponentVal::Tuple(
                types
                    .iter()
                    .map(|&ty| lift_flat(cx, ty, flat))
                    .collect::<Result<_, _>>()?,
            ),
            DefinedType::Enum(names) => {
                let value = flat.next_u32()?;
                if value as usize >= names.len() {
                    return Err(ComponentTrap::Discriminant {
                        kind: "enum",
                        value,
                        cases: names.len(),
                    }
                    .into());
                }
                ComponentVal::Enum(value)
            }
            DefinedType::Flags(names) => {
                let mut words = (0..names.len().div_ceil(32))
                    .map(|_| flat.next_u32())
                    .collect::<Result<Vec<_>, _>>()?;
                mask_flags(&mut words, names.len());
                ComponentVal::Flags(words)
            }
            &DefinedType::Own(table) => {
                let handle = flat.next_u32()?;
                ComponentVal::Own(cx.handles.lift_own(table, handle)?)
            }
            &DefinedType::Borrow(table) => {
                let handle = flat.next_u32()?;
                ComponentVal::Borrow(cx.handles.lift_borrow(table, handle)?)
            }
            defined @ (DefinedType::Variant(_)
            | DefinedType::Option(_)
            | DefinedType::Result { .. }) => {
                let (cases, kind) = cases_of(defined).ok_or_else(|| not_variant(ty))?;
                let value = flat.next_u32()?;
                let Some(case) = cases.get(value as usize) else {
                    return Err(ComponentTrap::Discriminant {
                        kind,
                        value,
                        cases: cases.len(),
                    }
                    .into());
                };
                // The payload positions: the joined types, less the discriminant.
                let joined = flat_count(cx.types, ty) - 1;
                let start = flat.next;
                let payload = match case {
                    None => None,
                    Some(case_ty) => Some(lift_flat(cx, *case_ty, flat)?),
                };
                // Skip the positions this case does not use.
                for _ in flat.next - start..joined {
                    flat.next()?;
                }
                make_case(kind, value, payload)
            }
        },
    })
}

/// Lowers `value` of type `ty` to flat core values appended to `out` (the canonical ABI's
/// `lower_flat`); strings and lists go to memory from `cabi_realloc`.
pub fn lower_flat(
    cx: &mut Context<'_>,
    ty: ValType,
    value: &ComponentVal,
    out: &mut Vec<ValRaw>,
) -> Result<(), AbiError> {
    let u32_ = |v: u32| ValRaw::from_u64(u64::from(v));
    match (ty, value) {
        (ValType::Bool, ComponentVal::Bool(v)) => out.push(u32_(u32::from(*v))),
        (ValType::S8, ComponentVal::S8(v)) => out.push(u32_(*v as i32 as u32)),
        (ValType::U8, ComponentVal::U8(v)) => out.push(u32_(u32::from(*v))),
        (ValType::S16, ComponentVal::S16(v)) => out.push(u32_(*v as i32 as u32)),
        (ValType::U16, ComponentVal::U16(v)) => out.push(u32_(u32::from(*v))),
        (ValType::S32, ComponentVal::S32(v)) => out.push(u32_(*v as u32)),
        (ValType::U32, ComponentVal::U32(v)) => out.push(u32_(*v)),
        (ValType::S64, ComponentVal::S64(v)) => out.push(ValRaw::from_u64(*v as u64)),
        (ValType::U64, ComponentVal::U64(v)) => out.push(ValRaw::from_u64(*v)),
        (ValType::F32, ComponentVal::F32(v)) => out.push(u32_(v.to_bits())),
        (ValType::F64, ComponentVal::F64(v)) => out.push(ValRaw::from_u64(v.to_bits())),
        (ValType::Char, ComponentVal::Char(v)) => out.push(u32_(u32::from(*v))),
        (ValType::String, ComponentVal::String(text)) => {
            let (ptr, len) = store_string(cx, text)?;
            out.extend([u32_(ptr), u32_(len)]);
        }
        (ValType::Defined(index), value) => match (defined(cx.types, index)?, value) {
            (&DefinedType::List(elem), value) => {
                let (ptr, len) = store_list(cx, ty, elem, value)?;
                out.extend([u32_(ptr), u32_(len)]);
            }
            (DefinedType::Record(fields), ComponentVal::Record(values))
                if fields.len() == values.len() =>
            {
                for ((_, ty), value) in fields.iter().zip(values) {
                    lower_flat(cx, *ty, value, out)?;
                }
            }
            (DefinedType::Tuple(types), ComponentVal::Tuple(values))
                if types.len() == values.len() =>
            {
                for (ty, value) in types.iter().zip(values) {
                    lower_flat(cx, *ty, value, out)?;
                }
            }
            (DefinedType::Enum(names), ComponentVal::Enum(case))
                if (*case as usize) < names.len() =>
            {
                out.push(u32_(*case))
            }
            (DefinedType::Flags(names), value) => {
                let mut words = check_flags(ty, names.len(), value)?.to_vec();
                mask_flags(&mut words, names.len());
                out.extend(words.into_iter().map(u32_));
            }
            (&DefinedType::Own(table), ComponentVal::Own(rep)) => {
                out.push(u32_(cx.handles.lower_own(table, *rep)?))
            }
            (&DefinedType::Borrow(table), ComponentVal::Borrow(rep)) => {
                out.push(u32_(cx.handles.lower_borrow(table, *rep)?))
            }
            (
                defined @ (DefinedType::Variant(_)
                | DefinedType::Option(_)
                | DefinedType::Result { .. }),
                value,
            ) => {
                let (cases, _) = cases_of(defined).ok_or_else(|| not_variant(ty))?;
                let (case, payload) = check_case(ty, &cases, value)?;
                let joined = flat_count(cx.types, ty) - 1;
                out.push(u32_(case));
                let start = out.len();
                if let Some((case_ty, payload)) = payload {
                    // Raw bits need no coercion to the joined types: an f32 is its bits,
                    // an i32 under an i64 is zero-extended by `ValRaw::from_u64`.
                    lower_flat(cx, case_ty, payload, out)?;
                }
                out.resize(start + joined, ValRaw::default());
            }
            _ => return Err(mismatch(ty, value)),
        },
        _ => return Err(mismatch(ty, value)),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Functions: parameters and results in both directions
// ---------------------------------------------------------------------------------------

fn flat_len(types: &TypeTable, tys: &[ValType]) -> usize {
    let mut flat = Vec::new();
    for &ty in tys {
        types.flatten(ty, &mut flat);
    }
    flat.len()
}

/// Lifts a tuple of `tys` from the flat values (when they fit in `max_flat`) or from
/// memory at the one pointer they are passed as (`lift_flat_values`).
fn lift_values(
    cx: &mut Context<'_>,
    what: &str,
    tys: &[ValType],
    max_flat: usize,
    flat: &[ValRaw],
) -> Result<Vec<ComponentVal>, AbiError> {
    let mut reader = FlatReader::new(flat);
    if flat_len(cx.types, tys) > max_flat {
        let ptr = reader.next_u32()?;
        let layout = cx.types.tuple_layout(tys.iter().copied());
        cx.check_range(what, ptr, layout.align, u64::from(layout.size))?;
        let offsets = cx.types.field_offsets(tys.iter().copied());
        tys.iter()
            .zip(offsets)
            .map(|(&ty, offset)| load_at(cx, ty, ptr + offset))
            .collect()
    } else {
        tys.iter()
            .map(|&ty| lift_flat(cx, ty, &mut reader))
            .collect()
    }
}

/// Stores a tuple of `values` of `tys` at `ptr`, checked for alignment and bounds.
fn store_values(
    cx: &mut Context<'_>,
    what: &str,
    tys: &[ValType],
    ptr: u32,
    values: &[ComponentVal],
) -> Result<(), AbiError> {
    let layout = cx.types.tuple_layout(tys.iter().copied());
    cx.check_range(what, ptr, layout.align, u64::from(layout.size))?;
    let offsets = cx.types.field_offsets(tys.iter().copied());
    for ((&ty, value), offset) in tys.iter().zip(values).zip(offsets) {
        store_at(cx, ty, ptr + offset, value)?;
    }
    Ok(())
}

fn check_count(what: &str, tys: &[ValType], values: &[ComponentVal]) -> Result<(), AbiError> {
    if tys.len() == values.len() {
        Ok(())
    } else {
        Err(AbiError::Mismatch(format!(
            "{} {what} for a function of {}",
            values.len(),
            tys.len()
        )))
    }
}

/// A host import's arguments, lifted from the core arguments of its `canon lower`:
/// flat when they flatten to at most [`MAX_FLAT_PARAMS`] values, otherwise read from
/// memory at the first core argument.
pub fn lift_params(
    cx: &mut Context<'_>,
    func: u32,
    core_args: &[ValRaw],
) -> Result<Vec<ComponentVal>, AbiError> {
    let params: Vec<ValType> = cx.func(func)?.params.iter().map(|p| p.1).collect();
    lift_values(cx, "parameters", &params, MAX_FLAT_PARAMS, core_args)
}

/// A host import's results, lowered for its `canon lower`: returned as flat core values
/// when they flatten to at most [`MAX_FLAT_RESULTS`], otherwise written through the
/// return pointer, the last of `core_args` (and then no core value is returned).
pub fn lower_results(
    cx: &mut Context<'_>,
    func: u32,
    results: &[ComponentVal],
    core_args: &[ValRaw],
) -> Result<Vec<ValRaw>, AbiError> {
    let tys = cx.func(func)?.results.clone();
    check_count("results", &tys, results)?;
    let mut out = Vec::new();
    if flat_len(cx.types, &tys) > MAX_FLAT_RESULTS {
        let ptr = core_args
            .last()
            .ok_or_else(|| AbiError::Mismatch("no return pointer argument".into()))?
            .u32();
        store_values(cx, "results", &tys, ptr, results)?;
    } else {
        for (&ty, value) in tys.iter().zip(results) {
            lower_flat(cx, ty, value, &mut out)?;
        }
    }
    Ok(out)
}

/// Arguments for a call of a lifted export, lowered to its core parameters: flat when they
/// flatten to at most [`MAX_FLAT_PARAMS`] values, otherwise written to memory from
/// `cabi_realloc` and passed as one pointer.
pub fn lower_params(
    cx: &mut Context<'_>,
    func: u32,
    args: &[ComponentVal],
) -> Result<Vec<ValRaw>, AbiError> {
    let tys: Vec<ValType> = cx.func(func)?.params.iter().map(|p| p.1).collect();
    check_count("arguments", &tys, args)?;
    let mut out = Vec::new();
    if flat_len(cx.types, &tys) > MAX_FLAT_PARAMS {
        let layout = cx.types.tuple_layout(tys.iter().copied());
        let ptr = cx.allocate("parameters", layout.align, layout.size)?;
        store_values(cx, "parameters", &tys, ptr, args)?;
        out.push(ValRaw::from_u64(u64::from(ptr)));
    } else {
        for (&ty, value) in tys.iter().zip(args) {
            lower_flat(cx, ty, value, &mut out)?;
        }
    }
    Ok(out)
}

/// A lifted export's results, lifted from its core results: flat when they flatten to at
/// most [`MAX_FLAT_RESULTS`] values, otherwise read from memory at the returned pointer.
pub fn lift_results(
    cx: &mut Context<'_>,
    func: u32,
    core_results: &[ValRaw],
) -> Result<Vec<ComponentVal>, AbiError> {
    let tys = cx.func(func)?.results.clone();
    lift_values(cx, "results", &tys, MAX_FLAT_RESULTS, core_results)
}
