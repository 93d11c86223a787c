//! `kiln run`: compile (through the cache), load into this process and run, either as a
//! WASI command (`_start`) or by invoking one export with arguments from the command line.

use crate::cache;
use crate::grants::GrantArgs;
use crate::input::{compile_file, read_module};
use crate::options::CodegenArgs;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use kiln_runtime::{wasi, CallError, Extern, InstantiateError, Linker, Store, Val, ValType};
use std::path::PathBuf;

/// Arguments of `kiln run`.
#[derive(Args)]
pub struct RunArgs {
    /// Call this exported function with ARGS instead of running `_start`, and print its
    /// results one per line.
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,
    #[command(flatten)]
    pub grants: GrantArgs,
    #[command(flatten)]
    pub codegen: CodegenArgs,
    /// Compile even if a cached object exists.
    #[arg(long)]
    pub no_cache: bool,
    /// The module (.wasm or .wat).
    pub input: PathBuf,
    /// Arguments for the guest (or for the invoked function).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Stack of the thread the guest runs on; wasm itself may use up to the store's limit.
const GUEST_THREAD_STACK: usize = 64 << 20;

/// The compile options of `kiln run`: the codegen flags, instrumented for the limits.
fn run_options(
    args: &RunArgs,
    limits: &kiln_runtime::RunLimits,
) -> Result<kiln_compiler::CompileOptions> {
    let options = crate::limits::instrumented(&args.codegen.compile_options()?, limits);
    if options.target != kiln_compiler::Triple::host() {
        bail!(
            "kiln run executes on this machine; use kiln build for --target {}",
            options.target
        );
    }
    Ok(options)
}

/// Compiles `wasm` (through the cache unless `no_cache`) and loads it into this process;
/// its symbols start with `options.symbol_prefix`. `what` names it in errors.
pub fn load_cached(
    what: &str,
    path: &std::path::Path,
    wasm: &[u8],
    options: &kiln_compiler::CompileOptions,
    no_cache: bool,
) -> Result<kiln_runtime::Module> {
    let prefix = &options.symbol_prefix;
    let key = cache::key(wasm, options);
    if !no_cache {
        if let Some(object) = cache::get(&key) {
            if let Ok(module) = kiln_runtime::load_object(&object, prefix) {
                return Ok(module);
            }
        }
    }
    let object = compile_file(path, wasm, options).with_context(|| what.to_string())?;
    cache::put(&key, &object);
    kiln_runtime::load_object(&object, prefix).map_err(|e| anyhow!("{what}: {e}"))
}

/// Runs `kiln run`; returns the process exit code.
pub fn run(args: RunArgs) -> Result<u8> {
    let wasm = read_module(&args.input)?;
    let grants = args.grants.grants()?;
    let options = run_options(&args, &grants.limits)?;
    let what = args.input.display().to_string();
    let guest_args = {
        let mut guest_args = vec![args
            .input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()];
        guest_args.extend(args.args.iter().cloned());
        guest_args
    };
    if crate::component::is_component(&wasm) {
        if args.invoke.is_some() {
            bail!("--invoke calls a core module's export; {what} is a component");
        }
        let (plan, modules) = crate::component::load(&args.input, &wasm, &options, args.no_cache)?;
        let ctx = grants.ctx(guest_args)?;
        return run_on_guest_thread(move || {
            Ok(kiln_runtime::run_component_limited(
                plan,
                &modules,
                ctx,
                &grants.limits,
            ))
        });
    }
    let module = load_cached(&what, &args.input, &wasm, &options, args.no_cache)?;
    let ctx = grants.ctx(guest_args)?;
    run_on_guest_thread(move || match &args.invoke {
        None => Ok(kiln_runtime::run_command_limited(
            &module,
            ctx,
            &grants.limits,
        )),
        Some(name) => invoke(&module, ctx, &grants.limits, name, &args.args),
    })
}

/// Runs `guest` on a thread with a stack of [`GUEST_THREAD_STACK`]; returns its exit code.
fn run_on_guest_thread(guest: impl FnOnce() -> Result<i32> + Send + 'static) -> Result<u8> {
    let guest = std::thread::Builder::new()
        .name("wasm".into())
        .stack_size(GUEST_THREAD_STACK)
        .spawn(guest)
        .context("cannot start the guest thread")?;
    let code = guest
        .join()
        .map_err(|_| anyhow!("the guest thread panicked"))??;
    Ok((code & 0xff) as u8)
}

fn invoke(
    module: &kiln_runtime::Module,
    ctx: wasi::WasiCtx,
    limits: &kiln_runtime::RunLimits,
    name: &str,
    args: &[String],
) -> Result<i32> {
    let mut store = Store::new();
    limits
        .apply(&mut store)
        .context("cannot start the time limit")?;
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, &mut store, ctx);
    let instance = match linker.instantiate(&mut store, module) {
        Ok(instance) => instance,
        Err(InstantiateError::Trap(trap)) => {
            eprintln!("{trap}");
            return Ok(134);
        }
        Err(InstantiateError::Exit(code)) => return Ok(code),
        Err(error) => bail!("{error}"),
    };
    let Some(Extern::Func(func)) = instance.get_export(&store, name) else {
        bail!("the module exports no function named {name}");
    };
    let ty = func.ty(&store);
    if ty.params.len() != args.len() {
        bail!(
            "{name} takes {} arguments, {} given",
            ty.params.len(),
            args.len()
        );
    }
    let values = ty
        .params
        .iter()
        .zip(args)
        .map(|(ty, arg)| parse_value(*ty, arg))
        .collect::<Result<Vec<_>>>()?;
    match func.call(&mut store, &values) {
        Ok(results) => {
            for result in results {
                println!("{}", format_value(result));
            }
            Ok(0)
        }
        Err(CallError::Trap(trap)) => {
            eprintln!("{trap}");
            Ok(134)
        }
        Err(CallError::Exit(code)) => Ok(code),
        Err(error) => bail!("{name}: {error}"),
    }
}

/// Parses a command-line argument as a value of type `ty`.
fn parse_value(ty: ValType, text: &str) -> Result<Val> {
    let bad = || anyhow!("argument {text:?} is not a valid {ty}");
    Ok(match ty {
        ValType::I32 => Val::I32(match text.parse::<i32>() {
            Ok(v) => v,
            Err(_) => text.parse::<u32>().map_err(|_| bad())? as i32,
        }),
        ValType::I64 => Val::I64(match text.parse::<i64>() {
            Ok(v) => v,
            Err(_) => text.parse::<u64>().map_err(|_| bad())? as i64,
        }),
        ValType::F32 => Val::F32(text.parse::<f32>().map_err(|_| bad())?.to_bits()),
        ValType::F64 => Val::F64(text.parse::<f64>().map_err(|_| bad())?.to_bits()),
        ValType::V128 => {
            Val::V128(u128::from_str_radix(text.trim_start_matches("0x"), 16).map_err(|_| bad())?)
        }
        ValType::Ref(_) => {
            bail!("reference arguments cannot be given on the command line")
        }
    })
}

/// Formats a result for printing.
fn format_value(value: Val) -> String {
    match value {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(bits).to_string(),
        Val::F64(bits) => f64::from_bits(bits).to_string(),
        Val::V128(bits) => format!("{bits:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".into(),
        Val::FuncRef(Some(_)) => "funcref".into(),
        Val::ExternRef(Some(v)) => format!("externref({v})"),
    }
}
