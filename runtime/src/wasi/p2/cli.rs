//! `wasi:cli`: environment (`get-environment`, `get-arguments`, `initial-cwd`), exit
//! (`exit`, `exit-with-code`), stdin/stdout/stderr (`get-*`, a new stream each call) and
//! the terminals (`get-terminal-*`: a terminal resource when that stdio stream is the
//! process's own and a tty, none otherwise, as Wasmtime answers).

use super::io::{InputStream, OutputStream};
use super::values::{one, option};
use super::{host_fn, Args, HostFunction, HostResult, Resource, WasiP2};
use crate::component::{ComponentVal, HostCallError};

pub(super) const FUNCTIONS: &[&HostFunction] = &[
    host_fn!("wasi:cli/environment", "get-environment", get_environment),
    host_fn!("wasi:cli/environment", "get-arguments", get_arguments),
    host_fn!("wasi:cli/environment", "initial-cwd", initial_cwd),
    host_fn!("wasi:cli/exit", "exit", exit),
    host_fn!("wasi:cli/exit", "exit-with-code", exit_with_code),
    host_fn!("wasi:cli/stdin", "get-stdin", get_stdin),
    host_fn!("wasi:cli/stdout", "get-stdout", get_stdout),
    host_fn!("wasi:cli/stderr", "get-stderr", get_stderr),
    host_fn!(
        "wasi:cli/terminal-stdin",
        "get-terminal-stdin",
        get_terminal_stdin
    ),
    host_fn!(
        "wasi:cli/terminal-stdout",
        "get-terminal-stdout",
        get_terminal_stdout
    ),
    host_fn!(
        "wasi:cli/terminal-stderr",
        "get-terminal-stderr",
        get_terminal_stderr
    ),
];

fn get_environment(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let vars = host.state.env.iter().map(|(key, value)| {
        ComponentVal::Tuple(vec![
            ComponentVal::String(key.clone()),
            ComponentVal::String(value.clone()),
        ])
    });
    Ok(one(ComponentVal::List(vars.collect())))
}

fn get_arguments(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let arguments = host.state.args.iter().cloned().map(ComponentVal::String);
    Ok(one(ComponentVal::List(arguments.collect())))
}

/// The context's initial working directory ([`WasiCtx::initial_cwd`](crate::wasi::WasiCtx::initial_cwd));
/// none unless given one, as Wasmtime answers.
fn initial_cwd(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let cwd = host.state.initial_cwd.clone().map(ComponentVal::String);
    Ok(one(option(cwd)))
}

fn exit(_: &mut WasiP2, mut args: Args) -> HostResult {
    let ok = args.result_is_ok()?;
    args.end()?;
    Err(HostCallError::Exit(if ok { 0 } else { 1 }))
}

fn exit_with_code(_: &mut WasiP2, mut args: Args) -> HostResult {
    let code = args.u8()?;
    args.end()?;
    Err(HostCallError::Exit(code.into()))
}

fn get_stdin(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let stream = InputStream::Stdin(host.stdio[0]);
    let rep = host.resources.push(Resource::InputStream(stream), None)?;
    Ok(one(ComponentVal::Own(rep)))
}

fn get_stdout(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let rep = host.resources.push(
        Resource::OutputStream(OutputStream::Stdio(host.stdio[1])),
        None,
    )?;
    Ok(one(ComponentVal::Own(rep)))
}

fn get_stderr(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let rep = host.resources.push(
        Resource::OutputStream(OutputStream::Stdio(host.stdio[2])),
        None,
    )?;
    Ok(one(ComponentVal::Own(rep)))
}

/// A new terminal resource when stdio stream `index` is a tty of this process.
fn terminal(host: &mut WasiP2, index: usize, resource: Resource) -> HostResult {
    // SAFETY: isatty only looks at the descriptor number.
    let is_tty = host.stdio[index].is_some_and(|fd| unsafe { libc::isatty(fd) } == 1);
    if !is_tty {
        return Ok(one(option(None)));
    }
    let rep = host.resources.push(resource, None)?;
    Ok(one(option(Some(ComponentVal::Own(rep)))))
}

fn get_terminal_stdin(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    terminal(host, 0, Resource::TerminalInput)
}

fn get_terminal_stdout(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    terminal(host, 1, Resource::TerminalOutput)
}

fn get_terminal_stderr(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    terminal(host, 2, Resource::TerminalOutput)
}
