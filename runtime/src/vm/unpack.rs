//! Unpacking compressed strings (`kiln_abi::packed`): an active data segment straight
//! into linear memory at instantiation, the code tables when the module is registered
//! (`vm/module.rs`), the function names the first time a function is named.
//!
//! Executables link each on demand (`vm/linked.rs`, [`super::linked::UNPACK_DATA`],
//! [`super::linked::UNPACK_CODE_TABLES`] and [`super::linked::UNPACK_NAMES`]), with the LZ4 decoder: only when their module stores
//! such a string compressed, which a module with little data (a hello) does not, so its
//! executable has neither the decoder nor the unpacked names' allocation.

use kiln_abi::packed::Packed;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Writes `packed` into `out` (exactly its unpacked length); whether it unpacked.
#[cfg_attr(feature = "exe-main", export_name = "kiln_unpack_data")]
fn unpack_data(packed: &Packed<'_>, out: &mut [u8]) -> bool {
    packed.unpack_into(out).is_ok()
}

/// The names `packed` unpacked, kept in `unpacked` (null until the first call, then the
/// leaked bytes, `packed.len()` of them); `None` when they do not unpack. Two threads may
/// both unpack; the first to publish its copy wins, the other frees its own.
#[cfg_attr(feature = "exe-main", export_name = "kiln_unpack_names")]
fn unpack_names(packed: &Packed<'static>, unpacked: &AtomicPtr<u8>) -> Option<&'static [u8]> {
    let len = packed.len();
    let mut names = unpacked.load(Ordering::Acquire);
    if names.is_null() {
        let bytes = packed.to_vec().ok()?.into_boxed_slice();
        let mine = Box::into_raw(bytes).cast::<u8>();
        names = match unpacked.compare_exchange(
            ptr::null_mut(),
            mine,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => mine,
            Err(first) => {
                // SAFETY: `mine` is the `len`-byte box leaked just above, which nothing
                // else saw: the exchange failed.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(mine, len)) });
                first
            }
        };
    }
    // SAFETY: `names` holds `len` bytes (every caller unpacks the same `packed`), never
    // written after they were published and never freed.
    Some(unsafe { std::slice::from_raw_parts(names, len) })
}

/// The code tables `packed` unpacked into bytes that live as long as the program, as the
/// module's leaked metadata does (the code registry keeps `'static` tables); `None` when
/// they do not unpack.
#[cfg_attr(feature = "exe-main", export_name = "kiln_unpack_code_tables")]
fn unpack_code_tables(packed: &Packed<'_>) -> Option<&'static [u8]> {
    let tables = packed.to_vec().ok()?;
    Some(Box::leak(tables.into_boxed_slice()))
}

type UnpackData = fn(&Packed<'_>, &mut [u8]) -> bool;
type UnpackCodeTables = fn(&Packed<'_>) -> Option<&'static [u8]>;
type UnpackNames = fn(&Packed<'static>, &AtomicPtr<u8>) -> Option<&'static [u8]>;

#[cfg(feature = "exe-main")]
super::linked::linked_part!(kiln_linked_unpack_data, fn linked_unpack_data() -> Option<UnpackData>);
#[cfg(feature = "exe-main")]
super::linked::linked_part!(
    kiln_linked_unpack_names,
    fn linked_unpack_names() -> Option<UnpackNames>
);

#[cfg(feature = "exe-main")]
super::linked::linked_part!(
    kiln_linked_unpack_code_tables,
    fn linked_unpack_code_tables() -> Option<UnpackCodeTables>
);

#[cfg(not(feature = "exe-main"))]
fn linked_unpack_data() -> Option<UnpackData> {
    Some(unpack_data)
}
#[cfg(not(feature = "exe-main"))]
fn linked_unpack_code_tables() -> Option<UnpackCodeTables> {
    Some(unpack_code_tables)
}
#[cfg(not(feature = "exe-main"))]
fn linked_unpack_names() -> Option<UnpackNames> {
    Some(unpack_names)
}

/// Writes the compressed `packed` into `out`, its unpacked length; whether it did: not
/// when the bytes are corrupt, nor when the executable lacks the decoder (it was not
/// linked by `kiln build`, which links it whenever the module compresses a data segment).
pub(crate) fn unpack_data_into(packed: &Packed<'_>, out: &mut [u8]) -> bool {
    linked_unpack_data().is_some_and(|unpack| unpack(packed, out))
}

/// The compressed code tables `packed` unpacked; `None` when they do not unpack or the
/// executable lacks the decoder.
pub(crate) fn code_tables(packed: &Packed<'_>) -> Option<&'static [u8]> {
    linked_unpack_code_tables()?(packed)
}

/// The compressed names `packed` unpacked, once, into `unpacked`; `None` when they do not
/// unpack or the executable lacks the decoder.
pub(crate) fn names(packed: &Packed<'static>, unpacked: &AtomicPtr<u8>) -> Option<&'static [u8]> {
    linked_unpack_names()?(packed, unpacked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_bytes() -> Vec<u8> {
        let names: Vec<String> = (0..400)
            .map(|index| format!("core::fmt::builders::DebugStruct::field{index}"))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        kiln_abi::function_names::FunctionNames::encode(&names)
    }

    #[test]
    fn names_unpack_once_and_corrupt_ones_are_none() {
        let plain = names_bytes();
        let stored: &'static [u8] = kiln_abi::packed::compress(&plain).unwrap().leak();
        let packed = Packed {
            unpacked_len: plain.len() as u32,
            bytes: stored,
        };
        let unpacked = AtomicPtr::new(ptr::null_mut());
        let first = names(&packed, &unpacked).unwrap();
        assert_eq!(first, plain);
        let again = names(&packed, &unpacked).unwrap();
        assert_eq!(again.as_ptr(), first.as_ptr(), "unpacked once, then kept");
        let corrupt = Packed {
            bytes: &stored[..stored.len() / 2],
            ..packed
        };
        assert_eq!(names(&corrupt, &AtomicPtr::new(ptr::null_mut())), None);
    }

    #[test]
    fn data_unpacks_into_exactly_its_length() {
        let plain = names_bytes();
        let stored = kiln_abi::packed::compress(&plain).unwrap();
        let packed = Packed {
            unpacked_len: plain.len() as u32,
            bytes: &stored,
        };
        let mut memory = vec![0xaa; plain.len()];
        assert!(unpack_data_into(&packed, &mut memory));
        assert_eq!(memory, plain);
        assert!(!unpack_data_into(&packed, &mut memory[1..]));
        let corrupt = Packed {
            bytes: &stored[..stored.len() - 1],
            ..packed
        };
        assert!(!unpack_data_into(&corrupt, &mut memory));
    }
}
