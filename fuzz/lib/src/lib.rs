//! kiln's fuzz targets as a library, shared by the cargo-fuzz targets in `fuzz/` and the
//! bounded smoke run in `tests/smoke.rs` (issue 17):
//!
//! - [`compile_never_panics`]: arbitrary bytes, and a `wasm-smith` module made from the
//!   same bytes, through `kiln_compiler::compile`; errors are fine, a panic is a failure.
//! - [`differential`]: a `wasm-smith` module (Wasm 2.0 features and the Wasm 3.0 ones kiln
//!   and wasmi both implement: tail calls, multi-memory, memory64, extended constant
//!   expressions; no imports, everything exported) run by kiln and by the `wasmi`
//!   interpreter with the same arguments; results (NaN-aware), traps and their kinds, and
//!   the exported memories and globals afterwards must agree. Stack exhaustion on either
//!   side is the one implementation-defined difference: the case is reported as
//!   [`Outcome::Skipped`], nothing else is ignored. A quarter of the cases are bounded by
//!   fuel (kiln's compiled-in metering, wasmi's own) instead of wasm-smith's termination
//!   counter, so loops stay as generated and kiln's fuel code is run too; the two count
//!   fuel differently, so a case where either runs out is skipped, counted.
//! - [`wasi()`]: a random sequence of WASI calls against a scratch preopen (`wasi.rs`): no
//!   host crash, nothing outside the scratch directory touched or read.
//!
//! Both return `Err(description)` on a failure so the smoke test can print it; the fuzz
//! targets panic on it.

mod wasi;

pub use wasi::{wasi, WasiRun};

use arbitrary::Unstructured;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a differential case did when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Both sides ran the module and agreed; the number of export calls compared.
    Agreed(usize),
    /// Nothing to compare: the bytes did not make a module, or one side exhausted its stack.
    Skipped(&'static str),
}

fn compile_options() -> kiln_compiler::CompileOptions {
    kiln_compiler::CompileOptions {
        // The smoke run and libFuzzer run one case at a time; no thread pool per case.
        parallel: false,
        ..Default::default()
    }
}

/// The kiln options a case compiles with, drawn from its input: each changes the code
/// kiln emits, so each must keep its behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    /// Fuel metering, and the fuel each side starts with (`None`: no metering).
    pub fuel: Option<u64>,
    pub opt_level: kiln_compiler::OptLevel,
    /// Explicit bounds checks (`--bounds-checks`) instead of guard pages.
    pub bounds_checks: bool,
    /// Interruption checks (`--timeout`), never triggered here.
    pub interruptible: bool,
    /// Calls inlined across the module (`--inline`). Drawn after the module, from what is
    /// left of the input, so that adding it changed no earlier input's module.
    pub inline: bool,
    /// `call_indirect` through fixed tables left checked (`--no-devirt`); kiln
    /// devirtualizes by default. Drawn after `inline`, for the same reason.
    pub no_devirt: bool,
    /// Function entries counted (`--profile-generate`). Drawn after `no_devirt`.
    pub profile_generate: bool,
    /// Compiled with a profile (`--profile-use`) made up from this seed: each defined
    /// function never entered, entered a few times or very often, which changes placement
    /// and, with `inline`, inlining, but never results. Drawn after `profile_generate`.
    pub profile_seed: Option<u64>,
    /// Every function compiled, also those nothing can run (`--keep-unused-functions`);
    /// kiln leaves them out by default. Drawn after the profile settings.
    pub keep_unused_functions: bool,
    /// Every function compiled on its own, also those identical to an earlier one
    /// (`--keep-identical-functions`); kiln folds them by default. Drawn after
    /// `keep_unused_functions`.
    pub keep_identical_functions: bool,
    /// The first memory at its fixed address, as in `kiln build`'s executables (x86_64;
    /// elsewhere the code is the same). Drawn last.
    pub fixed_memory_address: bool,
}

