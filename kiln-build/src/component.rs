//! Precompiling a WebAssembly component (WASI 0.2, `wasm32-wasip2`) from a build script:
//! [`Component`], beside [`Module`](crate::Module). Its core modules and its image go into
//! one object (`kiln_component::compile_object`, what `kiln compile` writes), archived as
//! `libkiln_<name>.a`; the bindings `kiln/<name>.rs` are a Rust module `<name>` with:
//! - `component()`: the linked component (`kiln_runtime::component::LinkedComponent`),
//!   read from its image `<name>_kiln_component`; referencing the runtime's
//!   `kiln_abi_version_<N>` marker makes a runtime of another ABI version fail to link;
//! - `EXPORTS`: the full names of the exported functions;
//! - `struct Instance`, over a `kiln_runtime::WasiComponent`: `Instance::new(wasi)` (the
//!   host's `WasiCtx`: arguments, environment, preopens, network grants) and
//!   `with_limits(wasi, &limits)`; `run()` when the component exports `wasi:cli/run`
//!   (`Ok(Ok(()))` for `ok`); `call(export, &[ComponentVal])` for any export; and a typed
//!   method per export whose parameters and result are bools, integers, floats, chars and
//!   strings (`add(&mut self, a: u32, b: u32) -> Result<u32, CallError>`), named after the
//!   function (`<interface>_<function>` for one of an interface). Traps come back as
//!   `CallError::Trap` with the message and backtrace.

use crate::{bindings_abi_version, io_error, Artifacts, Checks, Error, OptLevel};
use kiln_abi::component::{ComponentPlan, FuncType, ValType};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A component to precompile, configured like [`Module`](crate::Module).
#[derive(Debug, Clone)]
pub struct Component {
    path: PathBuf,
    name: Option<String>,
    target: Option<String>,
    opt_level: OptLevel,
    out_dir: Option<PathBuf>,
    cargo_metadata: bool,
    checks: Checks,
}

impl Component {
    /// The component at `path` (binary `.wasm` or text `.wat`).
    pub fn new(path: impl AsRef<Path>) -> Component {
        Component {
            path: path.as_ref().to_owned(),
            name: None,
            target: None,
            opt_level: OptLevel::Speed,
            out_dir: None,
            cargo_metadata: true,
            checks: Checks::default(),
        }
    }

    /// The component's name in the host program: the Rust module of its bindings and the
    /// prefix of its symbols. Default: the file name without extension, made an
    /// identifier.
    pub fn name(mut self, name: &str) -> Component {
        self.name = Some(name.to_owned());
        self
    }

    /// The target triple to compile for. Default: `$TARGET`, else the host.
    pub fn target(mut self, triple: &str) -> Component {
        self.target = Some(triple.to_owned());
        self
    }

    /// Compiles fuel metering in (see [`Module::fuel`](crate::Module::fuel)).
    pub fn fuel(mut self, on: bool) -> Component {
        self.checks.fuel = on;
        self
    }

    /// Compiles interruption checks in, for time limits (see
    /// [`Module::interruptible`](crate::Module::interruptible)).
    pub fn interruptible(mut self, on: bool) -> Component {
        self.checks.interruptible = on;
        self
    }

    /// Cranelift's optimisation level. Default: [`OptLevel::Speed`].
    pub fn opt_level(mut self, opt_level: OptLevel) -> Component {
        self.opt_level = opt_level;
        self
    }

