//! The function names of a module's metadata, for backtraces and perf maps, in a compact
//! encoding: each name split into pieces (a path segment with its `::`, or a run of
//! punctuation such as `<`, ` as ` or `>::`), each distinct piece stored once, and each
//! name a list of piece numbers.
//!
//! Demangled Rust and C++ names repeat their crate and module paths (`core::`, `fmt::`,
//! `<alloc::vec::Vec<`...): the Rust WASI `files` program's 476 names take 21.7 KB as
//! plain strings and 12 KB so. The most frequent pieces get the smallest numbers, one
//! byte each up to 127.
//!
//! ```text
//!   n_pieces                                LEB128
//!   len of each piece, in piece order       LEB128 each
//!   the pieces' bytes, one after the other  (UTF-8 each)
//!   n_names                                 LEB128
//!   each name, by function index:           n_parts LEB128, then each part's piece
//!                                           number, LEB128 (no parts: unnamed)
//! ```
//!
//! A name is looked up by a scan (of the names before it and of the piece lengths), which
//! allocates nothing: names are read only when a trap is reported or a perf map written.
//! The metadata may store these bytes compressed (`packed.rs`, about 11 KB → 7.7 KB for
//! the `files` program); the runtime then unpacks them once, the first time it names a
//! function.
//! Bytes that do not follow the format make a lookup return `None`, never panic.

use crate::leb128;
use std::collections::HashMap;

/// The encoded function names, borrowed from a module's metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FunctionNames<'a> {
    bytes: &'a [u8],
}

/// One name of [`FunctionNames`], printed by `Display`.
#[derive(Clone, Copy, Debug)]
pub struct FunctionName<'a> {
    /// The piece lengths and bytes.
    pieces: Pieces<'a>,
    /// The name's piece numbers, checked to be in range.
    parts: &'a [u8],
    n_parts: u64,
}

#[derive(Clone, Copy, Debug)]
struct Pieces<'a> {
    n_pieces: u64,
    /// From the first piece length on.
    lengths: &'a [u8],
    /// The pieces' bytes.
    bytes: &'a [u8],
}

impl<'a> Pieces<'a> {
    /// Piece `index`, if the lengths before it and its bytes are there and it is UTF-8.
    fn get(&self, index: u64) -> Option<&'a str> {
        if index >= self.n_pieces {
            return None;
        }
        let mut lengths = self.lengths;
        let mut start = 0usize;
        for _ in 0..index {
            let len = usize::try_from(leb128::read(&mut lengths)?).ok()?;
            start = start.checked_add(len)?;
        }
        let len = usize::try_from(leb128::read(&mut lengths)?).ok()?;
        let end = start.checked_add(len)?;
        core::str::from_utf8(self.bytes.get(start..end)?).ok()
    }
}

impl<'a> FunctionNames<'a> {
    /// Names encoded by [`FunctionNames::encode`].
    pub fn new(bytes: &'a [u8]) -> FunctionNames<'a> {
        FunctionNames { bytes }
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Encodes `names` (by function index; empty for an unnamed function).
    pub fn encode(names: &[&str]) -> Vec<u8> {
        let split: Vec<Vec<&str>> = names.iter().map(|name| split(name)).collect();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for piece in split.iter().flatten() {
            *counts.entry(piece).or_default() += 1;
        }
        // Most frequent first; ties by the piece, so the output is deterministic.
        let mut pieces: Vec<(&str, usize)> = counts.into_iter().collect();
        pieces.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let numbers: HashMap<&str, u64> = pieces
            .iter()
            .enumerate()
            .map(|(number, (piece, _))| (*piece, number as u64))
            .collect();
        let mut bytes = Vec::new();
        leb128::write(&mut bytes, pieces.len() as u64);
        for (piece, _) in &pieces {
            leb128::write(&mut bytes, piece.len() as u64);
        }
        for (piece, _) in &pieces {
            bytes.extend_from_slice(piece.as_bytes());
        }
        leb128::write(&mut bytes, names.len() as u64);
        for parts in &split {
            leb128::write(&mut bytes, parts.len() as u64);
            for part in parts {
                leb128::write(&mut bytes, numbers[part]);
            }
        }
        bytes
    }

    /// The pieces, and the bytes after them (the names).
    fn pieces(&self) -> Option<(Pieces<'a>, &'a [u8])> {
        let mut rest = self.bytes;
        let n_pieces = leb128::read(&mut rest)?;
        let lengths = rest;
        let mut total = 0usize;
        for _ in 0..n_pieces {
            let len = usize::try_from(leb128::read(&mut rest)?).ok()?;
            total = total.checked_add(len)?;
        }
        let bytes = rest.get(..total)?;
        Some((
            Pieces {
                n_pieces,
                lengths,
                bytes,
            },
            &rest[total..],
        ))
    }

    /// The name of function `func_index`; `None` when it has none (or the bytes are not
    /// names).
    pub fn get(&self, func_index: u32) -> Option<FunctionName<'a>> {
        let (pieces, mut rest) = self.pieces()?;
        let n_names = leb128::read(&mut rest)?;
        if u64::from(func_index) >= n_names {
            return None;
        }
        for _ in 0..func_index {
            let n_parts = leb128::read(&mut rest)?;
            for _ in 0..n_parts {
                leb128::read(&mut rest)?;
            }
        }
        let n_parts = leb128::read(&mut rest)?;
        let parts = rest;
        for _ in 0..n_parts {
            pieces.get(leb128::read(&mut rest)?)?;
        }
        (n_parts > 0).then_some(FunctionName {
            pieces,
            parts,
            n_parts,
        })
    }
}

impl FunctionName<'_> {
    /// The name's pieces, in order.
    fn pieces(&self) -> impl Iterator<Item = &str> + '_ {
        let mut parts = self.parts;
        // `FunctionNames::get` checked every part, so nothing is left out.
        (0..self.n_parts).filter_map(move |_| self.pieces.get(leb128::read(&mut parts)?))
    }
}