impl Settings {
    fn draw(u: &mut Unstructured<'_>) -> Settings {
        use kiln_compiler::OptLevel;
        Settings {
            fuel: u.ratio(1, 4).unwrap_or(false).then_some(FUEL),
            opt_level: *u
                .choose(&[
                    OptLevel::Speed,
                    OptLevel::Speed,
                    OptLevel::None,
                    OptLevel::SpeedAndSize,
                ])
                .unwrap_or(&OptLevel::Speed),
            bounds_checks: u.ratio(1, 4).unwrap_or(false),
            interruptible: u.ratio(1, 4).unwrap_or(false),
            inline: false,
            no_devirt: false,
            profile_generate: false,
            profile_seed: None,
            keep_unused_functions: false,
            keep_identical_functions: false,
            fixed_memory_address: false,
        }
    }

    /// These settings with `inline`, `no_devirt`, the profile settings,
    /// `keep_unused_functions`, `keep_identical_functions` and `fixed_memory_address`
    /// drawn from the rest of the input.
    fn draw_inline(self, u: &mut Unstructured<'_>) -> Settings {
        let inline = u.ratio(1, 2).unwrap_or(false);
        let no_devirt = u.ratio(1, 2).unwrap_or(false);
        let profile_generate = u.ratio(1, 4).unwrap_or(false);
        let profile_seed = match u.ratio(1, 3) {
            Ok(true) => u.arbitrary::<u64>().ok(),
            _ => None,
        };
        let keep_unused_functions = u.ratio(1, 4).unwrap_or(false);
        let keep_identical_functions = u.ratio(1, 4).unwrap_or(false);
        let fixed_memory_address = u.ratio(1, 2).unwrap_or(false);
        Settings {
            inline,
            no_devirt,
            profile_generate,
            profile_seed,
            keep_unused_functions,
            keep_identical_functions,
            fixed_memory_address,
            ..self
        }
    }