    /// Where to write the artifacts (under `kiln/`). Default: `$OUT_DIR`.
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Component {
        self.out_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Whether to print the `cargo:` lines that link the archive and rerun the build script
    /// when the component changes. Default: true.
    pub fn cargo_metadata(mut self, enabled: bool) -> Component {
        self.cargo_metadata = enabled;
        self
    }

    /// Compiles the component and writes its archive and bindings; in a build script,
    /// also tells cargo to link the archive.
    pub fn compile(&self) -> Result<Artifacts, Error> {
        let name = crate::checked_name(self.name.as_deref(), &self.path)?;
        let out_dir = crate::out_dir(self.out_dir.as_deref())?;
        if self.cargo_metadata {
            println!("cargo:rerun-if-changed={}", self.path.display());
            println!("cargo:rerun-if-env-changed={}", crate::FAKE_ABI_VERSION_VAR);
        }
        let compile_error = |message: String| Error::Compile {
            path: self.path.clone(),
            message,
        };
        let bytes = std::fs::read(&self.path).map_err(io_error(&self.path))?;
        let wasm = wat::parse_bytes(&bytes).map_err(|error| compile_error(error.to_string()))?;
        if !kiln_component::is_component(&wasm) {
            return Err(compile_error(
                "a core module, not a component: embed it with kiln_build::Module".into(),
            ));
        }
        let translation =
            kiln_component::translate(&wasm).map_err(|error| compile_error(error.to_string()))?;
        let mut options = kiln_compiler::CompileOptions {
            opt_level: self.opt_level,
            fuel: self.checks.fuel,
            interruptible: self.checks.interruptible,
            ..Default::default()
        };
        let target = self.target.clone().or_else(|| std::env::var("TARGET").ok());
        if let Some(target) = target {
            options.target = target
                .parse()
                .map_err(|error| compile_error(format!("unknown target {target}: {error}")))?;
        }
        let prefix = crate::symbol_prefix(&name);
        let object = kiln_component::compile_object(&translation, &options, &prefix, None)
            .map_err(|error| compile_error(error.to_string()))?;
        let library = format!("kiln_{name}");
        let archive = out_dir.join(format!("lib{library}.a"));
        let archive_bytes = crate::archive::write(&[crate::archive::Member {
            name: format!("{name}.o"),
            data: object,
        }]);
        std::fs::write(&archive, archive_bytes).map_err(io_error(&archive))?;
        let bindings = out_dir.join(format!("{name}.rs"));
        let source = self.path.display().to_string();
        let text = generate(
            &translation.plan,
            &name,
            &prefix,
            bindings_abi_version(),
            &source,
        );
        std::fs::write(&bindings, text).map_err(io_error(&bindings))?;
        if self.cargo_metadata {
            println!("cargo:rustc-link-search=native={}", out_dir.display());
            println!("cargo:rustc-link-lib=static={library}");
        }
        Ok(Artifacts {
            name,
            bindings,
            archive,
            library,
            header: None,
        })
    }
}

/// For C hosts (`kiln compile --emit staticlib` of a component): compiles the component
/// `wasm` (read from `path`) with `options` under the prefix of `name` into one object,
/// and writes its C header: the runtime's C interface and `<name>_new(wasi, &error)`,
/// `<name>_run(component, &exit_code)` and `<name>_free(component)` over
/// `kiln_component_*`.
pub fn compile_component_for_c(
    path: &Path,
    wasm: &[u8],
    name: &str,
    options: &kiln_compiler::CompileOptions,
) -> Result<(Vec<u8>, String), Error> {
    let compile_error = |message: String| Error::Compile {
        path: path.to_owned(),
        message,
    };
    let translation =
        kiln_component::translate(wasm).map_err(|error| compile_error(error.to_string()))?;
    let prefix = crate::symbol_prefix(name);
    let object = kiln_component::compile_object(&translation, options, &prefix, None)
        .map_err(|error| compile_error(error.to_string()))?;
    let source = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let header = c_header(name, &prefix, bindings_abi_version(), &source);
    Ok((object, header))
}

/// The C header of the component `name` whose image is `<prefix>kiln_component`.
fn c_header(name: &str, prefix: &str, abi_version: u32, source: &str) -> String {
    let image = kiln_component::image_symbol(prefix);
    let marker = kiln_abi::symbols::abi_version_symbol(abi_version);
    format!(
        "/* Generated by kiln-build from {source}: do not edit. */
#ifndef KILN_COMPONENT_{name}_H
#define KILN_COMPONENT_{name}_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern \"C\" {{
#endif

{api}
/* The component's image, in its archive. */
extern const uint64_t {image}[];
/* Defined by a kiln runtime of ABI version {abi_version} only: another fails to link. */
extern const uint32_t {marker};

/* The component instantiated with WASI 0.2 as wasi grants (null: nothing); null and
 * *error set on failure. Free it with {name}_free. */
static inline kiln_component *{name}_new(const kiln_wasi_config *wasi, kiln_error **error) {{
    return kiln_component_new({image}, &{marker}, wasi, error);
}}
/* Runs wasi:cli/run: *exit_code is 0 for ok, 1 for err, or the guest's exit code; a trap
 * is the returned error (free it with kiln_error_delete). */
static inline kiln_error *{name}_run(kiln_component *component, int32_t *exit_code) {{
    return kiln_component_run(component, exit_code);
}}
static inline void {name}_free(kiln_component *component) {{
    kiln_component_delete(component);
}}

#ifdef __cplusplus
}}
#endif
#endif
",
        api = crate::c_header::C_API,
    )
}

