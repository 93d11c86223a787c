//! Static libraries: a minimal writer of the System V (GNU) `ar` format with a symbol
//! index, which GNU ld, gold, lld and `rustc` all require, and a reader for merging an
//! existing archive (the runtime's) into a new one.
//!
//! ```text
//!  "!<arch>\n"
//!  header "/"   symbol index: u32 BE count, u32 BE member-header offsets, NUL-terminated names
//!  header "//"  long member names, each ending in "/\n" (only when a name is over 15 bytes)
//!  header name  member bytes (padded with "\n" to an even length)
//!  ...
//! ```

use object::{Object, ObjectSymbol};

/// One member of an archive.
pub(crate) struct Member {
    pub name: String,
    pub data: Vec<u8>,
}

const MAGIC: &[u8] = b"!<arch>\n";
const HEADER_SIZE: usize = 60;

/// The global symbols `data` defines, if it is an object file.
fn defined_symbols(data: &[u8]) -> Vec<String> {
    let Ok(file) = object::File::parse(data) else {
        return Vec::new();
    };
    file.symbols()
        .filter(|symbol| symbol.is_global() && symbol.is_definition())
        .filter_map(|symbol| symbol.name().ok().map(str::to_owned))
        .filter(|name| !name.is_empty())
        .collect()
}

fn header(name: &str, size: usize) -> Vec<u8> {
    let header = format!(
        "{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n",
        0, 0, 0, "644"
    );
    debug_assert_eq!(header.len(), HEADER_SIZE);
    header.into_bytes()
}

fn padded(size: usize) -> usize {
    size + size % 2
}

/// An archive of `members`, with a symbol index of their global definitions.
pub(crate) fn write(members: &[Member]) -> Vec<u8> {
    // Long names go to the "//" member and are referenced as "/<offset>".
    let mut long_names = Vec::new();
    let names: Vec<String> = members
        .iter()
        .map(|member| {
            if member.name.len() <= 15 && !member.name.contains('/') {
                format!("{}/", member.name)
            } else {
                let reference = format!("/{}", long_names.len());
                long_names.extend_from_slice(member.name.replace('/', "_").as_bytes());
                long_names.extend_from_slice(b"/\n");
                reference
            }
        })
        .collect();
    let symbols: Vec<Vec<String>> = members
        .iter()
        .map(|member| defined_symbols(&member.data))
        .collect();
    let n_symbols: usize = symbols.iter().map(Vec::len).sum();
    let index_size = 4
        + 4 * n_symbols
        + symbols
            .iter()
            .flatten()
            .map(|name| name.len() + 1)
            .sum::<usize>();

    let mut offset = MAGIC.len() + HEADER_SIZE + padded(index_size);
    if !long_names.is_empty() {
        offset += HEADER_SIZE + padded(long_names.len());
    }
    let mut member_offsets = Vec::new();
    for member in members {
        member_offsets.push(offset);
        offset += HEADER_SIZE + padded(member.data.len());
    }

    let mut out = MAGIC.to_vec();
    out.extend(header("/", index_size));
    out.extend((n_symbols as u32).to_be_bytes());
    for (member_symbols, &member_offset) in symbols.iter().zip(&member_offsets) {
        for _ in member_symbols {
            out.extend((member_offset as u32).to_be_bytes());
        }
    }
    for name in symbols.iter().flatten() {
        out.extend(name.as_bytes());
        out.push(0);
    }
    if index_size % 2 == 1 {
        out.push(b'\n');
    }
    if !long_names.is_empty() {
        out.extend(header("//", long_names.len()));
        out.extend(&long_names);
        if long_names.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    for ((member, name), &member_offset) in members.iter().zip(&names).zip(&member_offsets) {
        debug_assert_eq!(out.len(), member_offset);
        out.extend(header(name, member.data.len()));
        out.extend(&member.data);
        if member.data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

/// The members of an existing archive (symbol index and name table excluded).
pub(crate) fn read(archive: &[u8]) -> Result<Vec<Member>, String> {
    let file = object::read::archive::ArchiveFile::parse(archive).map_err(|e| e.to_string())?;
    file.members()
        .map(|member| {
            let member = member.map_err(|e| e.to_string())?;
            Ok(Member {
                name: String::from_utf8_lossy(member.name()).into_owned(),
                data: member.data(archive).map_err(|e| e.to_string())?.to_vec(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_long_names() {
        let members = vec![
            Member {
                name: "a.o".into(),
                data: b"odd".to_vec(),
            },
            Member {
                name: "a-rather-long-member-name.o".into(),
                data: b"even".to_vec(),
            },
        ];
        let bytes = write(&members);
        let back = read(&bytes).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].name, "a.o");
        assert_eq!(back[0].data, b"odd");
        assert_eq!(back[1].name, "a-rather-long-member-name.o");
        assert_eq!(back[1].data, b"even");
    }
}
