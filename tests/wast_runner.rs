//! Runs one `.wast` script: every directive, with every module compiled to an object by
//! `kiln_compiler::compile` and loaded by `kiln_runtime::load_object`, exactly the path of
//! `kiln compile` + `kiln run`.

use kiln_compiler::{CompileOptions, WasmFeatures};
use kiln_runtime::{
    CallError, Extern, Func, FuncType, Global, GlobalType, Instance, InstantiateError, Linker,
    Memory, MemoryType, Store, Table, TableType, TrapCode, Val, ValType,
};
use std::collections::HashMap;
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::{QuoteWat, WastArg, WastDirective, WastExecute, WastInvoke, WastRet};

/// The outcome of one directive that checks something.
#[derive(Debug)]
pub struct CaseResult {
    /// 1-based line of the directive.
    pub line: usize,
    /// `None` if it passed, else why it failed.
    pub failure: Option<String>,
}

/// The outcome of a whole script.
#[derive(Debug, Default)]
pub struct ScriptResult {
    /// Each checked directive.
    pub cases: Vec<CaseResult>,
    /// A failure to parse the script at all.
    pub parse_error: Option<String>,
}

/// How modules of a suite are compiled.
#[derive(Clone, Debug)]
pub struct SuiteConfig {
    /// Features accepted by validation.
    pub features: WasmFeatures,
    /// Compiler options (features are overwritten by `features`).
    pub compile: CompileOptions,
    /// Make every named module (`(module $name ...)`) importable under its name, as
    /// Wasmtime's wast runner does; the spec's scripts use `register` instead.
    pub register_named_modules: bool,
}

struct Runner {
    config: SuiteConfig,
    store: Store,
    linker: Linker,
    current: Option<Instance>,
    named: HashMap<String, Instance>,
    definitions: HashMap<String, kiln_runtime::Module>,
    /// The most recent `module definition`, for `module instance` without a name.
    last_definition: Option<kiln_runtime::Module>,
}

type Outcome = Result<(), String>;

/// Runs the script `text`; `name` is used in messages.
pub fn run_script(name: &str, text: &str, config: &SuiteConfig) -> ScriptResult {
    let mut result = ScriptResult::default();
    // The spec's names.wast deliberately uses bidirectional-override characters.
    let unfolded = unfold_legacy_try(text);
    let text = unfolded.as_str();
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = match wast::parser::ParseBuffer::new_with_lexer(lexer) {
        Ok(buffer) => buffer,
        Err(e) => {
            result.parse_error = Some(format!("{name}: {e}"));
            return result;
        }
    };
    let script = match wast::parser::parse::<wast::Wast>(&buffer) {
        Ok(script) => script,
        Err(mut e) => {
            e.set_text(text);
            result.parse_error = Some(format!("{name}: {e}"));
            return result;
        }
    };
    let mut runner = Runner::new(config.clone());
    for directive in script.directives {
        let (line, _) = directive.span().linecol_in(text);
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner.directive(directive)))
                .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&panic))));
        result.cases.push(CaseResult {
            line: line + 1,
            failure: outcome.err(),
        });
    }
    result
}

