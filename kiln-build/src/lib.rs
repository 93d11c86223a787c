//! Precompiling WebAssembly modules at build time, in the style of the `cc` crate: a build
//! script compiles each module with kiln for the crate's target, archives the object into a
//! static library that cargo links into the crate, and generates typed Rust bindings that
//! the crate includes. At run time only `kiln-runtime` is needed: no compiler, no JIT, no
//! `.wasm` file.
//!
//! ```no_run
//! // build.rs (kiln-build is a build-dependency, kiln-runtime a normal dependency), in `main`:
//! kiln_build::Module::new("plugins/filter.wasm")
//!     .name("filter")
//!     .compile()
//!     .unwrap();
//! ```
//!
//! ```text
//! // src/main.rs
//! include!(concat!(env!("OUT_DIR"), "/kiln/filter.rs"));
//!
//! let mut filter = filter::Instance::new()?;
//! let sum: i32 = filter.add(2, 3)?;
//! ```
//!
//! A WebAssembly component (WASI 0.2) is embedded the same way with [`Component`]
//! (`kiln_build::Component::new("hello.wasm").name("hello").compile()`), whose bindings
//! give `hello::Instance::new(wasi)`, `run()`, `call(export, &[ComponentVal])` and typed
//! methods for scalar exports (see `component.rs`).
//!
//! Every module's symbols carry its name as prefix (`filter_kiln_module`, ...), so any
//! number of modules can share a binary. See `bindings.rs` for what the bindings contain,
//! and `c_header.rs` (with [`generate_c_header`] and [`write_static_library`]) for C and C++
//! hosts.

mod archive;
mod bindings;
mod c_header;
mod component;
mod interface;

pub use component::{compile_component_for_c, Component};

pub use kiln_compiler::{OptLevel, RelaxedSimd};

use kiln_abi::metadata::ModuleMetadata;
use std::path::{Path, PathBuf};

/// Why a module could not be precompiled.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The module is not valid WebAssembly (binary or text), or kiln cannot compile it.
    #[error("{path}: {message}")]
    Compile { path: PathBuf, message: String },
    /// The module uses something the generated bindings do not support.
    #[error("{path}: {message}")]
    Unsupported { path: PathBuf, message: String },
    /// The name given with [`Module::name`] is not an identifier.
    #[error("invalid module name `{0}`: use letters, digits and `_`, not starting with a digit")]
    InvalidName(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// For kiln's own tests of the link-time ABI check only: when set to a number, the
/// generated bindings and headers require that ABI version instead of this kiln's.
const FAKE_ABI_VERSION_VAR: &str = "KILN_BUILD_FAKE_ABI_VERSION_FOR_TESTS";

/// The ABI version the generated bindings require: this kiln's (see
/// [`FAKE_ABI_VERSION_VAR`]).
fn bindings_abi_version() -> u32 {
    std::env::var(FAKE_ABI_VERSION_VAR)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(kiln_abi::ABI_VERSION)
}

/// What [`Module::compile`] or [`Component::compile`] wrote.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The module's name in the host program.
    pub name: String,
    /// The Rust bindings, to `include!`.
    pub bindings: PathBuf,
    /// The static library holding the object, `lib<library>.a`.
    pub archive: PathBuf,
    /// The library name cargo links (`kiln_<name>`).
    pub library: String,
    /// The C header, when [`Module::c_header`] asked for one.
    pub header: Option<PathBuf>,
}

/// A module to precompile, configured like a `cc::Build`.
#[derive(Debug, Clone)]
pub struct Module {
    path: PathBuf,
    name: Option<String>,
    target: Option<String>,
    opt_level: OptLevel,
    relaxed_simd: RelaxedSimd,
    out_dir: Option<PathBuf>,
    cargo_metadata: bool,
    c_header: bool,
    checks: Checks,
}

/// The limit checks compiled into a module's code, which the host's limits need: a store
/// that meters fuel or has a time limit refuses code compiled without them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checks {
    /// Fuel metering (`Store::set_fuel`, `RunLimits::fuel`).
    pub fuel: bool,
    /// Interruption checks (`Store::set_time_limit`, `Store::interrupt_handle`,
    /// `RunLimits::timeout`).
    pub interruptible: bool,
}

impl Module {
    /// The module at `path` (binary `.wasm` or text `.wat`).
    pub fn new(path: impl AsRef<Path>) -> Module {
        Module {
            path: path.as_ref().to_owned(),
            name: None,
            target: None,
            opt_level: OptLevel::Speed,
            relaxed_simd: RelaxedSimd::Fast,
            out_dir: None,
            cargo_metadata: true,
            c_header: false,
            checks: Checks::default(),
        }
    }

