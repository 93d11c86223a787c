//! C headers for C and C++ hosts. A header declares the generic C interface of
//! kiln-runtime (feature `c-api`, `runtime/src/c_api.rs`) once, and for a module named
//! `calc` typed inline wrappers over it:
//!
//! ```c
//! typedef struct calc_imports {           /* only when the module imports host functions */
//!     void *env;                          /* passed to every callback */
//!     void (*log)(void *env, int32_t arg0);
//! } calc_imports;
//! calc_instance *calc_new(const calc_imports *imports,      /* when it imports functions */
//!                         const kiln_wasi_config *wasi,     /* when it imports WASI */
//!                         kiln_error **error);
//! void calc_free(calc_instance *instance);
//! kiln_error *calc_add(calc_instance *instance, int32_t arg0, int32_t arg1, int32_t *result0);
//! uint8_t *calc_memory(calc_instance *instance, size_t *length);
//! kiln_error *calc_counter(calc_instance *instance, int32_t *value);
//! kiln_error *calc_set_counter(calc_instance *instance, int32_t value);
//! ```
//!
//! Every wrapper that can fail returns a `kiln_error *` (null on success): a trap carries
//! its code (`kiln_error_trap_code`) and backtrace (`kiln_error_backtrace_name`). `calc_new`
//! passes the address of `kiln_abi_version_<N>` to the runtime, so a runtime of another ABI
//! version fails to link. Functions whose types use `v128` or references have no wrapper.

use crate::interface::{describe, Interface};
use kiln_abi::metadata::{FuncType, ValType};
use std::fmt::Write;

/// The generic C API, as `runtime/src/c_api.rs` defines it.
const C_API: &str = r#"/* The generic kiln C API (kiln-runtime with feature `c-api`), shared by every module. */
#ifndef KILN_C_API_H
#define KILN_C_API_H
/* A wasm number: the field is chosen by the function's type. */
typedef union kiln_val { int32_t i32; int64_t i64; float f32; double f64; } kiln_val;
typedef struct kiln_instance kiln_instance;
typedef struct kiln_error kiln_error;
typedef struct kiln_module_descriptor kiln_module_descriptor;
/* A host function: reads args, writes results, returns 0 (non-zero stops the guest). */
typedef int32_t (*kiln_host_fn)(void *env, const kiln_val *args, kiln_val *results);
typedef struct kiln_import {
    const char *module;
    const char *name;
    kiln_host_fn func;
    void *env;
} kiln_import;
/* What a WASI guest may see; environment entries are "KEY=VALUE". */
typedef struct kiln_wasi_config {
    const char *const *args;
    size_t n_args;
    const char *const *env;
    size_t n_env;
    const char *const *preopen_host_paths;
    const char *const *preopen_guest_paths;
    size_t n_preopens;
} kiln_wasi_config;
kiln_instance *kiln_instance_new(const kiln_module_descriptor *descriptor,
                                 const uint32_t *abi_marker, const kiln_import *imports,
                                 size_t n_imports, const kiln_wasi_config *wasi,
                                 kiln_error **error);
void kiln_instance_delete(kiln_instance *instance);
kiln_error *kiln_call(kiln_instance *instance, const char *name, const kiln_val *args,
                      size_t n_args, kiln_val *results, size_t n_results);
uint8_t *kiln_memory_data(kiln_instance *instance, const char *name, size_t *length);
kiln_error *kiln_global_get(kiln_instance *instance, const char *name, kiln_val *value);
kiln_error *kiln_global_set(kiln_instance *instance, const char *name, kiln_val value);
/* The report: for a trap, its message and wasm backtrace. */
const char *kiln_error_message(const kiln_error *error);
/* The trap code (kiln's TrapCode numbering), or -1 when the error is not a trap. */
int32_t kiln_error_trap_code(const kiln_error *error);
/* The guest's proc_exit code, or -1. */
int32_t kiln_error_exit_code(const kiln_error *error);
size_t kiln_error_backtrace_len(const kiln_error *error);
const char *kiln_error_backtrace_name(const kiln_error *error, size_t index);
void kiln_error_delete(kiln_error *error);
#endif
"#;

/// The C type and `kiln_val` field of a value type, if the C API carries it.
fn c_type(ty: ValType) -> Option<(&'static str, &'static str)> {
    match ty {
        ValType::I32 => Some(("int32_t", "i32")),
        ValType::I64 => Some(("int64_t", "i64")),
        ValType::F32 => Some(("float", "f32")),
        ValType::F64 => Some(("double", "f64")),
        ValType::V128 | ValType::FuncRef | ValType::ExternRef => None,
    }
}

fn supported(ty: &FuncType) -> bool {
    ty.params
        .iter()
        .chain(&ty.results)
        .all(|&ty| c_type(ty).is_some())
}

/// `text` as a C string literal.
fn c_string(text: &str) -> String {
    let mut out = String::from("\"");
    for byte in text.bytes() {
        match byte {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(byte as char);
            }
            0x20..=0x7e => out.push(byte as char),
            _ => write!(out, "\\{byte:03o}").unwrap(),
        }
    }
    out.push('"');
    out
}