/// Rewrites the folded form of the legacy `try` (`(try bt (do ...) (catch $e ...)
/// (catch_all ...))`, `(try bt (do ...) (delegate $l))`), which the `wast` crate does not
/// parse, into the flat form it does (`try bt ... catch $e ... end`, `try bt ... delegate
/// $l`). Lines stay where they are, so failures keep their line numbers. Strings and
/// comments are copied as they are.
pub fn unfold_legacy_try(text: &str) -> String {
    #[derive(PartialEq)]
    enum Open {
        /// A folded `try`, and whether a `delegate` clause ends it.
        Try(bool),
        /// A `do`, `catch`, `catch_all` or `delegate` clause of a folded `try`.
        Clause,
        Other,
    }
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(text.len() + 64);
    let mut stack: Vec<Open> = Vec::new();
    let mut i = 0;
    let keyword_at = |at: usize, keyword: &str| {
        bytes[at..].starts_with(keyword.as_bytes())
            && bytes
                .get(at + keyword.len())
                .is_none_or(|c| c.is_ascii_whitespace() || *c == b')' || *c == b'(')
    };
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            out.extend_from_slice(&bytes[start..i]);
        } else if bytes[i..].starts_with(b";;") {
            let end = bytes[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |n| i + n);
            out.extend_from_slice(&bytes[i..end]);
            i = end;
        } else if bytes[i..].starts_with(b"(;") {
            let start = i;
            let mut depth = 0;
            while i < bytes.len() {
                if bytes[i..].starts_with(b"(;") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b";)") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.extend_from_slice(&bytes[start..i.min(bytes.len())]);
        } else if c == b'(' {
            let in_try = matches!(stack.last(), Some(Open::Try(_)));
            if keyword_at(i + 1, "try") {
                stack.push(Open::Try(false));
                out.push(b' ');
            } else if in_try && keyword_at(i + 1, "do") {
                stack.push(Open::Clause);
                out.extend_from_slice(b"   ");
                i += 2;
            } else if in_try && (keyword_at(i + 1, "catch") || keyword_at(i + 1, "catch_all")) {
                stack.push(Open::Clause);
                out.push(b' ');
            } else if in_try && keyword_at(i + 1, "delegate") {
                if let Some(Open::Try(delegated)) = stack.last_mut() {
                    *delegated = true;
                }
                stack.push(Open::Clause);
                out.push(b' ');
            } else {
                stack.push(Open::Other);
                out.push(b'(');
            }
            i += 1;
        } else if c == b')' {
            match stack.pop() {
                Some(Open::Try(false)) => out.extend_from_slice(b" end "),
                Some(Open::Try(true)) | Some(Open::Clause) => out.push(b' '),
                _ => out.push(b')'),
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).expect("only ASCII bytes are replaced")
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

impl Runner {
    fn new(config: SuiteConfig) -> Runner {
        let mut store = Store::new();
        let mut linker = Linker::new();
        define_spectest(&mut store, &mut linker);
        Runner {
            config,
            store,
            linker,
            current: None,
            named: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
        }
    }

    fn compile(&self, bytes: &[u8]) -> Result<kiln_runtime::Module, String> {
        let options = CompileOptions {
            features: self.config.features,
            ..self.config.compile.clone()
        };
        let object =
            kiln_compiler::compile(bytes, &options).map_err(|e| format!("compile: {e}"))?;
        kiln_runtime::load_object(&object, "").map_err(|e| format!("load: {e}"))
    }

    fn instantiate(&mut self, module: &kiln_runtime::Module) -> Result<Instance, InstantiateError> {
        self.linker.instantiate(&mut self.store, module)
    }

    fn define_module(&mut self, mut wat: QuoteWat<'_>) -> Outcome {
        let name = wat.name().map(|id| id.name().to_string());
        let bytes = wat
            .encode()
            .map_err(|e| format!("encoding the module: {e}"))?;
        let module = self.compile(&bytes)?;
        let instance = self
            .instantiate(&module)
            .map_err(|e| format!("instantiate: {e}"))?;
        self.current = Some(instance);
        if let Some(name) = name {
            if self.config.register_named_modules {
                self.linker.define_instance(&self.store, &name, instance);
            }
            self.named.insert(name, instance);
        }
        Ok(())
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<Instance, String> {
        match id {
            Some(id) => self
                .named
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("no module named {}", id.name())),
            None => self.current.ok_or_else(|| "no current module".to_string()),
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Result<Vec<Val>, CallError>, String> {
        let instance = self.instance(invoke.module)?;
        let Some(Extern::Func(func)) = instance.get_export(&self.store, invoke.name) else {
            return Err(format!("no exported function {:?}", invoke.name));
        };
        let args = invoke
            .args
            .iter()
            .map(arg_value)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(func.call(&mut self.store, &args))
    }

    /// Runs an execution; `Ok(Err(trap))` when the execution itself trapped.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Result<Vec<Val>, String>, String> {
        match exec {
            WastExecute::Invoke(invoke) => {
                Ok(self.invoke(&invoke)?.map_err(|e| call_error_message(&e)))
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                match instance.get_export(&self.store, global) {
                    Some(Extern::Global(g)) => Ok(Ok(vec![g.get(&self.store)])),
                    _ => Err(format!("no exported global {global:?}")),
                }
            }
            WastExecute::Wat(mut wat) => {
                let bytes = wat
                    .encode()
                    .map_err(|e| format!("encoding the module: {e}"))?;
                let module = self.compile(&bytes)?;
                match self.instantiate(&module) {
                    Ok(_) => Ok(Ok(vec![])),
                    Err(InstantiateError::Trap(trap)) => Ok(Err(trap.code.message().to_string())),
                    Err(e) => Err(format!("instantiate: {e}")),
                }
            }
        }
    }

    fn directive(&mut self, directive: WastDirective<'_>) -> Outcome {
        match directive {
            WastDirective::Module(wat) => self.define_module(wat),
            WastDirective::ModuleDefinition(mut wat) => {
                let name = wat.name().map(|id| id.name().to_string());
                let bytes = wat
                    .encode()
                    .map_err(|e| format!("encoding the module: {e}"))?;
                let module = self.compile(&bytes)?;
                if let Some(name) = name {
                    self.definitions.insert(name, module.clone());
                }
                self.last_definition = Some(module);
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let definition = match module {
                    Some(module) => self
                        .definitions
                        .get(module.name())
                        .cloned()
                        .ok_or_else(|| format!("no definition {}", module.name()))?,
                    None => self
                        .last_definition
                        .clone()
                        .ok_or("module instance without a definition")?,
                };
                let new = self
                    .instantiate(&definition)
                    .map_err(|e| format!("instantiate: {e}"))?;
                self.current = Some(new);
                if let Some(name) = instance {
                    self.named.insert(name.name().to_string(), new);
                }
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker.define_instance(&self.store, name, instance);
                Ok(())
            }
            WastDirective::Invoke(invoke) => match self.invoke(&invoke)? {
                Ok(_) => Ok(()),
                Err(e) => Err(format!("unexpected {}", call_error_message(&e))),
            },
            WastDirective::AssertReturn { exec, results, .. } => match self.execute(exec)? {
                Ok(values) => check_results(&values, &results),
                Err(trap) => Err(format!("expected results, got trap: {trap}")),
            },
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec)? {
                Ok(values) => Err(format!("expected trap {message:?}, got {values:?}")),
                Err(actual) if trap_matches(&actual, message) => Ok(()),
                Err(actual) => Err(format!("expected trap {message:?}, got {actual:?}")),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call)? {
                Err(CallError::Trap(trap)) if trap.code == TrapCode::StackOverflow => Ok(()),
                Err(e) => Err(format!(
                    "expected {message:?}, got {}",
                    call_error_message(&e)
                )),
                Ok(values) => Err(format!("expected {message:?}, got {values:?}")),
            },
            WastDirective::AssertInvalid {
                module, message, ..
            } => self.assert_rejected(module, message),
            WastDirective::AssertMalformed {
                module, message, ..
            } => self.assert_rejected(module, message),
            WastDirective::AssertUnlinkable {
                module, message, ..
            } => {
                let bytes = QuoteWat::Wat(module)
                    .encode()
                    .map_err(|e| format!("encoding the module: {e}"))?;
                let compiled = self.compile(&bytes)?;
                match self.instantiate(&compiled) {
                    Err(InstantiateError::Unlinkable(_)) => Ok(()),
                    Err(e) => Err(format!("expected unlinkable ({message}), got {e}")),
                    Ok(_) => Err(format!("expected unlinkable ({message}), but it linked")),
                }
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => Ok(()),
            WastDirective::AssertException { exec, .. } => match self.execute(exec)? {
                Ok(values) => Err(format!("expected an exception, got {values:?}")),
                Err(actual) if actual.starts_with(TrapCode::UncaughtException.message()) => Ok(()),
                Err(actual) => Err(format!("expected an exception, got trap {actual:?}")),
            },
            WastDirective::AssertSuspension { .. } => {
                Err("stack switching is not supported".into())
            }
            WastDirective::Thread(thread) => self.run_thread(thread),
            // Threads run to completion where they are declared (see `run_thread`).
            WastDirective::Wait { .. } => Ok(()),
        }
    }

    /// Runs a `thread` block where it is declared, to completion, in this store but with
    /// its own module namespace (holding only the shared module). Running the thread
    /// before the code after it is one valid interleaving for scripts whose threads do not
    /// wait for each other, which is all kiln runs (no shared-memory atomics).
    fn run_thread(&mut self, thread: wast::WastThread<'_>) -> Outcome {
        let shared = match thread.shared_module {
            Some(id) => Some((id.name().to_string(), self.instance(Some(id))?)),
            None => None,
        };
        let saved_current = self.current.take();
        let saved_named = std::mem::take(&mut self.named);
        if let Some((name, instance)) = shared {
            self.named.insert(name, instance);
        }
        let mut outcome = Ok(());
        for directive in thread.directives {
            if let Err(message) = self.directive(directive) {
                outcome = outcome.and(Err(format!("in thread {}: {message}", thread.name.name())));
            }
        }
        self.current = saved_current;
        self.named = saved_named;
        outcome
    }

    /// `assert_invalid` / `assert_malformed`: the text may not encode, or kiln must refuse it.
    fn assert_rejected(&mut self, mut module: QuoteWat<'_>, message: &str) -> Outcome {
        let Ok(bytes) = module.encode() else {
            return Ok(());
        };
        let options = CompileOptions {
            features: self.config.features,
            ..self.config.compile.clone()
        };
        match kiln_compiler::compile(&bytes, &options) {
            Err(kiln_compiler::CompileError::Invalid { .. }) => Ok(()),
            Err(e) => Err(format!("expected {message:?}, got a different error: {e}")),
            Ok(_) => Err(format!("expected {message:?}, but the module compiled")),
        }
    }
}

fn call_error_message(error: &CallError) -> String {
    match error {
        CallError::Trap(trap) => trap.code.message().to_string(),
        other => other.to_string(),
    }
}

/// Whether a trap message satisfies the script's expectation. The scripts sometimes
/// abbreviate kiln's message ("uninitialized" for "uninitialized element") and sometimes
/// extend it with details kiln does not report ("uninitialized element 7").
fn trap_matches(actual: &str, expected: &str) -> bool {
    actual.contains(expected) || expected.starts_with(actual)
}

fn heap_type_is_func(heap: &HeapType<'_>) -> bool {
    matches!(
        heap,
        HeapType::Abstract {
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
            ..
        }
    )
}

fn arg_value(arg: &WastArg<'_>) -> Result<Val, String> {
    let WastArg::Core(arg) = arg else {
        return Err("component arguments are not supported".into());
    };
    Ok(match arg {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(heap) if heap_type_is_func(heap) => Val::FuncRef(None),
        WastArgCore::RefNull(_) => Val::ExternRef(None),
        WastArgCore::RefExtern(v) => Val::ExternRef(Some(u64::from(*v))),
        WastArgCore::RefHost(_) => return Err("ref.host arguments are not supported".into()),
    })
}

fn check_results(actual: &[Val], expected: &[WastRet<'_>]) -> Outcome {
    if actual.len() != expected.len() {
        return Err(format!(
            "expected {} results, got {actual:?}",
            expected.len()
        ));
    }
    for (i, (value, pattern)) in actual.iter().zip(expected).enumerate() {
        let WastRet::Core(pattern) = pattern else {
            return Err("component results are not supported".into());
        };
        if !value_matches(value, pattern) {
            return Err(format!("result {i}: expected {pattern:?}, got {value:?}"));
        }
    }
    Ok(())
}

fn f32_matches(bits: u32, pattern: &NanPattern<wast::token::F32>) -> bool {
    match pattern {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn f64_matches(bits: u64, pattern: &NanPattern<wast::token::F64>) -> bool {
    match pattern {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => bits == v.bits,
    }
}

fn v128_matches(value: u128, pattern: &V128Pattern) -> bool {
    let bytes = value.to_le_bytes();
    let lane = |i: usize, size: usize| -> u64 {
        let mut buf = [0u8; 8];
        buf[..size].copy_from_slice(&bytes[i * size..(i + 1) * size]);
        u64::from_le_bytes(buf)
    };
    match pattern {
        V128Pattern::I8x16(lanes) => lanes
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 1) as u8 == *v as u8),
        V128Pattern::I16x8(lanes) => lanes
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 2) as u16 == *v as u16),
        V128Pattern::I32x4(lanes) => lanes
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 4) as u32 == *v as u32),
        V128Pattern::I64x2(lanes) => lanes
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 8) == *v as u64),
        V128Pattern::F32x4(lanes) => lanes
            .iter()
            .enumerate()
            .all(|(i, p)| f32_matches(lane(i, 4) as u32, p)),
        V128Pattern::F64x2(lanes) => lanes
            .iter()
            .enumerate()
            .all(|(i, p)| f64_matches(lane(i, 8), p)),
    }
}