    /// The module's name in the host program: the Rust module of its bindings, the prefix
    /// of its symbols and of its C functions. Default: the file name without extension,
    /// made an identifier.
    pub fn name(mut self, name: &str) -> Module {
        self.name = Some(name.to_owned());
        self
    }

    /// The target triple to compile for. Default: `$TARGET` (the crate's target, which cargo
    /// gives build scripts), else the host.
    pub fn target(mut self, triple: &str) -> Module {
        self.target = Some(triple.to_owned());
        self
    }

    /// Compiles fuel metering in, so that the host can give instances fuel
    /// (`Instance::with_limits` with `RunLimits::fuel`, or the store's `set_fuel`). Default:
    /// off, and code pays nothing for it.
    pub fn fuel(mut self, on: bool) -> Module {
        self.checks.fuel = on;
        self
    }

    /// Compiles interruption checks in, so that the host can set time limits
    /// (`RunLimits::timeout`) and interrupt guests from other threads. Default: off.
    pub fn interruptible(mut self, on: bool) -> Module {
        self.checks.interruptible = on;
        self
    }

    /// Cranelift's optimisation level. Default: [`OptLevel::Speed`].
    pub fn opt_level(mut self, opt_level: OptLevel) -> Module {
        self.opt_level = opt_level;
        self
    }

    /// How relaxed SIMD operators are compiled: the target's native forms
    /// ([`RelaxedSimd::Fast`], the default) or the spec's deterministic profile, the same
    /// results on every target ([`RelaxedSimd::Deterministic`]).
    pub fn relaxed_simd(mut self, relaxed_simd: RelaxedSimd) -> Module {
        self.relaxed_simd = relaxed_simd;
        self
    }

    /// Where to write the artifacts (under `kiln/`). Default: `$OUT_DIR`.
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Module {
        self.out_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Whether to print the `cargo:` lines that link the archive and rerun the build script
    /// when the module changes. Default: true.
    pub fn cargo_metadata(mut self, enabled: bool) -> Module {
        self.cargo_metadata = enabled;
        self
    }

    /// Also write a C header (`kiln/<name>.h`) declaring the module's typed C functions; see
    /// [`generate_c_header`].
    pub fn c_header(mut self, enabled: bool) -> Module {
        self.c_header = enabled;
        self
    }

    /// Compiles the module and writes its archive and bindings (and header); in a build
    /// script, also tells cargo to link the archive.
    pub fn compile(&self) -> Result<Artifacts, Error> {
        let name = checked_name(self.name.as_deref(), &self.path)?;
        let out_dir = out_dir(self.out_dir.as_deref())?;
        if self.cargo_metadata {
            println!("cargo:rerun-if-changed={}", self.path.display());
            println!("cargo:rerun-if-env-changed={FAKE_ABI_VERSION_VAR}");
        }
        let abi_version = bindings_abi_version();

        let compiled = compile_module(
            &self.path,
            &name,
            self.target
                .clone()
                .or_else(|| std::env::var("TARGET").ok())
                .as_deref(),
            self.opt_level,
            self.relaxed_simd,
            self.checks,
        )?;
        let library = format!("kiln_{name}");
        let archive = out_dir.join(format!("lib{library}.a"));
        let archive_bytes = archive::write(&[archive::Member {
            name: format!("{name}.o"),
            data: compiled.object.clone(),
        }]);
        std::fs::write(&archive, archive_bytes).map_err(io_error(&archive))?;

        let source = self.path.display().to_string();
        let metadata = compiled.metadata();
        let interface =
            interface::interface(&metadata, &name).map_err(|message| Error::Unsupported {
                path: self.path.clone(),
                message,
            })?;
        let bindings = out_dir.join(format!("{name}.rs"));
        let text = bindings::generate(&interface, &compiled.prefix, abi_version, &source);
        std::fs::write(&bindings, text).map_err(io_error(&bindings))?;
        let header = if self.c_header {
            c_header::check(&interface).map_err(|message| Error::Unsupported {
                path: self.path.clone(),
                message,
            })?;
            let path = out_dir.join(format!("{name}.h"));
            let text = c_header::generate(&interface, &compiled.prefix, abi_version, &source);
            std::fs::write(&path, text).map_err(io_error(&path))?;
            Some(path)
        } else {
            None
        };

        if self.cargo_metadata {
            println!("cargo:rustc-link-search=native={}", out_dir.display());
            println!("cargo:rustc-link-lib=static={library}");
        }
        Ok(Artifacts {
            name,
            bindings,
            archive,
            library,
            header,
        })
    }
}

/// The name of a module or component in the host program: `name`, or the file name of
/// `path` without extension made an identifier; an error unless it is an identifier.
fn checked_name(name: Option<&str>, path: &Path) -> Result<String, Error> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => interface::identifier(
            &path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && interface::identifier(&name) == name;
    if valid {
        Ok(name)
    } else {
        Err(Error::InvalidName(name))
    }
}

/// `dir` (default `$OUT_DIR`) joined with `kiln`, created.
fn out_dir(dir: Option<&Path>) -> Result<PathBuf, Error> {
    let out_dir = match dir {
        Some(dir) => dir.to_owned(),
        None => PathBuf::from(std::env::var_os("OUT_DIR").ok_or_else(|| Error::Io {
            path: PathBuf::from("$OUT_DIR"),
            source: std::io::Error::other(
                "not set: call compile() from a build script or set out_dir()",
            ),
        })?),
    }
    .join("kiln");
    std::fs::create_dir_all(&out_dir).map_err(io_error(&out_dir))?;
    Ok(out_dir)
}

/// A compiled module: its object and what the bindings are generated from.
pub struct CompiledModule {
    /// The relocatable object.
    pub object: Vec<u8>,
    /// The symbol prefix it was compiled with.
    pub prefix: String,
    wasm: Vec<u8>,
}

impl CompiledModule {
    fn metadata(&self) -> ModuleMetadata<'_> {
        kiln_compiler::inspect(
            &self.wasm,
            kiln_compiler::CompileOptions::default().features,
        )
        .expect("the module compiled, so it validates")
        .metadata
    }
}