/// The header of `interface`, whose object defines `<prefix>kiln_module`, for ABI version
/// `abi_version`.
pub(crate) fn generate(
    interface: &Interface,
    prefix: &str,
    abi_version: u32,
    source: &str,
) -> String {
    let name = &interface.name;
    let descriptor = kiln_abi::symbols::prefixed(prefix, kiln_abi::symbols::MODULE_DESCRIPTOR);
    let marker = kiln_abi::symbols::abi_version_symbol(abi_version);
    let mut out = String::new();
    let w = &mut out;
    writeln!(
        w,
        "/* Generated by kiln-build from {source}: do not edit. */"
    )
    .unwrap();
    writeln!(
        w,
        "#ifndef KILN_MODULE_{name}_H\n#define KILN_MODULE_{name}_H"
    )
    .unwrap();
    writeln!(w, "#include <stddef.h>\n#include <stdint.h>").unwrap();
    writeln!(w, "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n").unwrap();
    w.push_str(C_API);
    writeln!(w).unwrap();
    writeln!(w, "/* The module's descriptor, in its archive. */").unwrap();
    writeln!(w, "extern const kiln_module_descriptor {descriptor};").unwrap();
    writeln!(
        w,
        "/* Defined by a kiln runtime of ABI version {abi_version} only: another fails to link. */"
    )
    .unwrap();
    writeln!(w, "extern const uint32_t {marker};\n").unwrap();
    writeln!(w, "/* An instance of `{name}`, in a store of its own. */").unwrap();
    writeln!(w, "typedef struct {name}_instance {name}_instance;\n").unwrap();

    let has_imports = !interface.host_imports.is_empty();
    if has_imports {
        writeln!(
            w,
            "/* The host functions `{name}` imports; `env` is passed to each. */"
        )
        .unwrap();
        writeln!(w, "typedef struct {name}_imports {{\n    void *env;").unwrap();
        for import in &interface.host_imports {
            let ty = &import.ty;
            let mut params = vec!["void *env".to_string()];
            for (index, &param) in ty.params.iter().enumerate() {
                params.push(format!("{} arg{index}", c_type(param).map_or("?", |t| t.0)));
            }
            let result = match ty.results.as_slice() {
                [] => "void",
                [one] => c_type(*one).map_or("?", |t| t.0),
                many => {
                    for (index, &result) in many.iter().enumerate() {
                        params.push(format!(
                            "{} *result{index}",
                            c_type(result).map_or("?", |t| t.0)
                        ));
                    }
                    "void"
                }
            };
            writeln!(
                w,
                "    /* {}::{}: {} */",
                import.module,
                import.name,
                describe(ty)
            )
            .unwrap();
            writeln!(
                w,
                "    {result} (*{})({});",
                import.ident,
                params.join(", ")
            )
            .unwrap();
        }
        writeln!(w, "}} {name}_imports;\n").unwrap();

        for import in &interface.host_imports {
            let ty = &import.ty;
            let mut args = vec!["imports->env".to_string()];
            for (index, &param) in ty.params.iter().enumerate() {
                args.push(format!(
                    "args[{index}].{}",
                    c_type(param).map_or("?", |t| t.1)
                ));
            }
            let call = match ty.results.as_slice() {
                [] => format!("imports->{}({});", import.ident, args.join(", ")),
                [one] => format!(
                    "results[0].{} = imports->{}({});",
                    c_type(*one).map_or("?", |t| t.1),
                    import.ident,
                    args.join(", ")
                ),
                many => {
                    for (index, &result) in many.iter().enumerate() {
                        args.push(format!(
                            "&results[{index}].{}",
                            c_type(result).map_or("?", |t| t.1)
                        ));
                    }
                    format!("imports->{}({});", import.ident, args.join(", "))
                }
            };
            writeln!(
                w,
                "static inline int32_t {name}_imports_{ident}_call(void *env, const kiln_val *args, kiln_val *results) {{
    const {name}_imports *imports = (const {name}_imports *)env;
    (void)args;
    (void)results;
    {call}
    return 0;
}}\n",
                ident = import.ident,
            )
            .unwrap();
        }
    }

    let mut params = Vec::new();
    if has_imports {
        params.push(format!("const {name}_imports *imports"));
    }
    if interface.wasi {
        params.push("const kiln_wasi_config *wasi".to_string());
    }
    params.push("kiln_error **error".to_string());
    writeln!(
        w,
        "/* Instantiates `{name}` (running its start function, and _initialize for a WASI
   reactor); `imports` must outlive the instance. Returns NULL and sets *error on failure. */"
    )
    .unwrap();
    writeln!(
        w,
        "static inline {name}_instance *{name}_new({}) {{",
        params.join(", ")
    )
    .unwrap();
    let n_imports = interface.host_imports.len();
    if has_imports {
        writeln!(w, "    kiln_import list[{n_imports}] = {{").unwrap();
        for import in &interface.host_imports {
            writeln!(
                w,
                "        {{{}, {}, {name}_imports_{}_call, (void *)imports}},",
                c_string(&import.module),
                c_string(&import.name),
                import.ident
            )
            .unwrap();
        }
        writeln!(w, "    }};").unwrap();
    }
    writeln!(
        w,
        "    return ({name}_instance *)kiln_instance_new(&{descriptor}, &{marker}, {}, {n_imports}, {}, error);\n}}\n",
        if has_imports { "list" } else { "NULL" },
        if interface.wasi { "wasi" } else { "NULL" },
    )
    .unwrap();
    writeln!(
        w,
        "static inline void {name}_free({name}_instance *instance) {{\n    kiln_instance_delete((kiln_instance *)instance);\n}}\n"
    )
    .unwrap();

    for func in &interface.funcs {
        let ty = &func.ty;
        if !supported(ty) {
            writeln!(
                w,
                "/* export {}: {} has no C wrapper (v128 or references). */\n",
                func.name.escape_default(),
                describe(ty)
            )
            .unwrap();
            continue;
        }
        let mut params = vec![format!("{name}_instance *instance")];
        let mut body = String::new();
        for (index, &param) in ty.params.iter().enumerate() {
            let (c, field) = c_type(param).unwrap();
            params.push(format!("{c} arg{index}"));
            writeln!(body, "    args[{index}].{field} = arg{index};").unwrap();
        }
        let mut store_results = String::new();
        for (index, &result) in ty.results.iter().enumerate() {
            let (c, field) = c_type(result).unwrap();
            params.push(format!("{c} *result{index}"));
            writeln!(
                store_results,
                "        if (result{index} != NULL) *result{index} = results[{index}].{field};"
            )
            .unwrap();
        }
        writeln!(
            w,
            "/* Calls the export `{export}`: {signature}. Results go to the non-NULL result
   pointers; returns NULL, or the error (a trap with its code and backtrace). */
static inline kiln_error *{name}_{ident}({params}) {{
    kiln_val args[{n_args_array}];
    kiln_val results[{n_results_array}];
    kiln_error *error;
{body}    error = kiln_call((kiln_instance *)instance, {export_literal}, args, {n_args}, results, {n_results});
    if (error == NULL) {{
{store_results}    }}
    return error;
}}\n",
            export = func.name.escape_default(),
            signature = describe(ty),
            ident = func.ident,
            params = params.join(", "),
            n_args_array = ty.params.len().max(1),
            n_results_array = ty.results.len().max(1),
            export_literal = c_string(&func.name),
            n_args = ty.params.len(),
            n_results = ty.results.len(),
        )
        .unwrap();
    }

    for memory in &interface.memories {
        writeln!(
            w,
            "/* The bytes of the exported memory `{export}` and their number (*length); valid until
   the next call into the instance. */
static inline uint8_t *{name}_{ident}({name}_instance *instance, size_t *length) {{
    return kiln_memory_data((kiln_instance *)instance, {literal}, length);
}}\n",
            export = memory.name.escape_default(),
            ident = memory.ident,
            literal = c_string(&memory.name),
        )
        .unwrap();
    }

    for global in &interface.globals {
        let Some((c, field)) = c_type(global.ty.ty) else {
            continue;
        };
        writeln!(
            w,
            "/* Reads the exported global `{export}`. */
static inline kiln_error *{name}_{ident}({name}_instance *instance, {c} *value) {{
    kiln_val raw;
    kiln_error *error = kiln_global_get((kiln_instance *)instance, {literal}, &raw);
    if (error == NULL) *value = raw.{field};
    return error;
}}\n",
            export = global.name.escape_default(),
            ident = global.ident,
            literal = c_string(&global.name),
        )
        .unwrap();
        if global.ty.mutable {
            writeln!(
                w,
                "/* Sets the exported global `{export}`. */
static inline kiln_error *{name}_{setter}({name}_instance *instance, {c} value) {{
    kiln_val raw;
    raw.{field} = value;
    return kiln_global_set((kiln_instance *)instance, {literal}, raw);
}}\n",
                export = global.name.escape_default(),
                setter = global.setter,
                literal = c_string(&global.name),
            )
            .unwrap();
        }
    }
    writeln!(w, "#ifdef __cplusplus\n}}\n#endif\n#endif").unwrap();
    out
}

/// Why the C wrappers cannot cover `interface`, if they cannot: an imported host function
/// whose type the C API does not carry.
pub(crate) fn check(interface: &Interface) -> Result<(), String> {
    match interface
        .host_imports
        .iter()
        .find(|import| !supported(&import.ty))
    {
        Some(import) => Err(format!(
            "imports `{}::{}` of type {}: the C interface carries only i32, i64, f32 and f64",
            import.module,
            import.name,
            describe(&import.ty)
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_string_literals() {
        assert_eq!(c_string("add"), "\"add\"");
        assert_eq!(c_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(c_string("é"), "\"\\303\\251\"");
    }
}
