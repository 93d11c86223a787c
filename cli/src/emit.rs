//! `kiln compile` (a relocatable object) and `kiln build` (a standalone executable: the
//! object linked with the runtime archive by the system C compiler driver).

use crate::input::{compile_file, read_module};
use crate::options::CodegenArgs;
use crate::runtime_archive::{
    default_linker, link_command, missing_packages, runtime_files, strip_flag,
};
use anyhow::{bail, Context, Result};
use clap::Args;
use kiln_abi::metadata::ExternKind;
use std::path::{Path, PathBuf};

/// What `kiln compile` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// A relocatable object.
    Object,
    /// A static library of the module and the runtime with its C interface, for C/C++ hosts.
    Staticlib,
}

/// Arguments of `kiln compile`.
#[derive(Args)]
pub struct CompileArgs {
    /// The module (.wasm or .wat).
    pub input: PathBuf,
    /// Where to write the object.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub codegen: CodegenArgs,
    /// Prefix for every symbol of the module, to link several modules into one binary.
    #[arg(long, default_value = "")]
    pub symbol_prefix: String,
    /// `object`, or `staticlib`: the module and the runtime with its C interface.
    #[arg(long, value_enum, default_value_t = Emit::Object)]
    pub emit: Emit,
    /// With `--emit staticlib`: the C header to write; its name (without `.h`) names the
    /// module's C functions.
    #[arg(long, required_if_eq("emit", "staticlib"))]
    pub header: Option<PathBuf>,
    #[command(flatten)]
    pub profile: crate::options::ProfileArgs,
}

