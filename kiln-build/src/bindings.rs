//! Typed Rust bindings of a compiled module, generated as source text that the host crate
//! `include!`s. They use only `kiln-runtime`.
//!
//! For a module named `filter` they are a Rust module `filter` with:
//! - `module()`: the linked module, found through its descriptor symbol
//!   `filter_kiln_module`; referencing the runtime's `kiln_abi_version_<N>` marker makes a
//!   runtime of another ABI version fail to link;
//! - `trait Imports`: one method per imported host function, with typed parameters and a
//!   `&mut Caller` for the instance's memory;
//! - `struct Instance`: one instance in its own store, made by
//!   `Instance::new(imports, wasi)` (each argument only when the module imports host
//!   functions, resp. WASI), with one typed method per exported function (returning
//!   `Result<_, CallError>`, so a trap is a value with its code and backtrace), `<memory>()`
//!   and `<memory>_mut()` per exported memory, and `<global>()` / `set_<global>()` per
//!   exported global. It is `Send` when the module imports no WASI.

use crate::interface::{describe, Interface};
use kiln_abi::metadata::{FuncType, HeapType, ValType};
use std::fmt::Write;

/// A value type's representative for the bindings: references by their hierarchy (every
/// function reference is an `Option<rt::Func>`, whatever its function type).
fn binding_type(ty: ValType) -> ValType {
    match ty {
        ValType::Ref(ty) if ty.top() == HeapType::Func => ValType::FUNCREF,
        // exnref is refused by the compiler until exception handling lands.
        ValType::Ref(_) => ValType::EXTERNREF,
        other => other,
    }
}

/// The name of a value type in the bindings' helper functions (`from_val_funcref`).
fn type_ident(ty: ValType) -> &'static str {
    match binding_type(ty) {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        ValType::V128 => "v128",
        ValType::Ref(_) if ty.as_ref().is_some_and(|r| r.top() == HeapType::Func) => "funcref",
        ValType::Ref(_) => "externref",
    }
}

/// The Rust type of a wasm value type.
fn rust_type(ty: ValType) -> &'static str {
    match binding_type(ty) {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        ValType::V128 => "u128",
        ValType::Ref(ty) if ty.top() == HeapType::Func => "Option<rt::Func>",
        ValType::Ref(_) => "Option<u64>",
    }
}

/// The expression that makes a `rt::Val` of type `ty` from the Rust value `expr`.
fn to_val(ty: ValType, expr: &str) -> String {
    match binding_type(ty) {
        ValType::I32 => format!("rt::Val::I32({expr})"),
        ValType::I64 => format!("rt::Val::I64({expr})"),
        ValType::F32 => format!("rt::Val::F32({expr}.to_bits())"),
        ValType::F64 => format!("rt::Val::F64({expr}.to_bits())"),
        ValType::V128 => format!("rt::Val::V128({expr})"),
        ValType::Ref(ty) if ty.top() == HeapType::Func => format!("rt::Val::FuncRef({expr})"),
        ValType::Ref(_) => format!("rt::Val::ExternRef({expr})"),
    }
}

/// The expression that reads the Rust value of type `ty` from the `&rt::Val` `expr`.
fn from_val(ty: ValType, expr: &str) -> String {
    format!("from_val_{}({expr})", type_ident(ty))
}