/// The symbol prefix of a module named `name` in a host program.
pub fn symbol_prefix(name: &str) -> String {
    format!("{name}_")
}

/// Reads (binary or text) and compiles the module at `path` for `target` (default: the
/// host), with the symbol prefix of `name`.
pub fn compile_module(
    path: &Path,
    name: &str,
    target: Option<&str>,
    opt_level: OptLevel,
    relaxed_simd: RelaxedSimd,
    checks: Checks,
) -> Result<CompiledModule, Error> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let compile_error = |message: String| Error::Compile {
        path: path.to_owned(),
        message,
    };
    let wasm = wat::parse_bytes(&bytes)
        .map_err(|error| compile_error(error.to_string()))?
        .into_owned();
    let mut options = kiln_compiler::CompileOptions {
        opt_level,
        relaxed_simd,
        symbol_prefix: symbol_prefix(name),
        fuel: checks.fuel,
        interruptible: checks.interruptible,
        ..Default::default()
    };
    if let Some(target) = target {
        options.target = target
            .parse()
            .map_err(|error| compile_error(format!("unknown target {target}: {error}")))?;
    }
    let object = kiln_compiler::compile(&wasm, &options)
        .map_err(|error| compile_error(error.to_string()))?;
    Ok(CompiledModule {
        object,
        prefix: options.symbol_prefix,
        wasm,
    })
}

/// Writes a static library holding `object` (named `<name>.o`) and every member of the
/// archives in `archives`, with a symbol index: for C hosts, the module and the runtime in
/// one file.
pub fn write_static_library(
    output: &Path,
    name: &str,
    object: &[u8],
    archives: &[&Path],
) -> Result<(), Error> {
    let mut members = vec![archive::Member {
        name: format!("{name}.o"),
        data: object.to_vec(),
    }];
    for path in archives {
        let bytes = std::fs::read(path).map_err(io_error(path))?;
        members.extend(archive::read(&bytes).map_err(|message| Error::Compile {
            path: path.to_path_buf(),
            message: format!("not an archive: {message}"),
        })?);
    }
    std::fs::write(output, archive::write(&members)).map_err(io_error(output))
}

/// The interface of the compiled module as a header for C and C++ hosts: the generic C
/// interface of kiln-runtime (feature `c-api`) and typed inline wrappers, `<name>_new`,
/// `<name>_free`, `<name>_<export>` per exported function (returning a `kiln_error *` that
/// is null on success and carries a trap's code and backtrace), `<name>_<memory>` per
/// memory, `<name>_<global>` / `<name>_set_<global>` per global, and a struct
/// `<name>_imports` of typed callbacks for the imported host functions.
pub fn generate_c_header(
    module: &CompiledModule,
    name: &str,
    source: &str,
) -> Result<String, Error> {
    let metadata = module.metadata();
    let interface =
        interface::interface(&metadata, name).map_err(|message| Error::Unsupported {
            path: PathBuf::from(source),
            message,
        })?;
    c_header::check(&interface).map_err(|message| Error::Unsupported {
        path: PathBuf::from(source),
        message,
    })?;
    Ok(c_header::generate(
        &interface,
        &module.prefix,
        bindings_abi_version(),
        source,
    ))
}
