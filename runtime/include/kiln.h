/* The generic kiln C API: kiln-runtime built with its feature `c-api`
 * (runtime/src/c_api.rs). Every header that kiln-build or `kiln compile --header`
 * generates for a module embeds this file verbatim, and adds typed wrappers over it.
 * runtime/tests/c_header.rs checks that it compiles as C and C++ and declares exactly
 * the functions c_api.rs defines. */
#ifndef KILN_C_API_H
#define KILN_C_API_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
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
/* What a WASI guest may see; environment entries are "KEY=VALUE". The preopen_*
 * directories are read-write; the read_only_* ones (preopened after them) may be opened,
 * read, stat'ed and listed, and every change beneath them fails with EPERM (as
 * `kiln run --dir-read-only`). */
typedef struct kiln_wasi_config {
    const char *const *args;
    size_t n_args;
    const char *const *env;
    size_t n_env;
    const char *const *preopen_host_paths;
    const char *const *preopen_guest_paths;
    size_t n_preopens;
    const char *const *read_only_host_paths;
    const char *const *read_only_guest_paths;
    size_t n_read_only;
} kiln_wasi_config;
kiln_instance *kiln_instance_new(const kiln_module_descriptor *descriptor,
                                 const uint32_t *abi_marker, const kiln_import *imports,
                                 size_t n_imports, const kiln_wasi_config *wasi,
                                 kiln_error **error);
/* Limits for an instance's store; 0 in a field means none (max_stack_bytes: 1 MiB).
 * Past max_memory_bytes / max_table_elements memory.grow and table.grow return -1, and an
 * instance whose memory or table starts larger is not created. */
typedef struct kiln_limits {
    uint64_t max_memory_bytes;
    uint64_t max_table_elements;
    uint64_t max_stack_bytes;
    /* Units of fuel (module compiled with fuel metering); past them: "all fuel consumed". */
    uint64_t fuel;
    /* Wall-clock limit in nanoseconds from instantiation (module compiled with
     * interruption checks); past it: "interrupted: time limit". */
    uint64_t timeout_ns;
} kiln_limits;
/* kiln_instance_new with limits (null: none). */
kiln_instance *kiln_instance_new_limited(const kiln_module_descriptor *descriptor,
                                         const uint32_t *abi_marker,
                                         const kiln_import *imports, size_t n_imports,
                                         const kiln_wasi_config *wasi,
                                         const kiln_limits *limits, kiln_error **error);
void kiln_instance_delete(kiln_instance *instance);
/* The fuel left in *fuel: 0, or -1 when the instance's store does not meter fuel. */
int32_t kiln_instance_fuel(const kiln_instance *instance, uint64_t *fuel);
/* Refuels the instance's store. */
void kiln_instance_set_fuel(kiln_instance *instance, uint64_t fuel);
/* Interrupts the guest from any thread: it traps with "interrupted" at its next function
 * entry or loop header. The handle outlives the instance; free it with _delete. */
typedef struct kiln_interrupt_handle kiln_interrupt_handle;
kiln_interrupt_handle *kiln_instance_interrupt_handle(const kiln_instance *instance);
void kiln_interrupt(const kiln_interrupt_handle *handle);
void kiln_interrupt_handle_delete(kiln_interrupt_handle *handle);
/* A component (WASI 0.2) linked into the program, its image <name>_kiln_component,
 * instantiated with WASI 0.2 as wasi grants (null: nothing). */
typedef struct kiln_component kiln_component;
kiln_component *kiln_component_new(const uint64_t *image, const uint32_t *abi_marker,
                                   const kiln_wasi_config *wasi, kiln_error **error);
/* Runs wasi:cli/run: *exit_code is 0 for ok, 1 for err, or the guest's wasi:cli/exit code;
 * a trap is the error. */
kiln_error *kiln_component_run(kiln_component *component, int32_t *exit_code);
void kiln_component_delete(kiln_component *component);
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
#ifdef __cplusplus
}
#endif
#endif