/// The Rust type of a list of results: `()`, `T` or a tuple.
fn results_type(results: &[ValType]) -> String {
    match results {
        [] => "()".into(),
        [one] => rust_type(*one).into(),
        many => format!(
            "({})",
            many.iter()
                .map(|ty| rust_type(*ty))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `arg0: i32, arg1: i64`
fn params_list(ty: &FuncType) -> String {
    ty.params
        .iter()
        .enumerate()
        .map(|(index, ty)| format!(", arg{index}: {}", rust_type(*ty)))
        .collect()
}

/// `vec![rt::ValType::I32, ...]`
fn val_types(types: &[ValType]) -> String {
    let items: Vec<String> = types
        .iter()
        .map(|ty| match ty {
            // Host imports refer to no function type of the module (interface.rs).
            ValType::Ref(r) => format!(
                "rt::ValType::Ref(rt::RefType {{ nullable: {}, heap: rt::HeapType::{:?} }})",
                r.nullable, r.heap
            ),
            other => format!("rt::ValType::{other:?}"),
        })
        .collect();
    format!("vec![{}]", items.join(", "))
}

/// The bindings of `interface`, whose object defines `<prefix>kiln_module`, for ABI
/// version `abi_version`.
pub(crate) fn generate(
    interface: &Interface,
    prefix: &str,
    abi_version: u32,
    source: &str,
) -> String {
    let name = &interface.name;
    let descriptor_symbol =
        kiln_abi::symbols::prefixed(prefix, kiln_abi::symbols::MODULE_DESCRIPTOR);
    let marker_symbol = kiln_abi::symbols::abi_version_symbol(abi_version);
    let has_imports = !interface.host_imports.is_empty();
    let mut out = String::new();
    let w = &mut out;

    writeln!(w, "// Generated by kiln-build from {source}: do not edit.").unwrap();
    writeln!(
        w,
        "/// The WebAssembly module `{name}` ({source}), compiled ahead of time by kiln: see"
    )
    .unwrap();
    writeln!(w, "/// [`{name}::Instance`].").unwrap();
    writeln!(
        w,
        "#[allow(dead_code, unused_imports, unused_mut, unused_unsafe, unused_variables, non_snake_case, clippy::all)]"
    )
    .unwrap();
    writeln!(w, "pub mod {name} {{").unwrap();
    writeln!(w, "    use ::kiln_runtime as rt;").unwrap();
    writeln!(w, "    use ::std::sync::{{Arc, Mutex, PoisonError}};").unwrap();
    writeln!(w).unwrap();
    writeln!(
        w,
        "    /// The kiln ABI version the module was compiled with."
    )
    .unwrap();
    writeln!(w, "    pub const ABI_VERSION: u32 = {abi_version};").unwrap();
    writeln!(w).unwrap();
    writeln!(w, "    unsafe extern \"C\" {{").unwrap();
    writeln!(
        w,
        "        /// The descriptor kiln-compiler emitted, in the module's archive."
    )
    .unwrap();
    writeln!(w, "        #[link_name = \"{descriptor_symbol}\"]").unwrap();
    writeln!(w, "        static DESCRIPTOR: rt::ModuleDescriptor;").unwrap();
    writeln!(
        w,
        "        /// Defined by a kiln-runtime of ABI version {abi_version} only: with another"
    )
    .unwrap();
    writeln!(w, "        /// runtime the link fails, naming this symbol.").unwrap();
    writeln!(w, "        #[link_name = \"{marker_symbol}\"]").unwrap();
    writeln!(w, "        static ABI_VERSION_MARKER: u32;").unwrap();
    writeln!(w, "    }}").unwrap();
    writeln!(w).unwrap();
    w.push_str(
        "    /// The compiled module, checked (ABI version included) and registered on first use.
    pub fn module() -> Result<rt::Module, rt::Error> {
        // SAFETY: only the marker's address is taken, so that the linker must resolve it.
        ::std::hint::black_box(unsafe { &raw const ABI_VERSION_MARKER });
        // SAFETY: `DESCRIPTOR` is the descriptor kiln-compiler wrote for this module,
        // relocated by the system linker together with the code it points to, which is
        // part of this binary for the life of the process.
        unsafe { rt::Module::from_descriptor(&DESCRIPTOR) }
    }

",
    );

    // Value conversions (the runtime has checked every value's type).
    for ty in [
        ValType::I32,
        ValType::I64,
        ValType::F32,
        ValType::F64,
        ValType::V128,
        ValType::FUNCREF,
        ValType::EXTERNREF,
    ] {
        let (pattern, value) = match ty {
            ValType::I32 => ("I32(value)", "*value"),
            ValType::I64 => ("I64(value)", "*value"),
            ValType::F32 => ("F32(bits)", "f32::from_bits(*bits)"),
            ValType::F64 => ("F64(bits)", "f64::from_bits(*bits)"),
            ValType::V128 => ("V128(value)", "*value"),
            ValType::Ref(ty) if ty.top() == HeapType::Func => ("FuncRef(value)", "*value"),
            ValType::Ref(_) => ("ExternRef(value)", "*value"),
        };
        writeln!(
            w,
            "    fn from_val_{n}(value: &rt::Val) -> {t} {{\n        match value {{\n            rt::Val::{pattern} => {value},\n            other => unreachable!(\"kiln: expected a {n}, got {{other:?}}\"),\n        }}\n    }}\n",
            n = type_ident(ty),
            t = rust_type(ty),
        )
        .unwrap();
    }

    w.push_str(
        "    fn export(store: &rt::Store, instance: rt::Instance, name: &str) -> Result<rt::Extern, rt::InstantiateError> {
        instance.get_export(store, name).ok_or_else(|| {
            rt::InstantiateError::Unlinkable(format!(\"kiln: the module has no export `{name}`\"))
        })
    }

",
    );

    if has_imports {
        let send = if interface.wasi { "" } else { "Send + " };
        writeln!(
            w,
            "    /// The host functions the module imports. Each method gets the calling"
        )
        .unwrap();
        writeln!(
            w,
            "    /// instance (for its memory) and the wasm arguments; an `Err` stops the guest"
        )
        .unwrap();
        writeln!(w, "    /// and comes back from the export the host called.").unwrap();
        writeln!(w, "    pub trait Imports: {send}'static {{").unwrap();
        for import in &interface.host_imports {
            writeln!(
                w,
                "        /// `{}::{}`: `{}`.",
                import.module,
                import.name,
                describe(&import.ty)
            )
            .unwrap();
            writeln!(
                w,
                "        fn {}(&mut self, caller: &mut rt::Caller<'_>{}) -> Result<{}, rt::HostError>;",
                import.ident,
                params_list(&import.ty),
                results_type(&import.ty.results)
            )
            .unwrap();
        }
        writeln!(w, "    }}\n").unwrap();
    }

    // The instance.
    writeln!(w, "    /// An instance of `{name}`, in a store of its own.").unwrap();
    if interface.wasi {
        writeln!(w, "    ///").unwrap();
        writeln!(
            w,
            "    /// Not `Send`: the module imports WASI, whose state is single-threaded;"
        )
        .unwrap();
        writeln!(w, "    /// create the instance on the thread that uses it.").unwrap();
    } else {
        writeln!(w, "    ///").unwrap();
        writeln!(
            w,
            "    /// `Send`: it may move to another thread; instances on different threads run"
        )
        .unwrap();
        writeln!(
            w,
            "    /// in parallel, and a trap on one thread does not disturb the others."
        )
        .unwrap();
    }
    if !interface.skipped_tables.is_empty() {
        writeln!(w, "    ///").unwrap();
        writeln!(
            w,
            "    /// Exported tables without accessors (reach them through `instance()`): {}.",
            interface.skipped_tables.join(", ")
        )
        .unwrap();
    }
    writeln!(w, "    pub struct Instance {{").unwrap();
    writeln!(w, "        store: rt::Store,").unwrap();
    writeln!(w, "        instance: rt::Instance,").unwrap();
    for func in &interface.funcs {
        writeln!(w, "        func_{}: rt::Func,", func.ident).unwrap();
    }
    for memory in &interface.memories {
        writeln!(w, "        memory_{}: rt::Memory,", memory.ident).unwrap();
    }
    for global in &interface.globals {
        writeln!(w, "        global_{}: rt::Global,", global.ident).unwrap();
    }
    writeln!(w, "    }}\n").unwrap();

    if !interface.wasi {
        w.push_str(
            "    // SAFETY: a `Store` is `!Send` only for the host closures it may hold and for its
    // raw pointers, which point into allocations the store owns and that move with it;
    // nothing else in it is tied to a thread (see the documentation of `Store`). This
    // store is created by `Instance::new` and never handed out mutably, so its only host
    // functions are the ones `new` defines, which capture an `Arc<Mutex<I>>` with
    // `I: Imports: Send`. `Instance` stays `!Sync` (through `Store`).
    unsafe impl Send for Instance {}

",
        );
    }

    writeln!(w, "    impl Instance {{").unwrap();
    let mut new_params = Vec::new();
    if has_imports {
        new_params.push("imports: impl Imports".to_string());
    }
    if interface.wasi {
        new_params.push("wasi: rt::wasi::WasiCtx".to_string());
    }
    writeln!(
        w,
        "        /// Instantiates the module: links its imports, runs its start function"
    )
    .unwrap();
    writeln!(w, "        /// (and `_initialize` for a WASI reactor).").unwrap();
    let new_args: Vec<&str> = new_params
        .iter()
        .map(|param| param.split(':').next().unwrap_or_default())
        .collect();
    writeln!(
        w,
        "        pub fn new({}) -> Result<Instance, rt::InstantiateError> {{
            Self::with_limits(rt::RunLimits::default(){})
        }}

        /// Instantiates the module as [`Instance::new`] does, its store under `limits`
        /// (caps on memories and tables, the wasm stack).
        pub fn with_limits({}) -> Result<Instance, rt::InstantiateError> {{",
        new_params.join(", "),
        new_args
            .iter()
            .map(|a| format!(", {a}"))
            .collect::<String>(),
        std::iter::once("limits: rt::RunLimits".to_string())
            .chain(new_params.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ")
    )
    .unwrap();
    w.push_str(
        "            let module = module().map_err(|error| rt::InstantiateError::Host(error.to_string()))?;
            let mut store = rt::Store::new();
            limits.apply(&mut store).map_err(|error| rt::InstantiateError::Host(format!(\"cannot start the time limit: {error}\")))?;
            let mut linker = rt::Linker::new();
",
    );
    if interface.wasi {
        writeln!(
            w,
            "            rt::wasi::add_to_linker(&mut linker, &mut store, wasi);"
        )
        .unwrap();
    }
    if has_imports {
        writeln!(
            w,
            "            let imports = Arc::new(Mutex::new(imports));"
        )
        .unwrap();
    }
    for import in &interface.host_imports {
        let ty = &import.ty;
        let args: String = ty
            .params
            .iter()
            .enumerate()
            .map(|(index, param)| format!(", {}", from_val(*param, &format!("&args[{index}]"))))
            .collect();
        let results = match ty.results.as_slice() {
            [] => "vec![]".to_string(),
            [one] => format!("vec![{}]", to_val(*one, "result")),
            many => format!(
                "vec![{}]",
                many.iter()
                    .enumerate()
                    .map(|(index, ty)| to_val(*ty, &format!("result.{index}")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        writeln!(
            w,
            "            {{
                let imports = Arc::clone(&imports);
                let ty = rt::FuncType {{ params: {params}, results: {results_ty} }};
                let func = rt::Func::new_host(&mut store, ty, move |caller, args| {{
                    let mut imports = imports.lock().unwrap_or_else(PoisonError::into_inner);
                    let result = imports.{ident}(caller{args})?;
                    Ok({results})
                }});
                linker.define({module:?}, {import_name:?}, rt::Extern::Func(func));
            }}",
            params = val_types(&ty.params),
            results_ty = val_types(&ty.results),
            ident = import.ident,
            module = import.module,
            import_name = import.name,
        )
        .unwrap();
    }
    writeln!(
        w,
        "            let instance = linker.instantiate(&mut store, &module)?;"
    )
    .unwrap();
    for (kind, prefix, idents) in [
        (
            "Func",
            "func",
            interface
                .funcs
                .iter()
                .map(|f| (&f.ident, &f.name))
                .collect::<Vec<_>>(),
        ),
        (
            "Memory",
            "memory",
            interface
                .memories
                .iter()
                .map(|m| (&m.ident, &m.name))
                .collect(),
        ),
        (
            "Global",
            "global",
            interface
                .globals
                .iter()
                .map(|g| (&g.ident, &g.name))
                .collect(),
        ),
    ] {
        for (ident, export_name) in idents {
            writeln!(
                w,
                "            let rt::Extern::{kind}({prefix}_{ident}) = export(&store, instance, {export_name:?})? else {{
                return Err(rt::InstantiateError::Unlinkable(\"kiln: export `{}` changed kind\".into()));
            }};",
                export_name.escape_default()
            )
            .unwrap();
        }
    }
    writeln!(w, "            let mut this = Instance {{ store, instance,").unwrap();
    for func in &interface.funcs {
        writeln!(w, "                func_{},", func.ident).unwrap();
    }
    for memory in &interface.memories {
        writeln!(w, "                memory_{},", memory.ident).unwrap();
    }
    for global in &interface.globals {
        writeln!(w, "                global_{},", global.ident).unwrap();
    }
    writeln!(w, "            }};").unwrap();
    if interface.reactor {
        writeln!(
            w,
            "            if let rt::Extern::Func(initialize) = export(&this.store, this.instance, {:?})? {{
                initialize.call(&mut this.store, &[])?;
            }}",
            crate::interface::REACTOR_INITIALIZE
        )
        .unwrap();
    }
    writeln!(w, "            Ok(this)\n        }}\n").unwrap();

    w.push_str(
        "        /// The instance's store (to read its memories, tables and globals directly).
        pub fn store(&self) -> &rt::Store {
            &self.store
        }

        /// The instance in its store.
        pub fn instance(&self) -> rt::Instance {
            self.instance
        }

        /// The fuel left, when the instance runs with a fuel limit (`RunLimits::fuel`; the
        /// module must be built with `kiln_build::Module::fuel(true)`).
        pub fn fuel(&self) -> Option<u64> {
            self.store.fuel()
        }

        /// Refuels the instance (from then on it meters fuel).
        pub fn set_fuel(&mut self, fuel: u64) {
            self.store.set_fuel(fuel)
        }

        /// A handle that interrupts the instance's guest from any thread: it traps with
        /// \"interrupted\" (module built with `kiln_build::Module::interruptible(true)`).
        pub fn interrupt_handle(&self) -> rt::InterruptHandle {
            self.store.interrupt_handle()
        }
",
    );

    for func in &interface.funcs {
        let ty = &func.ty;
        let args: Vec<String> = ty
            .params
            .iter()
            .enumerate()
            .map(|(index, param)| to_val(*param, &format!("arg{index}")))
            .collect();
        let result = match ty.results.as_slice() {
            [] => "()".to_string(),
            [one] => from_val(*one, "&results[0]"),
            many => format!(
                "({})",
                many.iter()
                    .enumerate()
                    .map(|(index, ty)| from_val(*ty, &format!("&results[{index}]")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        writeln!(
            w,
            "
        /// Calls the export `{export}`: `{signature}`. A trap comes back as
        /// `Err(CallError::Trap(trap))` with its code and wasm backtrace; an exception
        /// the module does not catch as one with code `UncaughtException` and
        /// `exception_tag` naming its tag.
        pub fn {ident}(&mut self{params}) -> Result<{results_type}, rt::CallError> {{
            let results = self.func_{ident}.call(&mut self.store, &[{args}])?;
            Ok({result})
        }}",
            export = func.name.escape_default(),
            signature = describe(ty),
            ident = func.ident,
            params = params_list(ty),
            results_type = results_type(&ty.results),
            args = args.join(", "),
        )
        .unwrap();
    }

    for memory in &interface.memories {
        writeln!(
            w,
            "
        /// The bytes of the exported memory `{export}`.
        pub fn {ident}(&self) -> &[u8] {{
            self.memory_{ident}.data(&self.store)
        }}

        /// The bytes of the exported memory `{export}`, mutably.
        pub fn {ident_mut}(&mut self) -> &mut [u8] {{
            self.memory_{ident}.data_mut(&mut self.store)
        }}",
            export = memory.name.escape_default(),
            ident = memory.ident,
            ident_mut = memory.ident_mut,
        )
        .unwrap();
    }

    for global in &interface.globals {
        let ty = global.ty.ty;
        writeln!(
            w,
            "
        /// The value of the exported global `{export}` ({mutability}{wasm_type}).
        pub fn {ident}(&self) -> {rust_type} {{
            {read}
        }}",
            export = global.name.escape_default(),
            mutability = if global.ty.mutable { "mutable " } else { "" },
            wasm_type = ty,
            ident = global.ident,
            rust_type = rust_type(ty),
            read = from_val(
                ty,
                &format!("&self.global_{}.get(&self.store)", global.ident)
            ),
        )
        .unwrap();
        if global.ty.mutable {
            writeln!(
                w,
                "
        /// Sets the exported global `{export}`.
        pub fn {setter}(&mut self, value: {rust_type}) -> Result<(), rt::Error> {{
            self.global_{ident}.set(&mut self.store, {value})
        }}",
                export = global.name.escape_default(),
                setter = global.setter,
                ident = global.ident,
                rust_type = rust_type(ty),
                value = to_val(ty, "value"),
            )
            .unwrap();
        }
    }
    writeln!(w, "    }}\n}}").unwrap();
    out
}

#[cfg(test)]
mod tests {
    use crate::{compile_module, generate_c_header, interface, OptLevel};

    /// `wat` compiled as module `name`, through a file as a build script gives it.
    fn compiled(name: &str, wat: &str) -> crate::CompiledModule {
        let dir = std::env::temp_dir().join(format!("kiln-build-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.wat"));
        std::fs::write(&path, wat).unwrap();
        compile_module(
            &path,
            name,
            None,
            OptLevel::Speed,
            crate::RelaxedSimd::Fast,
            crate::Checks::default(),
        )
        .unwrap()
    }

    #[test]
    fn typed_function_references_in_exports_are_function_references() {
        let module = compiled(
            "typed",
            r#"(module
                 (type $t (func (result i32)))
                 (func $seven (type $t) (i32.const 7))
                 (elem declare func $seven)
                 (func (export "pick") (param (ref null $t)) (result (ref $t))
                   (ref.func $seven))
                 (func (export "call") (param (ref $t)) (result i32)
                   (call_ref $t (local.get 0))))"#,
        );
        let metadata = module.metadata();
        let interface = interface::interface(&metadata, "typed").unwrap();
        let rust = super::generate(&interface, &module.prefix, 5, "typed.wat");
        assert!(
            rust.contains("pub fn pick(&mut self, arg0: Option<rt::Func>) -> Result<Option<rt::Func>, rt::CallError>"),
            "{rust}"
        );
        assert!(
            rust.contains(
                "pub fn call(&mut self, arg0: Option<rt::Func>) -> Result<i32, rt::CallError>"
            ),
            "{rust}"
        );
        let header = generate_c_header(&module, "typed", "typed.wat").unwrap();
        assert!(
            header.contains("/* export pick: ((ref null 0)) -> ((ref 0)) has no C wrapper"),
            "{header}"
        );
    }

    #[test]
    fn host_imports_of_typed_function_references_are_refused_by_name() {
        let module = compiled(
            "imports_typed",
            r#"(module
                 (type $t (func))
                 (import "env" "take" (func (param (ref $t)))))"#,
        );
        let metadata = module.metadata();
        let error = interface::interface(&metadata, "imports_typed")
            .err()
            .unwrap();
        assert!(error.starts_with("imports `env::take` of type"), "{error}");
    }
}
