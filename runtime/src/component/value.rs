//! [`ComponentVal`]: the dynamic value of any component type in a plan's
//! [`TypeTable`](kiln_abi::component::TypeTable), what the host sees of a lifted argument
//! and gives for a result to be lowered. A value carries no type: it is read and written
//! against the type the function's signature names (`abi.rs`).

/// A component-level value.
#[derive(Debug, Clone, PartialEq)]
pub enum ComponentVal {
    /// `bool`.
    Bool(bool),
    /// `s8`.
    S8(i8),
    /// `u8`.
    U8(u8),
    /// `s16`.
    S16(i16),
    /// `u16`.
    U16(u16),
    /// `s32`.
    S32(i32),
    /// `u32`.
    U32(u32),
    /// `s64`.
    S64(i64),
    /// `u64`.
    U64(u64),
    /// `f32` (a lifted NaN is the canonical one, `0x7fc00000`).
    F32(f32),
    /// `f64` (a lifted NaN is the canonical one).
    F64(f64),
    /// `char`: a Unicode scalar value.
    Char(char),
    /// `string`.
    String(String),
    /// `list<T>`, for every `T` but `u8`.
    List(Vec<ComponentVal>),
    /// `list<u8>`: lifted as one copy of the guest's bytes rather than a value per byte
    /// (WASI's stream reads and writes are lists of bytes). Lowering `list<u8>` takes this
    /// or a `List` of `U8`s.
    Bytes(Vec<u8>),
    /// `record { ... }`: the fields in declaration order.
    Record(Vec<ComponentVal>),
    /// `tuple<...>`.
    Tuple(Vec<ComponentVal>),
    /// `variant { ... }`: the case's index and its payload, if the case has one.
    Variant {
        /// Index of the case in the type's declaration.
        case: u32,
        /// The payload, present exactly when the case has a type.
        payload: Option<Box<ComponentVal>>,
    },
    /// `enum { ... }`: the case's index.
    Enum(u32),
    /// `option<T>`.
    Option(Option<Box<ComponentVal>>),
    /// `result<T, E>`: `Ok` or `Err`, each with its payload when that side has a type.
    Result(Result<Option<Box<ComponentVal>>, Option<Box<ComponentVal>>>),
    /// `flags { ... }`: flag `i` is bit `i % 32` of word `i / 32`; one word per 32 flags
    /// (none for a type without flags), and no bit set past the type's last flag.
    Flags(Vec<u32>),
    /// `own<R>`: the resource's representation as the host holds it. Lifting takes the
    /// handle out of the guest's table and gives its representation; lowering puts the
    /// representation into a new handle (see `resources.rs`).
    Own(u32),
    /// `borrow<R>`: the representation of the borrowed resource, lent for the call.
    Borrow(u32),
}

impl ComponentVal {
    /// A `flags` value of a type with `n_flags` flags with the flags at `set` indices set.
    /// Indices at or past `n_flags` are ignored.
    pub fn flags(n_flags: usize, set: impl IntoIterator<Item = usize>) -> ComponentVal {
        let mut words = vec![0u32; n_flags.div_ceil(32)];
        for index in set {
            if index < n_flags {
                words[index / 32] |= 1 << (index % 32);
            }
        }
        ComponentVal::Flags(words)
    }

    /// A `variant` value of case `case` with `payload`.
    pub fn variant(case: u32, payload: Option<ComponentVal>) -> ComponentVal {
        ComponentVal::Variant {
            case,
            payload: payload.map(Box::new),
        }
    }

    /// What kind of value this is, for messages (`string`, `list`, `u32`...).
    pub fn kind(&self) -> &'static str {
        match self {
            ComponentVal::Bool(_) => "bool",
            ComponentVal::S8(_) => "s8",
            ComponentVal::U8(_) => "u8",
            ComponentVal::S16(_) => "s16",
            ComponentVal::U16(_) => "u16",
            ComponentVal::S32(_) => "s32",
            ComponentVal::U32(_) => "u32",
            ComponentVal::S64(_) => "s64",
            ComponentVal::U64(_) => "u64",
            ComponentVal::F32(_) => "f32",
            ComponentVal::F64(_) => "f64",
            ComponentVal::Char(_) => "char",
            ComponentVal::String(_) => "string",
            ComponentVal::List(_) => "list",
            ComponentVal::Bytes(_) => "list<u8>",
            ComponentVal::Record(_) => "record",
            ComponentVal::Tuple(_) => "tuple",
            ComponentVal::Variant { .. } => "variant",
            ComponentVal::Enum(_) => "enum",
            ComponentVal::Option(_) => "option",
            ComponentVal::Result(_) => "result",
            ComponentVal::Flags(_) => "flags",
            ComponentVal::Own(_) => "own",
            ComponentVal::Borrow(_) => "borrow",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_pack_into_words_and_ignore_unknown_indices() {
        assert_eq!(ComponentVal::flags(0, [0, 3]), ComponentVal::Flags(vec![]));
        assert_eq!(
            ComponentVal::flags(33, [0, 31, 32, 40]),
            ComponentVal::Flags(vec![0x8000_0001, 1])
        );
    }
}