/// The methods of the generated `Instance`, which a typed export's method must not take.
const INSTANCE_METHODS: &[&str] = &["new", "with_limits", "run", "call", "inner", "export_names"];

/// A scalar component type's Rust type, `ComponentVal` case and whether a parameter of it
/// is borrowed (`&str`).
fn scalar(ty: ValType) -> Option<(&'static str, &'static str)> {
    Some(match ty {
        ValType::Bool => ("bool", "Bool"),
        ValType::S8 => ("i8", "S8"),
        ValType::U8 => ("u8", "U8"),
        ValType::S16 => ("i16", "S16"),
        ValType::U16 => ("u16", "U16"),
        ValType::S32 => ("i32", "S32"),
        ValType::U32 => ("u32", "U32"),
        ValType::S64 => ("i64", "S64"),
        ValType::U64 => ("u64", "U64"),
        ValType::F32 => ("f32", "F32"),
        ValType::F64 => ("f64", "F64"),
        ValType::Char => ("char", "Char"),
        ValType::String => ("String", "String"),
        ValType::Defined(_) => return None,
    })
}

/// The typed method of an export of type `ty`, if its parameters and result are scalars.
fn typed_method(method: &str, export: &str, ty: &FuncType) -> Option<String> {
    let mut params = String::new();
    let mut args = Vec::new();
    for (index, (param_name, param)) in ty.params.iter().enumerate() {
        let (rust, case) = scalar(*param)?;
        let ident = format!("{}_{index}", crate::interface::identifier(param_name));
        if *param == ValType::String {
            write!(params, ", {ident}: &str").unwrap();
            args.push(format!(
                "rt::component::ComponentVal::String({ident}.to_string())"
            ));
        } else {
            write!(params, ", {ident}: {rust}").unwrap();
            args.push(format!("rt::component::ComponentVal::{case}({ident})"));
        }
    }
    let (result_type, result_pattern, result_value) = match ty.results.as_slice() {
        [] => ("()".to_string(), "[]".to_string(), "()".to_string()),
        [one] => {
            let (rust, case) = scalar(*one)?;
            let value = if *one == ValType::String {
                "value.clone()"
            } else {
                "*value"
            };
            (
                rust.to_string(),
                format!("[rt::component::ComponentVal::{case}(value)]"),
                value.to_string(),
            )
        }
        _ => return None,
    };
    Some(format!(
        "        /// `{export}`.
        pub fn {method}(&mut self{params}) -> Result<{result_type}, rt::CallError> {{
            let results = self.inner.call({export:?}, &[{args}])?;
            match results.as_slice() {{
                {result_pattern} => Ok({result_value}),
                other => Err(rt::CallError::Host(format!(
                    \"kiln: `{export}` returned {{other:?}}\"
                ))),
            }}
        }}

",
        args = args.join(", "),
    ))
}