    /// A made-up profile of `wasm` from `seed`: by defined function, 0 (a third of
    /// them), a few entries, or very many.
    fn profile(wasm: &[u8], seed: u64) -> kiln_compiler::Profile {
        let n = kiln_compiler::profile::defined_functions(wasm);
        let counts = (0..n as u64)
            .map(|index| {
                // SplitMix64 of the seed and the index.
                let mut z = seed.wrapping_add(index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                match z % 3 {
                    0 => 0,
                    1 => z >> 60,
                    _ => z >> 20,
                }
            })
            .collect();
        kiln_compiler::Profile::new(kiln_compiler::profile::module_sha256(wasm), counts)
    }

    fn compile_options(&self, wasm: &[u8]) -> kiln_compiler::CompileOptions {
        let defaults = compile_options();
        kiln_compiler::CompileOptions {
            fuel: self.fuel.is_some(),
            opt_level: self.opt_level,
            interruptible: self.interruptible,
            inline: self.inline,
            devirtualize: !self.no_devirt,
            drop_unused_functions: !self.keep_unused_functions,
            fold_identical_functions: !self.keep_identical_functions,
            fixed_memory_address: self.fixed_memory_address,
            profile_generate: self.profile_generate,
            profile_use: self.profile_seed.map(|seed| Settings::profile(wasm, seed)),
            memory: if self.bounds_checks {
                kiln_compiler::MemorySettings {
                    reservation: 0,
                    guard_size: 0,
                    bounds_checks: true,
                }
            } else {
                defaults.memory
            },
            ..defaults
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Compiles `wasm`; `Err` only if the compiler panicked.
fn compile_catching(wasm: &[u8], settings: Settings) -> Result<(), String> {
    let options = settings.compile_options(wasm);
    catch_unwind(AssertUnwindSafe(|| {
        let _ = kiln_compiler::compile(wasm, &options);
    }))
    .map_err(|payload| {
        format!(
            "compiler panicked: {} (module: {} bytes, {settings:?})",
            panic_message(&*payload),
            wasm.len()
        )
    })
}

/// The `compile` target: `bytes` as a module, then a `wasm-smith` module (all the features
/// kiln accepts) generated from `bytes`, through the compiler. Errors are fine; a panic is
/// a failure, returned with its message.
pub fn compile_never_panics(bytes: &[u8]) -> Result<(), String> {
    let mut u = Unstructured::new(bytes);
    let settings = Settings::draw(&mut u);
    compile_catching(bytes, settings)?;
    let Ok(config) = u.arbitrary::<wasm_smith::Config>() else {
        return Ok(());
    };
    let config = wasm_smith::Config {
        // Features kiln does not implement would only be validation errors.
        shared_everything_threads_enabled: false,
        custom_descriptors_enabled: false,
        ..config
    };
    if let Ok(module) = wasm_smith::Module::new(config, &mut u) {
        compile_catching(&module.to_bytes(), settings.draw_inline(&mut u))?;
    }
    Ok(())
}

/// The wasm-smith configuration of the differential target: Wasm 2.0 (bulk memory,
/// reference types, multi-value, non-trapping conversions, sign extension, SIMD) and the
/// Wasm 3.0 features both kiln and wasmi 2.0 implement (tail calls, multi-memory, memory64,
/// extended constant expressions; not GC, exceptions or relaxed SIMD, whose results may
/// differ by design), no imports, every item exported, small memories and tables, NaNs
/// canonicalized so results are deterministic.
fn differential_config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: 0,
        // Fewer, smaller types, globals and segments leave more of the input for functions.
        max_types: 12,
        min_types: 1,
        max_globals: 12,
        max_data_segments: 4,
        max_element_segments: 4,
        max_elements: 32,
        min_funcs: 2,
        max_funcs: 40,
        min_exports: 2,
        export_everything: true,
        // More than one memory is multi-memory.
        max_memories: 3,
        max_memory64_bytes: 2 << 16,
        max_tables: 2,
        max_memory32_bytes: 2 << 16,
        memory_max_size_required: true,
        max_table_elements: 1000,
        table_max_size_required: true,
        max_instructions: 400,
        canonicalize_nans: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        simd_enabled: true,
        relaxed_simd_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: true,
        tail_call_enabled: true,
        threads_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: true,
        custom_page_sizes_enabled: false,
        shared_everything_threads_enabled: false,
        custom_descriptors_enabled: false,
        compact_imports_enabled: false,
        ..wasm_smith::Config::default()
    }
}

/// A value both sides can produce, floats by their bits; references by whether they are
/// null (the handles themselves differ by side).
#[derive(Debug, Clone, Copy)]
enum Value {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    FuncRef { null: bool },
    ExternRef { null: bool },
}

impl PartialEq for Value {
    /// Bitwise, except that any NaN equals any NaN.
    fn eq(&self, other: &Value) -> bool {
        match (*self, *other) {
            (Value::I32(a), Value::I32(b)) => a == b,
            (Value::I64(a), Value::I64(b)) => a == b,
            (Value::F32(a), Value::F32(b)) => {
                a == b || (f32::from_bits(a).is_nan() && f32::from_bits(b).is_nan())
            }
            (Value::F64(a), Value::F64(b)) => {
                a == b || (f64::from_bits(a).is_nan() && f64::from_bits(b).is_nan())
            }
            // SIMD results are bitwise: wasm-smith canonicalizes the NaNs of every lane.
            (Value::V128(a), Value::V128(b)) => a == b,
            (Value::FuncRef { null: a }, Value::FuncRef { null: b })
            | (Value::ExternRef { null: a }, Value::ExternRef { null: b }) => a == b,
            _ => false,
        }
    }
}

/// A trap, in terms both sides share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrapKind {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallToNull,
    BadSignature,
    IntegerOverflow,
    IntegerDivisionByZero,
    BadConversionToInteger,
    StackOverflow,
    OutOfFuel,
    Other,
}

/// What one call (or the instantiation) did.
#[derive(Debug, Clone, PartialEq)]
enum CallResult {
    Values(Vec<Value>),
    Trap(TrapKind),
    /// An error that is not a trap (e.g. a failed instantiation); the message differs by side.
    Error,
}

/// Everything one side observed running a module.
#[derive(Debug, Default)]
struct Run {
    instantiation: Option<CallResult>,
    calls: Vec<(String, CallResult)>,
    memories: Vec<(String, Vec<u8>)>,
    globals: Vec<(String, Value)>,
}

impl Run {
    /// Whether the instantiation or a call trapped with `kind`.
    fn trapped(&self, kind: TrapKind) -> bool {
        let trap = |r: &CallResult| *r == CallResult::Trap(kind);
        self.instantiation.as_ref().is_some_and(trap) || self.calls.iter().any(|(_, r)| trap(r))
    }
}

/// An exported function both sides can call, with its arguments.
struct Call {
    name: String,
    args: Vec<Value>,
    results: usize,
}

fn kiln_trap(code: kiln_runtime::TrapCode) -> TrapKind {
    use kiln_runtime::TrapCode as T;
    match code {
        T::StackOverflow => TrapKind::StackOverflow,
        T::OutOfFuel => TrapKind::OutOfFuel,
        T::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        // An index past the end of the table (wasmi calls both "out of bounds table access").
        T::TableOutOfBounds | T::UndefinedElement => TrapKind::TableOutOfBounds,
        T::IndirectCallToNull => TrapKind::IndirectCallToNull,
        T::BadSignature => TrapKind::BadSignature,
        T::IntegerOverflow => TrapKind::IntegerOverflow,
        T::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        T::BadConversionToInteger => TrapKind::BadConversionToInteger,
        T::Unreachable => TrapKind::Unreachable,
        _ => TrapKind::Other,
    }
}

fn wasmi_trap(error: &wasmi::Error) -> CallResult {
    use wasmi::TrapCode as T;
    let Some(code) = error.as_trap_code() else {
        return CallResult::Error;
    };
    CallResult::Trap(match code {
        T::UnreachableCodeReached => TrapKind::Unreachable,
        T::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        T::TableOutOfBounds => TrapKind::TableOutOfBounds,
        T::IndirectCallToNull => TrapKind::IndirectCallToNull,
        T::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
        T::IntegerOverflow => TrapKind::IntegerOverflow,
        T::BadConversionToInteger => TrapKind::BadConversionToInteger,
        T::StackOverflow => TrapKind::StackOverflow,
        T::OutOfFuel => TrapKind::OutOfFuel,
        T::BadSignature => TrapKind::BadSignature,
        _ => TrapKind::Other,
    })
}

fn to_kiln(value: Value) -> kiln_runtime::Val {
    match value {
        Value::I32(v) => kiln_runtime::Val::I32(v),
        Value::I64(v) => kiln_runtime::Val::I64(v),
        Value::F32(v) => kiln_runtime::Val::F32(v),
        Value::F64(v) => kiln_runtime::Val::F64(v),
        Value::V128(v) => kiln_runtime::Val::V128(v),
        // Arguments are only ever null references.
        Value::FuncRef { .. } => kiln_runtime::Val::FuncRef(None),
        Value::ExternRef { .. } => kiln_runtime::Val::ExternRef(None),
    }
}

fn from_kiln(value: &kiln_runtime::Val) -> Value {
    match *value {
        kiln_runtime::Val::I32(v) => Value::I32(v),
        kiln_runtime::Val::I64(v) => Value::I64(v),
        kiln_runtime::Val::F32(v) => Value::F32(v),
        kiln_runtime::Val::F64(v) => Value::F64(v),
        kiln_runtime::Val::V128(v) => Value::V128(v),
        kiln_runtime::Val::FuncRef(ref f) => Value::FuncRef { null: f.is_none() },
        kiln_runtime::Val::ExternRef(e) => Value::ExternRef { null: e.is_none() },
    }
}

fn to_wasmi(value: Value) -> wasmi::Val {
    match value {
        Value::I32(v) => wasmi::Val::I32(v),
        Value::I64(v) => wasmi::Val::I64(v),
        Value::F32(v) => wasmi::Val::F32(wasmi::F32::from_bits(v)),
        Value::F64(v) => wasmi::Val::F64(wasmi::F64::from_bits(v)),
        Value::V128(v) => wasmi::Val::V128(v.into()),
        Value::FuncRef { .. } => wasmi::Val::default_for_ty(wasmi::ValType::FuncRef),
        Value::ExternRef { .. } => wasmi::Val::default_for_ty(wasmi::ValType::ExternRef),
    }
}

fn from_wasmi(value: &wasmi::Val) -> Value {
    match *value {
        wasmi::Val::I32(v) => Value::I32(v),
        wasmi::Val::I64(v) => Value::I64(v),
        wasmi::Val::F32(v) => Value::F32(v.to_bits()),
        wasmi::Val::F64(v) => Value::F64(v.to_bits()),
        wasmi::Val::V128(v) => Value::V128(v.as_u128()),
        wasmi::Val::FuncRef(ref f) => Value::FuncRef { null: f.is_null() },
        wasmi::Val::ExternRef(ref e) => Value::ExternRef { null: e.is_null() },
    }
}

/// An argument of type `ty` from the fuzzer's bytes (zero once they run out), biased toward
/// the values that find bugs: zero, ±1, extremes, NaN, infinities.
fn argument(u: &mut Unstructured<'_>, ty: wasmi::ValType) -> Value {
    use wasmi::ValType as T;
    let pick: u8 = u.arbitrary().unwrap_or(0);
    let special = pick & 3 == 0;
    match ty {
        T::I32 if special => {
            Value::I32([0, 1, -1, i32::MIN, i32::MAX, 0x8000][usize::from(pick / 4) % 6])
        }
        T::I32 => Value::I32(u.arbitrary().unwrap_or(0)),
        T::I64 if special => {
            Value::I64([0, 1, -1, i64::MIN, i64::MAX, 0x1_0000_0000][usize::from(pick / 4) % 6])
        }
        T::I64 => Value::I64(u.arbitrary().unwrap_or(0)),
        T::F32 if special => Value::F32(
            [
                0.0f32,
                -0.0,
                1.0,
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                2.5e9,
            ][usize::from(pick / 4) % 7]
                .to_bits(),
        ),
        T::F32 => Value::F32(u.arbitrary().unwrap_or(0)),
        T::F64 if special => Value::F64(
            [
                0.0f64,
                -0.0,
                1.0,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                9.3e18,
            ][usize::from(pick / 4) % 7]
                .to_bits(),
        ),
        T::F64 => Value::F64(u.arbitrary().unwrap_or(0)),
        T::V128 => Value::V128(u.arbitrary().unwrap_or(0)),
        T::FuncRef => Value::FuncRef { null: true },
        T::ExternRef => Value::ExternRef { null: true },
    }
}

/// The module the `differential` target makes of `bytes`, and the settings kiln compiles
/// it with (without fuel, wasm-smith's termination counter bounds the run); `Err` says
/// why there is none. For turning a failing input into a regression test.
pub fn differential_wasm(bytes: &[u8]) -> Result<(Vec<u8>, Settings), &'static str> {
    differential_module(&mut Unstructured::new(bytes))
}