/// Arguments of `kiln build`.
#[derive(Args)]
pub struct BuildArgs {
    /// The module (.wasm or .wat).
    pub input: PathBuf,
    /// Where to write the executable.
    #[arg(short, long, required_unless_present_any = ["oci", "oci_archive"])]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub codegen: CodegenArgs,
    /// Write an OCI image layout into DIR instead of (or besides, with -o) an executable:
    /// one layer holding the static musl executable as the entrypoint, one image per
    /// --target (repeatable; default the host's musl target), joined in a multi-platform
    /// index; reproducible (SOURCE_DATE_EPOCH is the files' time). See ARCHITECTURE.md.
    #[arg(long, value_name = "DIR")]
    pub oci: Option<PathBuf>,
    /// Write the OCI image layout as a tar archive (skopeo's `oci-archive:`).
    #[arg(long, value_name = "FILE.tar")]
    pub oci_archive: Option<PathBuf>,
    /// The name (`org.opencontainers.image.ref.name`) of the image in the layout.
    #[arg(long, value_name = "TAG", default_value = "latest")]
    pub oci_tag: String,
    /// The program that links (default: `cc`/`$CC` for the host architecture, the
    /// `<arch>-linux-gnu-gcc` cross driver for another, `ld.lld` for musl targets).
    #[arg(long)]
    pub linker: Option<String>,
    /// Print how the executable's bytes split into generated code, module data and runtime
    /// (with `--oci`, for each platform's executable, then the image's bytes in blobs).
    #[arg(long)]
    pub size_report: bool,
    /// Leave the symbol table out of the executable (about 40% of a small one). Trap
    /// reports and wasm backtraces stay complete: they come from the module's own tables;
    /// debuggers and profilers see addresses instead of function names.
    #[arg(long)]
    pub strip: bool,
    /// Compile for the module's memory anywhere in the address space. By default an x86_64
    /// executable of a module that defines its memory (of a component: of the largest core
    /// module instantiated once that does) finds that memory at a fixed address (1.5 GiB,
    /// 6 GiB of address space reserved from there), so its code keeps no register for the
    /// memory's base; the executable then refuses to start where that range is taken (a
    /// sanitizer's shadow memory, say).
    #[arg(long)]
    pub movable_memory: bool,
    #[command(flatten)]
    pub profile: crate::options::ProfileArgs,
    #[command(flatten)]
    pub grants: crate::grants::GrantArgs,
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// Runs `kiln compile`.
pub fn compile(args: &CompileArgs) -> Result<()> {
    let wasm = read_module(&args.input)?;
    let mut options = args.codegen.compile_options()?;
    let component = crate::component::is_component(&wasm);
    if component {
        args.profile.refuse("components")?;
    }
    if args.emit == Emit::Staticlib {
        args.profile.refuse("--emit staticlib")?;
    }
    if component && args.emit == Emit::Object {
        return crate::component::compile_object(
            &args.input,
            &wasm,
            &options,
            &args.symbol_prefix,
            &args.output,
        );
    }
    options.symbol_prefix = args.symbol_prefix.clone();
    if args.emit == Emit::Staticlib {
        let header = args
            .header
            .as_deref()
            .context("--emit staticlib needs --header NAME.h")?;
        // kiln-build, which compiles static libraries, has no inlining option yet: refused
        // rather than ignored.
        if options.inline {
            bail!("--inline is not supported with --emit staticlib yet");
        }
        let scratch = ScratchDir::new()?;
        let triple = options.target.to_string();
        let embedded =
            crate::runtime_archive::embedded_file(&triple, crate::staticlib::C_API_RUNTIME);
        let runtime = crate::staticlib::c_api_runtime(&triple, embedded, &scratch.0)?;
        if component {
            return crate::staticlib::emit_component_staticlib(
                &args.input,
                &wasm,
                &options,
                &runtime,
                &args.output,
                header,
            );
        }
        return crate::staticlib::emit_staticlib(
            &args.input,
            &options,
            &runtime,
            &args.output,
            header,
        );
    }
    args.profile.apply(&mut options, &wasm, &args.output)?;
    let object = compile_file(&args.input, &wasm, &options)?;
    write(&args.output, &object)
}

/// A directory that is removed when dropped.
pub(crate) struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub(crate) fn new() -> Result<ScratchDir> {
        let unique = format!(
            "kiln-build-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `kiln build`.
pub fn build(args: &BuildArgs) -> Result<()> {
    let wasm = read_module(&args.input)?;
    if args.oci.is_some() || args.oci_archive.is_some() {
        if args.output.is_some() {
            bail!("-o and --oci/--oci-archive: build the executable and the image separately");
        }
        if args.profile.profile_generate.is_some() {
            args.profile.refuse("OCI images")?;
        }
        return crate::oci::build_image(args, &wasm);
    }
    let output = args
        .output
        .as_deref()
        .context("kiln build needs -o FILE (or --oci DIR)")?;
    let options = args.codegen.compile_options()?;
    build_executable(args, &wasm, &options, output, &output.display().to_string())
}

/// Compiles `wasm` with `options` and links it into the executable `output`; with
/// `--size-report`, reports its sizes under `name`.
pub(crate) fn build_executable(
    args: &BuildArgs,
    wasm: &[u8],
    options: &kiln_compiler::CompileOptions,
    output: &Path,
    name: &str,
) -> Result<()> {
    if crate::component::is_component(wasm) {
        args.profile.refuse("components")?;
        return crate::component::build_executable(args, wasm, options, output, name);
    }
    let grants = args.grants.grants()?;
    let mut options = crate::limits::instrumented(options, &grants.limits);
    // The executable instantiates its module once.
    options.fixed_memory_address = !args.movable_memory;
    args.profile.apply(&mut options, wasm, output)?;
    let builtins_used = kiln_compiler::BuiltinsUsed::default();
    options.builtins_used = Some(builtins_used.clone());
    let options = &options;
    let object = compile_file(&args.input, wasm, options)?;
    let scratch = ScratchDir::new()?;
    let object_path = scratch.0.join("module.o");
    write(&object_path, &object)?;
    let (wasi_imports, mut parts) = linked_runtime_parts(&args.input, wasm, &grants, options)?;
    parts.extend(metadata_runtime_parts(&object)?);
    link_executable(
        args,
        &grants,
        &[object_path],
        &wasi_imports,
        &parts,
        &builtins_used.builtins(),
        options,
        &scratch,
        output,
    )?;
    if args.size_report {
        print!("{}", size_report(&[&object], output, name)?);
    }
    Ok(())
}

/// Links `objects` (compiled modules, and a component's image) with the WASI grants
/// object (the preview 1 functions `wasi_imports`, the optional runtime `parts` and the
/// `builtins` the code calls) and the runtime into `output`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn link_executable(
    args: &BuildArgs,
    grants: &kiln_runtime::wasi::Grants,
    objects: &[PathBuf],
    wasi_imports: &[String],
    parts: &[kiln_runtime::linked::LinkedPart],
    builtins: &[kiln_abi::builtins::Builtin],
    options: &kiln_compiler::CompileOptions,
    scratch: &ScratchDir,
    output: &Path,
) -> Result<()> {
    let target = options.target.to_string();
    let runtime = runtime_files(&target, &scratch.0)?;
    let grants_path = scratch.0.join("wasi-grants.o");
    write(
        &grants_path,
        &crate::grants::object(grants, wasi_imports, parts, builtins, &target)?,
    )?;
    let linker = args
        .linker
        .clone()
        .unwrap_or_else(|| default_linker(&target));
    let install = |packages: Option<&str>| {
        packages.map_or_else(String::new, |packages| {
            format!("; install Debian's {packages} (apt-get install {packages})")
        })
    };
    let mut inputs: Vec<&Path> = objects.iter().map(PathBuf::as_path).collect();
    inputs.push(&grants_path);
    let mut link = link_command(&target, &linker, &inputs, &runtime, output);
    if args.strip {
        link.arg(strip_flag(&target));
    }
    let linked = link
        .output()
        .with_context(|| match missing_packages(&target, &linker, None) {
            Some(packages) => format!(
                "cannot run the linker `{linker}` for {target}: install Debian's {packages} \
                 (apt-get install {packages}) or pass --linker"
            ),
            None => {
                format!(
                    "cannot run the linker `{linker}` for {target} (install it or pass --linker)"
                )
            }
        })?;
    if !linked.status.success() {
        let stderr = String::from_utf8_lossy(&linked.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
        bail!(
            "{}: linking with `{linker}` failed ({}): {first}{}",
            args.input.display(),
            linked.status,
            install(missing_packages(&target, &linker, Some(&stderr)))
        );
    }
    Ok(())
}

/// What of the runtime an executable of `wasm` (valid: it compiled) run with `grants`
/// links besides its core: the symbols of the WASI functions it imports, each once, in
/// import order, and the parts it needs (see `kiln_runtime::linked`): the bench imports
/// when it imports `bench`, the timer thread when a time limit is baked in, the opening of
/// preopened directories when one is granted, the reading of the environment when it is
/// inherited, the CPU feature check when the code compiled with `options` needs more
/// than the baseline, the profile writer when the code counts function entries, and the
/// phases of instantiation for what the module has (tables, element segments, tags,
/// imports other than functions).
fn linked_runtime_parts(
    input: &Path,
    wasm: &[u8],
    grants: &kiln_runtime::wasi::Grants,
    options: &kiln_compiler::CompileOptions,
) -> Result<(Vec<String>, Vec<kiln_runtime::linked::LinkedPart>)> {
    let info = kiln_compiler::module_info::parse(wasm, kiln_compiler::DEFAULT_MEMORY_SETTINGS)
        .with_context(|| format!("{}: reading the imports", input.display()))?;
    let mut symbols = Vec::new();
    let mut parts = Vec::new();
    for import in &info.metadata.imports {
        if let Some(symbol) = kiln_runtime::wasi::import_symbol(import.module, import.name) {
            if !symbols.contains(&symbol) {
                symbols.push(symbol);
            }
        }
        if import.module == kiln_runtime::bench::MODULE_NAME
            && !parts.contains(&kiln_runtime::linked::BENCH)
        {
            parts.push(kiln_runtime::linked::BENCH);
        }
    }
    let metadata = &info.metadata;
    let imported = |kind| metadata.imported_count(kind) as usize;
    parts.extend(kiln_runtime::linked::instantiation_parts(
        kiln_runtime::linked::InstantiationCounts {
            tables: metadata.tables.len(),
            imported_tables: imported(ExternKind::Table),
            tags: metadata.tags.len(),
            imported_tags: imported(ExternKind::Tag),
            elements: metadata.elements.len(),
            entity_imports: metadata.imports.len() - imported(ExternKind::Func),
        },
    ));
    parts.extend(granted_runtime_parts(grants, options)?);
    if options.profile_generate {
        parts.push(kiln_runtime::linked::PROFILE);
    }
    Ok((symbols, parts))
}

/// The parts that what the compiled `object`'s modules (one, or a component's several)
/// store needs, as their metadata and code tables say: the unpacking of compressed
/// function names and data segments (`kiln_runtime::linked::UNPACK_NAMES`, `UNPACK_DATA`)
/// when a module stores them compressed, and of compressed code tables
/// (`UNPACK_CODE_TABLES`),
/// the mapping of a memory image (`MEMORY_IMAGE`) when one has an image.
pub(crate) fn metadata_runtime_parts(
    object: &[u8],
) -> Result<Vec<kiln_runtime::linked::LinkedPart>> {
    use kiln_runtime::linked::{
        LinkedPart, MEMORY_IMAGE, UNPACK_CODE_TABLES, UNPACK_DATA, UNPACK_NAMES,
    };
    use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
    let mut parts = Vec::new();
    let mut add = |part: LinkedPart| {
        if !parts.contains(&part) {
            parts.push(part);
        }
    };
    let file = object::File::parse(object).context("reading the compiled object")?;
    for symbol in file.symbols() {
        let Ok(name) = symbol.name() else {
            continue;
        };
        let metadata = name.ends_with(kiln_abi::symbols::METADATA);
        let code_tables = name.ends_with(kiln_abi::symbols::CODE_TABLES);
        if symbol.kind() != SymbolKind::Data || !(metadata || code_tables) {
            continue;
        }
        let section = symbol
            .section_index()
            .and_then(|index| file.section_by_index(index).ok())
            .with_context(|| format!("the compiled object's {name} has no section"))?;
        let data = section
            .data()
            .with_context(|| format!("reading the compiled object's {name}"))?;
        let bytes = symbol
            .address()
            .checked_sub(section.address())
            .and_then(|start| usize::try_from(start).ok())
            .zip(usize::try_from(symbol.size()).ok())
            .and_then(|(start, len)| data.get(start..start.checked_add(len)?))
            .with_context(|| format!("the compiled object's {name} lies outside its section"))?;
        let packed = |bytes: &kiln_abi::packed::Packed<'_>| bytes.as_plain().is_none();
        if code_tables {
            let tables = kiln_abi::packed::Packed::read_standalone(bytes)
                .context("the compiled object's code tables are corrupt")?;
            if packed(&tables) {
                add(UNPACK_CODE_TABLES);
            }
            continue;
        }
        let metadata = kiln_abi::metadata::ModuleMetadata::decode(bytes)?;
        if packed(&metadata.function_names) {
            add(UNPACK_NAMES);
        }
        if metadata.data.iter().any(|segment| packed(&segment.bytes)) {
            add(UNPACK_DATA);
        }
        if metadata.memory_image_offset.is_some() {
            add(MEMORY_IMAGE);
        }
    }
    Ok(parts)
}

/// The optional runtime parts that `grants` and the code's CPU features need, whatever
/// the module imports (see `kiln_runtime::linked`).
pub(crate) fn granted_runtime_parts(
    grants: &kiln_runtime::wasi::Grants,
    options: &kiln_compiler::CompileOptions,
) -> Result<Vec<kiln_runtime::linked::LinkedPart>> {
    let mut parts = Vec::new();
    if grants.limits.timeout.is_some() {
        parts.push(kiln_runtime::linked::TIMER);
    }
    if !grants.dirs.is_empty() || !grants.read_only_dirs.is_empty() {
        parts.push(kiln_runtime::linked::PREOPEN);
    }
    if grants.inherit_env {
        parts.push(kiln_runtime::linked::INHERITED_ENV);
    }
    let features = kiln_compiler::cpu_features(options)?;
    let architecture = options.target.architecture.to_string();
    if kiln_runtime::linked::needs_cpu_check(&architecture, &features) {
        parts.push(kiln_runtime::linked::CPU_CHECK);
    }
    Ok(parts)
}

/// Where an executable's bytes come from: the modules' generated code, the modules' data
/// (metadata, data segments, trap and code tables), and everything else (the runtime, the
/// Rust standard library, the C library, headers and symbols).
pub(crate) fn size_report(objects: &[&[u8]], executable: &Path, name: &str) -> Result<String> {
    use object::{Object, ObjectSection, SectionKind};
    let (mut code, mut data) = (0u64, 0u64);
    for object in objects {
        let file = object::File::parse(*object).context("reading the compiled object")?;
        for section in file.sections() {
            match section.kind() {
                SectionKind::Text => code += section.size(),
                SectionKind::Data
                | SectionKind::ReadOnlyData
                | SectionKind::ReadOnlyDataWithRel
                | SectionKind::ReadOnlyString
                | SectionKind::UninitializedData => data += section.size(),
                _ => {}
            }
        }
    }
    let total = std::fs::metadata(executable)
        .with_context(|| format!("{}: cannot read", executable.display()))?
        .len();
    let rest = total.saturating_sub(code + data);
    let percent = |part: u64| part as f64 * 100.0 / total.max(1) as f64;
    Ok(format!(
        "{name}: {total} bytes\n  generated code   {code:>10} bytes {:>5.1}%\n  module data      {data:>10} bytes {:>5.1}%\n  runtime and libc {rest:>10} bytes {:>5.1}%\n",
        percent(code),
        percent(data),
        percent(rest)
    ))
}
