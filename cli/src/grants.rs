//! The WASI grants (`--dir`, `--dir-read-only`, `--env`, `--inherit-env`,
//! `--deterministic`, and the network grants of WASI 0.2 components:
//! `--allow-tcp-listen`, `--allow-tcp-connect`, `--allow-udp`, `--allow-ip-name-lookup`,
//! `--inherit-network`), the guest's `--argv0` and initial directory `--cwd`, of `kiln
//! run`, and of `kiln build`, which bakes them into the
//! executable as a small ELF object that defines `kiln_wasi_grants` (format in the
//! runtime's `wasi/grants.rs`), linked beside the module. The executable's `main` reads
//! it; nothing at run time widens it.

use anyhow::{bail, Result};
use clap::Args;
use kiln_abi::builtins::Builtin;
use kiln_runtime::linked::{self, LinkedPart};
use kiln_runtime::wasi::{AddressPattern, Grants, NetworkGrants, GRANTS_SYMBOL, IMPORTS_SYMBOL};
use object::write::{Object, Relocation, StandardSection, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationEncoding, RelocationFlags, RelocationKind,
    SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};

/// What a built executable's guest may reach.
#[derive(Args, Debug, Default)]
pub struct GrantArgs {
    /// Preopen the host directory HOST (relative paths: to the working directory the
    /// guest runs in) as GUEST (default: HOST itself); repeatable. The guest reaches no
    /// file outside these directories.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<String>,
    /// Preopen the host directory HOST as GUEST as --dir does, but read-only: the guest
    /// may open, read, stat and list beneath it, and every change there (creating,
    /// writing, truncating, removing, renaming or linking from or into it, setting times
    /// or sizes) fails with EPERM (WASI 0.2: not-permitted); repeatable. The guest gets
    /// the --dir directories first, then these, each in the order given.
    #[arg(long = "dir-read-only", value_name = "HOST[::GUEST]")]
    pub read_only_dirs: Vec<String>,
    /// Give the guest an environment variable (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Give the guest the environment that `kiln run`, or the built executable, is
    /// started with (`--env` overrides it).
    #[arg(long)]
    pub inherit_env: bool,
    /// Deterministic time and randomness, for benchmarks, tests and reproducible runs:
    /// the guest's clocks read virtual time (0 at start, +1 µs per read; waits jump ahead
    /// instead of sleeping) and random_get returns a fixed, predictable stream. Never for
    /// a guest that needs secrets.
    #[arg(long)]
    pub deterministic: bool,
    /// Let a WASI 0.2 component bind TCP sockets to ADDR and listen on them (repeatable).
    /// ADDR is IP:PORT or [IPV6]:PORT; port 0 means any port, and a prefix length after
    /// the address names a network (10.0.0.0/8:80, [fd00::/8]:0). Without a network grant
    /// a component cannot create sockets (access-denied); binding to port 0 needs no
    /// address grant.
    #[arg(long = "allow-tcp-listen", value_name = "ADDR")]
    pub allow_tcp_listen: Vec<String>,
    /// Let a WASI 0.2 component connect TCP sockets to ADDR (as for --allow-tcp-listen;
    /// repeatable).
    #[arg(long = "allow-tcp-connect", value_name = "ADDR")]
    pub allow_tcp_connect: Vec<String>,
    /// Let a WASI 0.2 component bind UDP sockets to ADDR and send datagrams to ADDR (as
    /// for --allow-tcp-listen; repeatable). Datagrams are received from any address.
    #[arg(long = "allow-udp", value_name = "ADDR")]
    pub allow_udp: Vec<String>,
    /// Let a WASI 0.2 component resolve host names (wasi:sockets/ip-name-lookup).
    #[arg(long)]
    pub allow_ip_name_lookup: bool,
    /// Let a WASI 0.2 component use the host's network as the host can: TCP and UDP to
    /// and from any address, and name lookup.
    #[arg(long)]
    pub inherit_network: bool,
    /// The guest's first argument (argv[0]), instead of the module's file name (kiln run)
    /// or the name the executable is started by (kiln build).
    #[arg(long, value_name = "NAME")]
    pub argv0: Option<String>,
    /// The working directory a WASI 0.2 component starts in, a path as the guest sees
    /// it (e.g. /sandbox, inside a --dir GUEST): wasi:cli/environment.initial-cwd, which
    /// the guest's libc resolves relative paths against. Grants nothing by itself.
    #[arg(long, value_name = "GUEST_PATH")]
    pub cwd: Option<String>,
    #[command(flatten)]
    pub limits: crate::limits::LimitArgs,
}

impl GrantArgs {
    pub fn grants(&self) -> Result<Grants> {
        let env = self
            .env
            .iter()
            .map(|var| match var.split_once('=') {
                Some((name, value)) => Ok((name.to_string(), value.to_string())),
                None => bail!("--env {var}: expected NAME=VALUE"),
            })
            .collect::<Result<_>>()?;
        let dirs = |flag: &str, values: &[String]| {
            values
                .iter()
                .map(|dir| {
                    let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
                    if host.contains('\0') || guest.contains('\0') {
                        bail!("--{flag} {dir}: paths cannot contain NUL");
                    }
                    Ok((host.to_string(), guest.to_string()))
                })
                .collect::<Result<Vec<_>>>()
        };
        let patterns = |flag: &str, values: &[String]| {
            values
                .iter()
                .map(|value| {
                    value
                        .parse::<AddressPattern>()
                        .map_err(|error| anyhow::anyhow!("--{flag} {error}"))
                })
                .collect::<Result<Vec<_>>>()
        };
        Ok(Grants {
            env,
            inherit_env: self.inherit_env,
            dirs: dirs("dir", &self.dirs)?,
            read_only_dirs: dirs("dir-read-only", &self.read_only_dirs)?,
            deterministic: self.deterministic,
            limits: self.limits.limits()?,
            network: NetworkGrants {
                tcp_listen: patterns("allow-tcp-listen", &self.allow_tcp_listen)?,
                tcp_connect: patterns("allow-tcp-connect", &self.allow_tcp_connect)?,
                udp: patterns("allow-udp", &self.allow_udp)?,
                ip_name_lookup: self.allow_ip_name_lookup,
                inherit: self.inherit_network,
            },
            argv0: self.argv0.clone(),
            cwd: self.cwd.clone(),
        })
    }
}