/// The bindings of the component `name` of `plan`, whose object defines
/// `<prefix>kiln_component`, for ABI version `abi_version`.
fn generate(
    plan: &ComponentPlan,
    name: &str,
    prefix: &str,
    abi_version: u32,
    source: &str,
) -> String {
    let image_symbol = kiln_component::image_symbol(prefix);
    let marker_symbol = kiln_abi::symbols::abi_version_symbol(abi_version);
    let header_words = kiln_abi::symbols::COMPONENT_IMAGE_HEADER_WORDS;
    let exports: Vec<String> = plan.exports.iter().map(|e| e.name.to_string()).collect();
    let has_run = plan.exports.iter().any(|export| {
        export.name.interface == "wasi:cli/run"
            && export.name.function == "run"
            && export
                .name
                .version
                .as_deref()
                .is_some_and(|v| v.starts_with("0.2."))
    });
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "// Generated by kiln-build from {source}: do not edit.").unwrap();
    writeln!(
        w,
        "/// The WebAssembly component `{name}` ({source}), compiled ahead of time by kiln:"
    )
    .unwrap();
    writeln!(w, "/// see [`{name}::Instance`].").unwrap();
    writeln!(
        w,
        "#[allow(dead_code, unused_imports, unused_unsafe, non_snake_case, clippy::all)]"
    )
    .unwrap();
    writeln!(w, "pub mod {name} {{").unwrap();
    writeln!(w, "    use ::kiln_runtime as rt;").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "    /// The kiln ABI version the component was compiled with."
    )
    .unwrap();
    writeln!(w, "    pub const ABI_VERSION: u32 = {abi_version};").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "    /// The full names of the exported functions.").unwrap();
    writeln!(w, "    pub const EXPORTS: &[&str] = &{exports:?};").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "    unsafe extern \"C\" {{").unwrap();
    writeln!(
        w,
        "        /// The image kiln wrote (its header; the rest follows it), in the archive."
    )
    .unwrap();
    writeln!(w, "        #[link_name = \"{image_symbol}\"]").unwrap();
    writeln!(w, "        static IMAGE: [u64; {header_words}];").unwrap();
    writeln!(
        w,
        "        /// Defined by a kiln-runtime of ABI version {abi_version} only: with another"
    )
    .unwrap();
    writeln!(w, "        /// runtime the link fails, naming this symbol.").unwrap();
    writeln!(w, "        #[link_name = \"{marker_symbol}\"]").unwrap();
    writeln!(w, "        static ABI_VERSION_MARKER: u32;").unwrap();
    writeln!(w, "    }}").unwrap();
    w.push_str(
        "
    /// The compiled component, its modules checked (ABI version included) and registered.
    pub fn component() -> Result<rt::component::LinkedComponent, rt::Error> {
        // SAFETY: only the marker's address is taken, so that the linker must resolve it.
        ::std::hint::black_box(unsafe { &raw const ABI_VERSION_MARKER });
        // SAFETY: `IMAGE` is the image kiln wrote for this component, relocated by the
        // system linker together with the modules it points to, which are part of this
        // binary for the life of the process.
        unsafe { rt::component::LinkedComponent::from_image((&raw const IMAGE).cast::<u64>()) }
    }

    /// The component instantiated with WASI 0.2, in a store of its own.
    pub struct Instance {
        inner: rt::WasiComponent,
    }

    impl Instance {
        /// Instantiates the component; WASI 0.2 grants the guest what `wasi` grants.
        pub fn new(wasi: rt::wasi::WasiCtx) -> Result<Instance, rt::InstantiateError> {
            Instance::with_limits(wasi, &rt::RunLimits::default())
        }

        /// [`Instance::new`] in a store under `limits`.
        pub fn with_limits(
            wasi: rt::wasi::WasiCtx,
            limits: &rt::RunLimits,
        ) -> Result<Instance, rt::InstantiateError> {
            let component = component()
                .map_err(|error| rt::InstantiateError::Unlinkable(error.to_string()))?;
            Ok(Instance {
                inner: rt::WasiComponent::with_limits(&component, wasi, limits)?,
            })
        }

        /// Calls the export `export` (its full name, see [`EXPORTS`]) with `args`.
        pub fn call(
            &mut self,
            export: &str,
            args: &[rt::component::ComponentVal],
        ) -> Result<Vec<rt::component::ComponentVal>, rt::CallError> {
            self.inner.call(export, args)
        }

        /// The instance with its store.
        pub fn inner(&mut self) -> &mut rt::WasiComponent {
            &mut self.inner
        }

",
    );
    if has_run {
        w.push_str(
            "        /// Runs `wasi:cli/run`: `Ok(Ok(()))` when it returns `ok`, `Ok(Err(()))` for
        /// `err`; `wasi:cli/exit` comes back as `Err(CallError::Exit(code))`.
        pub fn run(&mut self) -> Result<Result<(), ()>, rt::CallError> {
            self.inner.run()
        }

",
        );
    }
    let mut methods: Vec<String> = INSTANCE_METHODS.iter().map(|m| m.to_string()).collect();
    for export in &plan.exports {
        if export.name.interface == "wasi:cli/run" {
            continue;
        }
        let base = if export.name.interface.is_empty() {
            export.name.function.clone()
        } else {
            let interface = export.name.interface.rsplit('/').next().unwrap_or_default();
            format!("{interface}_{}", export.name.function)
        };
        let mut method = crate::interface::identifier(&base);
        while methods.contains(&method) {
            method.push('_');
        }
        let Some(ty) = plan.types.funcs.get(export.func_type as usize) else {
            continue;
        };
        if let Some(text) = typed_method(&method, &export.name.to_string(), ty) {
            w.push_str(&text);
            methods.push(method);
        }
    }
    writeln!(w, "    }}").unwrap();
    writeln!(w, "}}").unwrap();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(wat: &str) -> ComponentPlan {
        let wasm = wat::parse_str(wat).unwrap();
        kiln_component::translate(&wasm).unwrap().plan
    }

    #[test]
    fn scalar_exports_get_typed_methods_and_others_only_call() {
        let plan = plan_of(
            r#"(component
                (core module $m
                    (func (export "add") (param i32 i32) (result i32)
                        local.get 0 local.get 1 i32.add)
                    (func (export "pair") (param i32) (result i32) i32.const 0))
                (core instance $i (instantiate $m))
                (func (export "add") (param "a" u32) (param "b" u32) (result u32)
                    (canon lift (core func $i "add")))
                (func (export "new") (param "x" u32) (result u32)
                    (canon lift (core func $i "pair")))
                (func (export "sum-pair") (param "p" (tuple u32 u32)) (result u32)
                    (canon lift (core func $i "add")))
            )"#,
        );
        let text = generate(&plan, "calc", "calc_", 6, "calc.wat");
        assert!(
            text.contains(
                "pub fn add(&mut self, a_0: u32, b_1: u32) -> Result<u32, rt::CallError>"
            ),
            "{text}"
        );
        // A name the Instance already uses gets a `_`.
        assert!(text.contains("pub fn new_(&mut self"), "{text}");
        assert!(
            text.contains("#[link_name = \"calc_kiln_component\"]"),
            "{text}"
        );
        assert!(text.contains("kiln_abi_version_6"), "{text}");
        assert!(!text.contains("pub fn run("), "no wasi:cli/run: {text}");
        // A tuple is reached through `call` only.
        assert!(text.contains("\"sum-pair\""), "{text}");
        assert!(!text.contains("fn sum_pair"), "{text}");
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "kiln-build-component-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_component_compiles_to_an_archive_of_one_prefixed_object_and_bindings() {
        use object::{Object, ObjectSymbol};
        let dir = scratch("archive");
        let path = dir.join("calc.wat");
        std::fs::write(
            &path,
            r#"(component
                (core module $m (func (export "add") (param i32 i32) (result i32)
                    local.get 0 local.get 1 i32.add))
                (core instance $i (instantiate $m))
                (func (export "add") (param "a" u32) (param "b" u32) (result u32)
                    (canon lift (core func $i "add"))))"#,
        )
        .unwrap();
        let artifacts = Component::new(&path)
            .target("x86_64-unknown-linux-gnu")
            .out_dir(&dir)
            .cargo_metadata(false)
            .compile()
            .unwrap();
        assert_eq!(artifacts.name, "calc");
        assert_eq!(artifacts.library, "kiln_calc");
        let archive = std::fs::read(&artifacts.archive).unwrap();
        let members = crate::archive::read(&archive).unwrap();
        assert_eq!(members.len(), 1);
        let file = object::File::parse(&*members[0].data).unwrap();
        let globals: Vec<&str> = file
            .symbols()
            .filter(|symbol| symbol.is_global() && !symbol.is_undefined())
            .map(|symbol| symbol.name().unwrap())
            .collect();
        assert_eq!(globals.len(), 2, "{globals:?}");
        assert!(globals.contains(&"calc_kiln_component"), "{globals:?}");
        assert!(globals.contains(&"calc_kiln_m0_kiln_module"), "{globals:?}");
        let bindings = std::fs::read_to_string(&artifacts.bindings).unwrap();
        assert!(bindings.contains("pub mod calc {"), "{bindings}");
        assert!(bindings.contains("pub fn add(&mut self"), "{bindings}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_core_module_is_refused_with_a_pointer_to_module() {
        let dir = scratch("core");
        let path = dir.join("core.wat");
        std::fs::write(&path, "(module)").unwrap();
        let error = Component::new(&path)
            .out_dir(&dir)
            .cargo_metadata(false)
            .compile()
            .unwrap_err();
        assert!(
            error.to_string().ends_with(
                "core.wat: a core module, not a component: embed it with kiln_build::Module"
            ),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