fn differential_module(u: &mut Unstructured<'_>) -> Result<(Vec<u8>, Settings), &'static str> {
    let settings = Settings::draw(u);
    let Ok(mut module) = wasm_smith::Module::new(differential_config(), u) else {
        return Err("no module");
    };
    // Without fuel, every loop and call decrements a global and traps with `unreachable`
    // when it is 0, so every case ends, on both sides alike.
    if settings.fuel.is_none() && module.ensure_termination(1_000).is_err() {
        return Err("no termination");
    }
    Ok((module.to_bytes(), settings.draw_inline(u)))
}

/// The `differential` target: a module generated from `bytes`, run by kiln and by wasmi.
/// `Err` describes the first disagreement (or a kiln failure to compile or load a valid
/// module); a panic on either side propagates.
pub fn differential(bytes: &[u8]) -> Result<Outcome, String> {
    let mut u = Unstructured::new(bytes);
    let (wasm, settings) = match differential_module(&mut u) {
        Ok(module) => module,
        Err(why) => return Ok(Outcome::Skipped(why)),
    };
    run_both(&wasm, settings, &mut u)
}

/// [`differential`] for a given module (the regression tests' way to replay a failure):
/// kiln (compiled with `settings`) and wasmi run `wasm`, every export called with zeros.
pub fn differential_module_run(wasm: &[u8], settings: Settings) -> Result<Outcome, String> {
    run_both(wasm, settings, &mut Unstructured::new(&[]))
}

/// Runs `wasm` on both sides, exports called with arguments from `u`, and compares.
fn run_both(wasm: &[u8], settings: Settings, u: &mut Unstructured<'_>) -> Result<Outcome, String> {
    let wasm = wasm.to_vec();
    let fuel = settings.fuel;

    // wasmi first: it also tells us the exports' types and which ones we can call.
    let mut wasmi_config = wasmi::Config::default();
    wasmi_config
        .wasm_simd(true)
        .wasm_tail_call(true)
        .wasm_multi_memory(true)
        .wasm_memory64(true)
        .wasm_extended_const(true)
        .consume_fuel(fuel.is_some());
    let engine = wasmi::Engine::new(&wasmi_config);
    let wasmi_module = wasmi::Module::new(&engine, &wasm)
        .map_err(|e| format!("wasmi rejects a wasm-smith module: {e}"))?;
    let mut calls = Vec::new();
    for export in wasmi_module.exports() {
        if let wasmi::ExternType::Func(ty) = export.ty() {
            let args = ty.params().iter().map(|&t| argument(u, t)).collect();
            calls.push(Call {
                name: export.name().to_owned(),
                args,
                results: ty.results().len(),
            });
        }
    }

    let reference = run_wasmi(&engine, &wasmi_module, &calls, fuel);
    let kiln = run_kiln(&wasm, &calls, settings)?;
    if reference.trapped(TrapKind::StackOverflow) || kiln.trapped(TrapKind::StackOverflow) {
        // Where the stack runs out is implementation-defined; the rest of the run differs.
        return Ok(Outcome::Skipped("stack exhausted"));
    }
    if reference.trapped(TrapKind::OutOfFuel) || kiln.trapped(TrapKind::OutOfFuel) {
        // kiln and wasmi charge different costs; where the fuel runs out differs.
        return Ok(Outcome::Skipped("out of fuel"));
    }
    compare(&wasm, &kiln, &reference)?;
    Ok(Outcome::Agreed(calls.len()))
}

/// The fuel of a case bounded by fuel, on each side: enough for any call that ends
/// (wasm-smith's straight-line code is far shorter), few enough that an endless loop stops
/// within milliseconds.
const FUEL: u64 = 1_000_000;

fn run_wasmi(
    engine: &wasmi::Engine,
    module: &wasmi::Module,
    calls: &[Call],
    fuel: Option<u64>,
) -> Run {
    let mut run = Run::default();
    let mut store = wasmi::Store::new(engine, ());
    if let Some(fuel) = fuel {
        store.set_fuel(fuel).expect("the engine meters fuel");
    }
    let linker = wasmi::Linker::<()>::new(engine);
    let instance = match linker.instantiate_and_start(&mut store, module) {
        Ok(instance) => instance,
        Err(e) => {
            run.instantiation = Some(wasmi_trap(&e));
            return run;
        }
    };
    for call in calls {
        let func = instance
            .get_func(&store, &call.name)
            .expect("exported function");
        let args: Vec<wasmi::Val> = call.args.iter().map(|&a| to_wasmi(a)).collect();
        let ty = func.ty(&store);
        let mut results: Vec<wasmi::Val> = ty
            .results()
            .iter()
            .map(|&t| wasmi::Val::default_for_ty(t))
            .collect();
        let result = match func.call(&mut store, &args, &mut results) {
            Ok(()) => CallResult::Values(results.iter().map(from_wasmi).collect()),
            Err(e) => wasmi_trap(&e),
        };
        run.calls.push((call.name.clone(), result));
    }
    for export in instance.exports(&store) {
        let name = export.name().to_owned();
        match export.into_extern() {
            wasmi::Extern::Memory(memory) => {
                run.memories.push((name, memory.data(&store).to_vec()));
            }
            wasmi::Extern::Global(global) => {
                run.globals.push((name, from_wasmi(&global.get(&store))));
            }
            _ => {}
        }
    }
    run
}

/// Held while an instance of a module compiled for the fixed memory address lives.
static FIXED_MEMORY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run_kiln(wasm: &[u8], calls: &[Call], settings: Settings) -> Result<Run, String> {
    let object = kiln_compiler::compile(wasm, &settings.compile_options(wasm))
        .map_err(|e| format!("kiln ({settings:?}) fails to compile a valid module: {e}"))?;
    let module = kiln_runtime::load_object(&object, "")
        .map_err(|e| format!("kiln fails to load its own object: {e}"))?;
    let mut run = Run::default();
    // One instance of a module compiled for the fixed memory address at a time: cases run
    // on several threads wait for each other (the store, declared after, drops first).
    let _fixed = settings
        .fixed_memory_address
        .then(|| FIXED_MEMORY.lock().unwrap_or_else(|e| e.into_inner()));
    let mut store = kiln_runtime::Store::new();
    if let Some(fuel) = settings.fuel {
        store.set_fuel(fuel);
    }
    let instance = match kiln_runtime::Linker::new().instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(kiln_runtime::InstantiateError::Trap(trap)) => {
            run.instantiation = Some(CallResult::Trap(kiln_trap(trap.code)));
            return Ok(run);
        }
        Err(_) => {
            run.instantiation = Some(CallResult::Error);
            return Ok(run);
        }
    };
    for call in calls {
        let Some(kiln_runtime::Extern::Func(func)) = instance.get_export(&store, &call.name) else {
            return Err(format!("kiln lacks the exported function {:?}", call.name));
        };
        let args: Vec<kiln_runtime::Val> = call.args.iter().map(|&a| to_kiln(a)).collect();
        let result = match func.call(&mut store, &args) {
            Ok(values) => {
                if values.len() != call.results {
                    return Err(format!(
                        "kiln returned {} values from {:?}, its type has {}",
                        values.len(),
                        call.name,
                        call.results
                    ));
                }
                CallResult::Values(values.iter().map(from_kiln).collect())
            }
            Err(kiln_runtime::CallError::Trap(trap)) => CallResult::Trap(kiln_trap(trap.code)),
            Err(_) => CallResult::Error,
        };
        run.calls.push((call.name.clone(), result));
    }
    for (name, item) in instance.exports(&store) {
        match item {
            kiln_runtime::Extern::Memory(memory) => {
                run.memories.push((name, memory.data(&store).to_vec()));
            }
            kiln_runtime::Extern::Global(global) => {
                run.globals.push((name, from_kiln(&global.get(&store))));
            }
            _ => {}
        }
    }
    Ok(run)
}