/// A relocatable object for `triple` defining the grants symbol, the table of the
/// WASI definitions the module imports (`wasi_imports`, symbols named by
/// `kiln_runtime::wasi::import_symbol`), the pointer to each of the runtime `parts` the
/// executable needs (`kiln_runtime::linked`) and the table of the `builtins` its code
/// calls (`kiln_runtime::linked::BUILTINS_POINTER`), which makes the linker take those
/// from the runtime archive and no others.
pub fn object(
    grants: &Grants,
    wasi_imports: &[String],
    parts: &[LinkedPart],
    builtins: &[Builtin],
    triple: &str,
) -> Result<Vec<u8>> {
    let mut object = elf_object(triple)?;
    let section = object.section_id(StandardSection::ReadOnlyData);
    let bytes = grants.encode();
    let offset = object.append_section_data(section, &bytes, 8);
    object.add_symbol(Symbol {
        name: GRANTS_SYMBOL.as_bytes().to_vec(),
        value: offset,
        size: bytes.len() as u64,
        kind: SymbolKind::Data,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    });

    let table = object.section_id(StandardSection::ReadOnlyDataWithRel);
    let mut bytes = (wasi_imports.len() as u64).to_le_bytes().to_vec();
    bytes.resize(8 * (1 + wasi_imports.len()), 0);
    let table_offset = object.append_section_data(table, &bytes, 8);
    object.add_symbol(Symbol {
        name: IMPORTS_SYMBOL.as_bytes().to_vec(),
        value: table_offset,
        size: bytes.len() as u64,
        kind: SymbolKind::Data,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(table),
        flags: SymbolFlags::None,
    });
    for (index, name) in wasi_imports.iter().enumerate() {
        let offset = table_offset + 8 * (1 + index as u64);
        pointer_to(&mut object, table, offset, name)?;
    }
    for part in parts {
        pointer_symbol(&mut object, table, part.pointer, part.definition)?;
    }

    let slots = vec![0; 8 * Builtin::ALL.len()];
    let builtins_offset = object.append_section_data(table, &slots, 8);
    object.add_symbol(Symbol {
        name: b"kiln_builtin_table".to_vec(),
        value: builtins_offset,
        size: slots.len() as u64,
        kind: SymbolKind::Data,
        scope: SymbolScope::Compilation,
        weak: false,
        section: SymbolSection::Section(table),
        flags: SymbolFlags::None,
    });
    for (index, builtin) in Builtin::ALL.iter().enumerate() {
        let symbol = if builtins.contains(builtin) {
            linked::builtin_symbol(*builtin)
        } else {
            linked::BUILTIN_MISSING.to_string()
        };
        pointer_to(
            &mut object,
            table,
            builtins_offset + 8 * index as u64,
            &symbol,
        )?;
    }
    pointer_symbol(
        &mut object,
        table,
        linked::BUILTINS_POINTER,
        "kiln_builtin_table",
    )?;
    Ok(object.write()?)
}

/// Appends to `section` a pointer to the symbol `target`, itself the global symbol
/// `name`: how the runtime of executables finds a part `kiln build` linked.
fn pointer_symbol(
    object: &mut Object<'_>,
    section: object::write::SectionId,
    name: &str,
    target: &str,
) -> Result<()> {
    let offset = object.append_section_data(section, &[0; 8], 8);
    object.add_symbol(Symbol {
        name: name.as_bytes().to_vec(),
        value: offset,
        size: 8,
        kind: SymbolKind::Data,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    });
    pointer_to(object, section, offset, target)
}

/// An empty relocatable ELF object for `triple`, for what `kiln build` links beside the
/// compiled modules.
pub fn elf_object(triple: &str) -> Result<Object<'static>> {
    let architecture = match triple.split('-').next() {
        Some("x86_64") => Architecture::X86_64,
        Some("aarch64") => Architecture::Aarch64,
        _ => bail!("kiln build: no executables for {triple}"),
    };
    let mut object = Object::new(BinaryFormat::Elf, architecture, Endianness::Little);
    // Without this note, GNU ld gives the executable an executable stack.
    object.add_section(Vec::new(), b".note.GNU-stack".to_vec(), SectionKind::Linker);
    Ok(object)
}

/// Makes the 8 bytes at `offset` of `section` the address of the (undefined here) symbol
/// `name`, which the linker resolves.
pub fn pointer_to(
    object: &mut Object<'_>,
    section: object::write::SectionId,
    offset: u64,
    name: &str,
) -> Result<()> {
    let symbol = match object.symbol_id(name.as_bytes()) {
        Some(symbol) => symbol,
        None => object.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Data,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        }),
    };
    object.add_relocation(
        section,
        Relocation {
            offset,
            symbol,
            addend: 0,
            flags: RelocationFlags::Generic {
                kind: RelocationKind::Absolute,
                encoding: RelocationEncoding::Generic,
                size: 64,
            },
        },
    )?;
    Ok(())
}