impl core::fmt::Display for FunctionName<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.pieces().try_for_each(|piece| f.write_str(piece))
    }
}

/// `name` cut into pieces: each run of identifier characters with the `::` after it, and
/// each run of other characters.
fn split(name: &str) -> Vec<&str> {
    let is_identifier = |c: char| c.is_alphanumeric() || matches!(c, '_' | '$' | '.');
    let mut pieces = Vec::new();
    let mut rest = name;
    while let Some(first) = rest.chars().next() {
        let identifier = is_identifier(first);
        let mut end = rest
            .find(|c: char| is_identifier(c) != identifier)
            .unwrap_or(rest.len());
        if identifier && rest[end..].starts_with("::") {
            end += 2;
        }
        pieces.push(&rest[..end]);
        rest = &rest[end..];
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<Option<String>> {
        let bytes = FunctionNames::encode(names);
        let decoded = FunctionNames::new(&bytes);
        (0..names.len() as u32 + 1)
            .map(|index| decoded.get(index).map(|name| name.to_string()))
            .collect()
    }

    #[test]
    fn names_round_trip() {
        let list = [
            "",
            "main",
            "<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop",
            "core::fmt::Formatter::pad",
            "core::fmt::write",
            "",
            "std::io::Write::write_all::<&mut [u8]>",
            "operator new(unsigned long)",
            "héllo::wörld",
            "a::",
            "::b",
            "$func17",
        ];
        let expected: Vec<Option<String>> = list
            .iter()
            .map(|name| (!name.is_empty()).then(|| name.to_string()))
            .chain([None])
            .collect();
        assert_eq!(names(&list), expected);
        assert_eq!(names(&[]), vec![None]);
    }

    #[test]
    fn shared_paths_are_stored_once() {
        let list: Vec<String> = (0..100)
            .map(|index| format!("core::fmt::builders::DebugStruct::field{index}"))
            .collect();
        let list: Vec<&str> = list.iter().map(String::as_str).collect();
        let plain: usize = list.iter().map(|name| name.len() + 1).sum();
        let encoded = FunctionNames::encode(&list).len();
        assert!(encoded * 2 < plain, "{encoded} of {plain}");
    }

    #[test]
    fn pieces_are_path_segments_and_punctuation() {
        assert_eq!(
            split("<a::b as c>::d"),
            ["<", "a::", "b", " ", "as", " ", "c", ">::", "d"]
        );
        assert_eq!(split(""), Vec::<&str>::new());
    }

    #[test]
    fn corrupt_names_are_none_not_panics() {
        let bytes = FunctionNames::encode(&["a::b", "c", "a::d"]);
        for len in 0..bytes.len() {
            let names = FunctionNames::new(&bytes[..len]);
            for index in 0..4 {
                let _ = names.get(index).map(|name| name.to_string());
            }
        }
        for index in 0..bytes.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut altered = bytes.clone();
                altered[index] = value;
                let names = FunctionNames::new(&altered);
                for index in 0..4 {
                    let _ = names.get(index).map(|name| name.to_string());
                }
            }
        }
        // A piece number past the pieces.
        let mut bytes = FunctionNames::encode(&["x"]);
        *bytes.last_mut().unwrap() = 5;
        assert!(FunctionNames::new(&bytes).get(0).is_none());
    }
}