fn compare(wasm: &[u8], kiln: &Run, reference: &Run) -> Result<(), String> {
    let fail = |what: String| {
        Err(format!(
            "kiln and wasmi disagree: {what} (module: {} bytes)",
            wasm.len()
        ))
    };
    // wasmi reports an out-of-bounds segment as an instantiation error, not a trap: a
    // failed instantiation must fail on both sides, and trap alike where both trap.
    let instantiation_agrees = match (&kiln.instantiation, &reference.instantiation) {
        (Some(CallResult::Trap(k)), Some(CallResult::Trap(w))) => k == w,
        (Some(_), Some(_)) | (None, None) => true,
        _ => false,
    };
    if !instantiation_agrees {
        return fail(format!(
            "instantiation: kiln {:?}, wasmi {:?}",
            kiln.instantiation, reference.instantiation
        ));
    }
    for ((name, k), (_, w)) in kiln.calls.iter().zip(&reference.calls) {
        if k != w {
            return fail(format!("call {name:?}: kiln {k:?}, wasmi {w:?}"));
        }
    }
    if kiln.calls.len() != reference.calls.len() {
        return fail("number of calls".to_owned());
    }
    let mut kiln_globals = kiln.globals.clone();
    let mut wasmi_globals = reference.globals.clone();
    kiln_globals.sort_by(|a, b| a.0.cmp(&b.0));
    wasmi_globals.sort_by(|a, b| a.0.cmp(&b.0));
    if kiln_globals != wasmi_globals {
        return fail(format!(
            "exported globals: kiln {kiln_globals:?}, wasmi {wasmi_globals:?}"
        ));
    }
    let mut kiln_memories: Vec<_> = kiln.memories.iter().collect();
    let mut wasmi_memories: Vec<_> = reference.memories.iter().collect();
    kiln_memories.sort_by(|a, b| a.0.cmp(&b.0));
    wasmi_memories.sort_by(|a, b| a.0.cmp(&b.0));
    if kiln_memories.len() != wasmi_memories.len() {
        return fail("number of exported memories".to_owned());
    }
    for ((name, k), (_, w)) in kiln_memories.iter().zip(&wasmi_memories) {
        if k.len() != w.len() {
            return fail(format!(
                "memory {name:?} size: kiln {}, wasmi {}",
                k.len(),
                w.len()
            ));
        }
        if let Some(at) = k.iter().zip(w.iter()).position(|(a, b)| a != b) {
            return fail(format!(
                "memory {name:?} at {at:#x}: kiln {:#04x}, wasmi {:#04x}",
                k[at], w[at]
            ));
        }
    }
    Ok(())
}