fn value_matches(value: &Val, pattern: &WastRetCore<'_>) -> bool {
    match (value, pattern) {
        (Val::I32(v), WastRetCore::I32(e)) => v == e,
        (Val::I64(v), WastRetCore::I64(e)) => v == e,
        (Val::F32(bits), WastRetCore::F32(p)) => f32_matches(*bits, p),
        (Val::F64(bits), WastRetCore::F64(p)) => f64_matches(*bits, p),
        (Val::V128(bits), WastRetCore::V128(p)) => v128_matches(*bits, p),
        (Val::FuncRef(None), WastRetCore::RefNull(heap)) => {
            heap.as_ref().is_none_or(heap_type_is_func)
        }
        (Val::ExternRef(None), WastRetCore::RefNull(heap)) => {
            heap.as_ref().is_none_or(|h| !heap_type_is_func(h))
        }
        (Val::ExternRef(Some(v)), WastRetCore::RefExtern(e)) => {
            e.is_none_or(|e| u64::from(e) == *v)
        }
        (Val::FuncRef(Some(_)), WastRetCore::RefFunc(_)) => true,
        (_, WastRetCore::Either(options)) => options.iter().any(|p| value_matches(value, p)),
        _ => false,
    }
}

/// The `spectest` module every script may import from.
fn define_spectest(store: &mut Store, linker: &mut Linker) {
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[ValType::I32]),
        ("print_i64", &[ValType::I64]),
        ("print_f32", &[ValType::F32]),
        ("print_f64", &[ValType::F64]),
        ("print_i32_f32", &[ValType::I32, ValType::F32]),
        ("print_f64_f64", &[ValType::F64, ValType::F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType {
            params: params.to_vec(),
            results: vec![],
        };
        let func = Func::new_host(store, ty, |_, _| Ok(vec![]));
        linker.define("spectest", name, Extern::Func(func));
    }
    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, value) in globals {
        let global =
            Global::new(store, GlobalType { ty, mutable: false }, value).expect("spectest global");
        linker.define("spectest", name, Extern::Global(global));
    }
    let table = Table::new(
        store,
        TableType {
            element: ValType::FUNCREF,
            min: 10,
            max: Some(20),
            table64: false,
        },
        Val::FuncRef(None),
    )
    .expect("spectest table");
    linker.define("spectest", "table", Extern::Table(table));
    let table64 = Table::new(
        store,
        TableType {
            element: ValType::FUNCREF,
            min: 10,
            max: Some(20),
            table64: true,
        },
        Val::FuncRef(None),
    )
    .expect("spectest table64");
    linker.define("spectest", "table64", Extern::Table(table64));
    let memory = Memory::new(
        store,
        MemoryType {
            min_pages: 1,
            max_pages: Some(2),
            memory64: false,
            shared: false,
        },
    )
    .expect("spectest memory");
    linker.define("spectest", "memory", Extern::Memory(memory));
}
