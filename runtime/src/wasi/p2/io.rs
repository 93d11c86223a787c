//! `wasi:io`: the `error` resource, `poll` (pollables and waiting on a list of them) and
//! `streams` (input and output streams over stdio and files).
//!
//! TCP streams (`tcp.rs`) keep what a write could not send at once, and send it during
//! later waits; their readiness, and that of the other socket pollables, is the socket's
//! (`network::readiness`). Other streams are unbuffered: a write is on its way to the host
//! file or fd when the call returns, so `flush` has nothing to do. Non-blocking calls never wait: `read` of stdin
//! returns what `poll(2)` says is there (possibly nothing); `blocking-*` calls wait for at
//! most the store's time limit, then stop the guest with [`HostCallError::TimeLimit`].
//! Files are always ready, as in Wasmtime; stdin's readiness is `poll(2)`'s; output
//! streams are always ready (their writes block).
//!
//! Limits the guest must respect, as in Wasmtime: `write` and `write-zeroes` take at most
//! what `check-write` permitted ([`WRITE_BUDGET`] bytes), `blocking-write-and-flush` and
//! `blocking-write-zeroes-and-flush` at most 4096; more traps. An empty `poll` list
//! traps.

use super::filesystem::{error_code, error_code_name};
use super::resources::ErrorResource;
use super::values::{err, ok, one};
use super::{host_fn, Args, HostFunction, HostResult, Resource, WasiP2};
use crate::component::{ComponentVal, HostCallError};
use crate::wasi::fd::retry;
use crate::wasi::Errno;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::time::Duration;

use super::resources::ResourceKind as Kind;

pub(super) const FUNCTIONS: &[&HostFunction] = &[
    host_fn!(
        "wasi:io/error",
        "[method]error.to-debug-string",
        error_to_debug_string
    ),
    host_fn!("wasi:io/poll", "[method]pollable.ready", pollable_ready),
    host_fn!("wasi:io/poll", "[method]pollable.block", pollable_block),
    host_fn!("wasi:io/poll", "poll", poll),
    host_fn!("wasi:io/streams", "[method]input-stream.read", input_read),
    host_fn!(
        "wasi:io/streams",
        "[method]input-stream.blocking-read",
        input_blocking_read
    ),
    host_fn!("wasi:io/streams", "[method]input-stream.skip", input_skip),
    host_fn!(
        "wasi:io/streams",
        "[method]input-stream.blocking-skip",
        input_blocking_skip
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]input-stream.subscribe",
        input_subscribe
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.check-write",
        output_check_write
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.write",
        output_write
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.blocking-write-and-flush",
        output_blocking_write_and_flush
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.flush",
        output_flush
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.blocking-flush",
        output_blocking_flush
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.subscribe",
        output_subscribe
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.write-zeroes",
        output_write_zeroes
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.blocking-write-zeroes-and-flush",
        output_blocking_write_zeroes_and_flush
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.splice",
        output_splice
    ),
    host_fn!(
        "wasi:io/streams",
        "[method]output-stream.blocking-splice",
        output_blocking_splice
    ),
];

/// What `check-write` permits: the most one `write` may take.
pub(crate) const WRITE_BUDGET: u64 = 1 << 20;
/// The most a `blocking-write-and-flush` may take, as in Wasmtime.
const BLOCKING_WRITE_LIMIT: u64 = 4096;
/// The most one `read` returns.
const READ_LIMIT: u64 = 1 << 20;

/// What a pollable waits for.
pub(crate) enum Pollable {
    /// Nothing: always ready.
    Ready,
    /// The monotonic clock reaching this instant, in nanoseconds.
    Deadline(u64),
    /// Host fd (stdin) having something to read, or its end.
    Readable(RawFd),
    /// The socket resource (or socket stream) of this rep, the pollable's parent, being
    /// ready as it says (`network::readiness`).
    Socket(u32),
}

/// What a pollable waits for at this moment.
pub(super) enum Wait {
    Ready,
    /// The monotonic clock reaching this instant.
    Deadline(u64),
    /// Host fd having these `poll(2)` events (or an error or hang-up).
    Fd(RawFd, libc::c_short),
}

/// Where an input stream reads from.
pub(crate) enum InputStream {
    /// Stdin: the host fd, or nothing (end of stream at once).
    Stdin(Option<RawFd>),
    /// A file from `read-via-stream`, from `position` on.
    File {
        file: Rc<std::fs::File>,
        position: u64,
    },
    /// A TCP connection's receiving side.
    Tcp(Rc<super::tcp::Connection>),
}

/// Where an output stream writes to.
pub(crate) enum OutputStream {
    /// Stdout or stderr: the host fd, or nothing (writes are discarded).
    Stdio(Option<RawFd>),
    /// A file from `write-via-stream`, from `position` on.
    File {
        file: Rc<std::fs::File>,
        position: u64,
    },
    /// A file from `append-via-stream`: each write at its end.
    Append(Rc<std::fs::File>),
    /// A TCP connection's sending side.
    Tcp(Rc<super::tcp::Connection>),
}

/// Why a stream operation did not complete.
pub(super) enum Failure {
    /// The stream ended (`stream-error::closed`).
    Closed,
    /// It failed (`stream-error::last-operation-failed`, with an `error` resource saying
    /// this).
    Io(Errno, String),
    /// The call stops the guest (time limit).
    Stop(HostCallError),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        let message = error.to_string();
        match Failure::from(Errno::from(error)) {
            Failure::Io(errno, _) => Failure::Io(errno, message),
            other => other,
        }
    }
}

impl From<Errno> for Failure {
    fn from(errno: Errno) -> Failure {
        if errno == Errno::PIPE {
            Failure::Closed
        } else {
            Failure::Io(errno, error_code_name(errno).into())
        }
    }
}

impl From<HostCallError> for Failure {
    fn from(error: HostCallError) -> Failure {
        Failure::Stop(error)
    }
}

/// The `result<T, stream-error>` of an operation: the `ok` payload from `value`, an `err`
/// with a `stream-error`, or the call's own error.
fn stream_result<T>(
    host: &mut WasiP2,
    result: Result<T, Failure>,
    value: impl FnOnce(T) -> Option<ComponentVal>,
) -> HostResult {
    match result {
        Ok(result) => Ok(one(ok(value(result)))),
        Err(Failure::Closed) => Ok(one(err(ComponentVal::variant(1, None)))),
        Err(Failure::Io(errno, message)) => {
            let error = ErrorResource {
                message,
                code: Some(error_code(errno)),
                errno: Some(errno),
            };
            let rep = host.resources.push(Resource::Error(error), None)?;
            Ok(one(err(ComponentVal::variant(
                0,
                Some(ComponentVal::Own(rep)),
            ))))
        }
        Err(Failure::Stop(error)) => Err(error),
    }
}

fn error_to_debug_string(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let Resource::Error(error) = host.resources.get(Kind::Error, rep)? else {
        unreachable!("get checks the kind")
    };
    Ok(one(ComponentVal::String(error.message.clone())))
}

// ---------------------------------------------------------------------------------------
// Poll

/// Waits until host fd `fd` has `events`, for at most `timeout` (forever for `None`);
/// whether it does.
fn wait_fd(fd: RawFd, events: libc::c_short, timeout: Option<Duration>) -> Result<bool, Errno> {
    let mut pollfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let timeout = timeout.map_or(-1, |timeout| {
        timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int
    });
    // SAFETY: one valid pollfd.
    let ready = retry(|| unsafe { libc::poll(&mut pollfd, 1, timeout) } as isize)?;
    Ok(ready > 0)
}

/// Whether host fd `fd` has `events` (or an error or hang-up) now.
pub(super) fn fd_ready(fd: RawFd, events: libc::c_short) -> bool {
    wait_fd(fd, events, Some(Duration::ZERO)).unwrap_or(true)
}

/// What pollable `rep` waits for now.
fn wait_of(host: &WasiP2, rep: u32) -> Result<Wait, HostCallError> {
    let Resource::Pollable(pollable) = host.resources.get(Kind::Pollable, rep)? else {
        unreachable!("get checks the kind")
    };
    Ok(match pollable {
        Pollable::Ready => Wait::Ready,
        Pollable::Deadline(instant) => Wait::Deadline(*instant),
        Pollable::Readable(fd) => Wait::Fd(*fd, libc::POLLIN),
        Pollable::Socket(parent) => super::network::readiness(host, *parent)?,
    })
}

/// The indices of the pollables `reps` that are ready, waiting until one is (and sending
/// what TCP streams keep meanwhile).
fn poll_list(host: &mut WasiP2, reps: &[u32]) -> Result<Vec<u32>, HostCallError> {
    if reps.is_empty() {
        return Err(HostCallError::Trap(
            "wasi: poll of an empty list of pollables (it would wait forever)".into(),
        ));
    }
    for &rep in reps {
        host.resources.get(Kind::Pollable, rep)?;
    }
    loop {
        host.sockets.pump();
        let now = host
            .state
            .clocks
            .peek(1)
            .map_err(|_| failed("the monotonic clock"))?;
        let mut ready: Vec<u32> = Vec::new();
        let mut deadlines = Vec::new();
        let mut fds = Vec::new();
        for (index, &rep) in reps.iter().enumerate() {
            let is_ready = match wait_of(host, rep)? {
                Wait::Ready => true,
                Wait::Deadline(instant) => {
                    deadlines.push(instant);
                    now >= instant
                }
                Wait::Fd(fd, events) => {
                    fds.push((fd, events));
                    fd_ready(fd, events)
                }
            };
            if is_ready {
                ready.push(index as u32);
            }
        }
        if !ready.is_empty() {
            return Ok(ready);
        }
        fds.extend(host.sockets.pending_fds());
        let time_left = host.time_left();
        if time_left == Some(Duration::ZERO) {
            return Err(HostCallError::TimeLimit);
        }
        let earliest = deadlines
            .iter()
            .map(|instant| Duration::from_nanos(instant.saturating_sub(now)))
            .min();
        let clocks = &host.state.clocks;
        if clocks.is_virtual() {
            match earliest {
                // Virtual time jumps to the earliest deadline (the fds were looked at).
                Some(wait) => clocks.wait(wait),
                None => {
                    wait_fds(&fds, None).map_err(|_| failed("poll(2)"))?;
                }
            }
            continue;
        }
        let wait = match (earliest, time_left) {
            (Some(wait), Some(left)) => Some(wait.min(left)),
            (wait, left) => wait.or(left),
        };
        if fds.is_empty() {
            clocks.wait(wait.expect("a deadline, since nothing else can become ready"));
        } else {
            wait_fds(&fds, wait).map_err(|_| failed("poll(2)"))?;
        }
    }
}

/// Waits for any of `fds` to have its events, for at most `timeout`.
fn wait_fds(fds: &[(RawFd, libc::c_short)], timeout: Option<Duration>) -> Result<(), Errno> {
    let mut pollfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    poll_fds(&mut pollfds, timeout)
}

/// `poll(2)` of `pollfds` for at most `timeout` (forever for `None`).
pub(super) fn poll_fds(
    pollfds: &mut [libc::pollfd],
    timeout: Option<Duration>,
) -> Result<(), Errno> {
    let timeout = timeout.map_or(-1, |timeout| {
        timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int
    });
    let count = pollfds.len() as libc::nfds_t;
    retry(|| {
        // SAFETY: `pollfds` is a valid array of `count` entries.
        unsafe { libc::poll(pollfds.as_mut_ptr(), count, timeout) as isize }
    })?;
    Ok(())
}

fn failed(what: &str) -> HostCallError {
    HostCallError::Failed(format!("wasi: {what} failed"))
}

fn pollable_ready(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    host.sockets.pump();
    let ready = match wait_of(host, rep)? {
        Wait::Ready => true,
        Wait::Deadline(instant) => {
            host.state
                .clocks
                .peek(1)
                .map_err(|_| failed("the monotonic clock"))?
                >= instant
        }
        Wait::Fd(fd, events) => fd_ready(fd, events),
    };
    Ok(one(ComponentVal::Bool(ready)))
}

fn pollable_block(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    poll_list(host, &[rep])?;
    Ok(Vec::new())
}

fn poll(host: &mut WasiP2, mut args: Args) -> HostResult {
    let reps = args.borrows()?;
    args.end()?;
    let ready = poll_list(host, &reps)?;
    Ok(one(ComponentVal::List(
        ready.into_iter().map(ComponentVal::U32).collect(),
    )))
}

/// A new pollable for `pollable`, a child of stream `parent` if given.
pub(super) fn push_pollable(
    host: &mut WasiP2,
    pollable: Pollable,
    parent: Option<u32>,
) -> HostResult {
    let rep = host.resources.push(Resource::Pollable(pollable), parent)?;
    Ok(one(ComponentVal::Own(rep)))
}

// ---------------------------------------------------------------------------------------
// Input streams

/// Reads at most `len` bytes from input stream `rep`; waits for some when `blocking`.
fn read(host: &mut WasiP2, rep: u32, len: u64, blocking: bool) -> Result<Vec<u8>, Failure> {
    let time_left = host.time_left();
    let Resource::InputStream(stream) = host.resources.get_mut(Kind::InputStream, rep)? else {
        unreachable!("get checks the kind")
    };
    let len = len.min(READ_LIMIT) as usize;
    match stream {
        InputStream::Stdin(None) => Err(Failure::Closed),
        InputStream::Stdin(Some(fd)) => {
            if len == 0 {
                return Ok(Vec::new());
            }
            let timeout = if blocking {
                time_left
            } else {
                Some(Duration::ZERO)
            };
            if !wait_fd(*fd, libc::POLLIN, timeout)? {
                return if blocking {
                    Err(Failure::Stop(HostCallError::TimeLimit))
                } else {
                    Ok(Vec::new())
                };
            }
            let mut buffer = vec![0u8; len];
            // SAFETY: reading into a valid buffer of `len` bytes.
            let read = retry(|| unsafe { libc::read(*fd, buffer.as_mut_ptr().cast(), len) });
            match read {
                Ok(0) => Err(Failure::Closed),
                Ok(read) => {
                    buffer.truncate(read);
                    Ok(buffer)
                }
                Err(Errno::AGAIN) => Ok(Vec::new()),
                Err(errno) => Err(errno.into()),
            }
        }
        InputStream::Tcp(connection) => {
            let connection = connection.clone();
            super::tcp::read(host, &connection, len as u64, blocking)
        }
        InputStream::File { file, position } => {
            let mut buffer = vec![0u8; len];
            let read = loop {
                match file.read_at(&mut buffer, *position) {
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                    result => break result?,
                }
            };
            if read == 0 && len > 0 {
                return Err(Failure::Closed);
            }
            buffer.truncate(read);
            *position += read as u64;
            Ok(buffer)
        }
    }
}

fn input_read_common(host: &mut WasiP2, mut args: Args, blocking: bool) -> HostResult {
    let rep = args.borrow()?;
    let len = args.u64()?;
    args.end()?;
    let result = read(host, rep, len, blocking);
    stream_result(host, result, |bytes| Some(ComponentVal::Bytes(bytes)))
}

fn input_read(host: &mut WasiP2, args: Args) -> HostResult {
    input_read_common(host, args, false)
}

fn input_blocking_read(host: &mut WasiP2, args: Args) -> HostResult {
    input_read_common(host, args, true)
}

fn input_skip_common(host: &mut WasiP2, mut args: Args, blocking: bool) -> HostResult {
    let rep = args.borrow()?;
    let len = args.u64()?;
    args.end()?;
    let result = read(host, rep, len, blocking).map(|bytes| bytes.len() as u64);
    stream_result(host, result, |skipped| Some(ComponentVal::U64(skipped)))
}

fn input_skip(host: &mut WasiP2, args: Args) -> HostResult {
    input_skip_common(host, args, false)
}

fn input_blocking_skip(host: &mut WasiP2, args: Args) -> HostResult {
    input_skip_common(host, args, true)
}

fn input_subscribe(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let Resource::InputStream(stream) = host.resources.get(Kind::InputStream, rep)? else {
        unreachable!("get checks the kind")
    };
    let pollable = match stream {
        InputStream::Stdin(Some(fd)) => Pollable::Readable(*fd),
        InputStream::Tcp(_) => Pollable::Socket(rep),
        _ => Pollable::Ready,
    };
    push_pollable(host, pollable, Some(rep))
}

// ---------------------------------------------------------------------------------------
// Output streams

/// Writes all of `bytes` to output stream `rep`.
fn write(host: &mut WasiP2, rep: u32, bytes: &[u8]) -> Result<(), Failure> {
    let time_left = host.time_left();
    let Resource::OutputStream(stream) = host.resources.get_mut(Kind::OutputStream, rep)? else {
        unreachable!("get checks the kind")
    };
    match stream {
        OutputStream::Stdio(None) => Ok(()),
        OutputStream::Stdio(Some(fd)) => {
            let mut rest = bytes;
            while !rest.is_empty() {
                // SAFETY: writing from a valid buffer of `rest.len()` bytes.
                match retry(|| unsafe { libc::write(*fd, rest.as_ptr().cast(), rest.len()) }) {
                    Ok(written) => rest = &rest[written..],
                    // A non-blocking fd that is full: wait until it takes more.
                    Err(Errno::AGAIN) => {
                        if !wait_fd(*fd, libc::POLLOUT, time_left)? {
                            return Err(Failure::Stop(HostCallError::TimeLimit));
                        }
                    }
                    Err(errno) => return Err(errno.into()),
                }
            }
            Ok(())
        }
        OutputStream::File { file, position } => {
            file.write_all_at(bytes, *position)?;
            *position += bytes.len() as u64;
            Ok(())
        }
        OutputStream::Append(file) => {
            let end = file.metadata()?.len();
            file.write_all_at(bytes, end)?;
            Ok(())
        }
        OutputStream::Tcp(connection) => {
            let connection = connection.clone();
            super::tcp::write(host, &connection, bytes)
        }
    }
}

/// The TCP connection of output stream `rep`, if it is one.
fn tcp_output(
    host: &WasiP2,
    rep: u32,
) -> Result<Option<Rc<super::tcp::Connection>>, HostCallError> {
    match host.resources.get(Kind::OutputStream, rep)? {
        Resource::OutputStream(OutputStream::Tcp(connection)) => Ok(Some(connection.clone())),
        _ => Ok(None),
    }
}

/// Sends what stream `rep` keeps (only TCP streams keep anything); waits until all is
/// sent when `blocking`.
fn flush(host: &mut WasiP2, rep: u32, blocking: bool) -> Result<(), Failure> {
    match tcp_output(host, rep)? {
        Some(connection) => super::tcp::flush(host, &connection, blocking),
        None => Ok(()),
    }
}

/// Traps when `len` bytes are more than `limit` permits.
fn check_budget(len: u64, limit: u64, function: &str) -> Result<(), HostCallError> {
    if len > limit {
        return Err(HostCallError::Trap(format!(
            "wasi: output-stream.{function} of {len} bytes, more than the {limit} permitted"
        )));
    }
    Ok(())
}

fn output_check_write(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    if let Some(connection) = tcp_output(host, rep)? {
        let permit = super::tcp::check_write(host, &connection);
        return stream_result(host, permit, |permit| Some(ComponentVal::U64(permit)));
    }
    Ok(one(ok(Some(ComponentVal::U64(WRITE_BUDGET)))))
}

fn output_write_common(host: &mut WasiP2, mut args: Args, limit: u64, name: &str) -> HostResult {
    let rep = args.borrow()?;
    let bytes = args.bytes()?;
    args.end()?;
    host.resources.get(Kind::OutputStream, rep)?;
    check_budget(bytes.len() as u64, limit, name)?;
    let blocking = limit == BLOCKING_WRITE_LIMIT;
    let result = write(host, rep, &bytes).and_then(|()| flush(host, rep, blocking));
    stream_result(host, result, |()| None)
}

fn output_write(host: &mut WasiP2, args: Args) -> HostResult {
    output_write_common(host, args, WRITE_BUDGET, "write")
}

fn output_blocking_write_and_flush(host: &mut WasiP2, args: Args) -> HostResult {
    output_write_common(host, args, BLOCKING_WRITE_LIMIT, "blocking-write-and-flush")
}

fn output_flush_common(host: &mut WasiP2, mut args: Args, blocking: bool) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    host.resources.get(Kind::OutputStream, rep)?;
    let result = flush(host, rep, blocking);
    stream_result(host, result, |()| None)
}

/// Only TCP streams keep anything: other flushes are done as soon as asked.
fn output_flush(host: &mut WasiP2, args: Args) -> HostResult {
    output_flush_common(host, args, false)
}

fn output_blocking_flush(host: &mut WasiP2, args: Args) -> HostResult {
    output_flush_common(host, args, true)
}

fn output_subscribe(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let pollable = match tcp_output(host, rep)? {
        Some(_) => Pollable::Socket(rep),
        None => Pollable::Ready,
    };
    push_pollable(host, pollable, Some(rep))
}

fn output_write_zeroes_common(
    host: &mut WasiP2,
    mut args: Args,
    limit: u64,
    name: &str,
) -> HostResult {
    let rep = args.borrow()?;
    let len = args.u64()?;
    args.end()?;
    host.resources.get(Kind::OutputStream, rep)?;
    check_budget(len, limit, name)?;
    let blocking = limit == BLOCKING_WRITE_LIMIT;
    let result = write(host, rep, &vec![0; len as usize]).and_then(|()| flush(host, rep, blocking));
    stream_result(host, result, |()| None)
}

fn output_write_zeroes(host: &mut WasiP2, args: Args) -> HostResult {
    output_write_zeroes_common(host, args, WRITE_BUDGET, "write-zeroes")
}

fn output_blocking_write_zeroes_and_flush(host: &mut WasiP2, args: Args) -> HostResult {
    output_write_zeroes_common(
        host,
        args,
        BLOCKING_WRITE_LIMIT,
        "blocking-write-zeroes-and-flush",
    )
}

fn output_splice_common(host: &mut WasiP2, mut args: Args, blocking: bool) -> HostResult {
    let rep = args.borrow()?;
    let source = args.borrow()?;
    let len = args.u64()?;
    args.end()?;
    host.resources.get(Kind::OutputStream, rep)?;
    let result = splice_permit(host, rep, blocking).and_then(|permit| {
        if permit == 0 {
            return Ok(0);
        }
        let bytes = read(host, source, len.min(permit), blocking)?;
        write(host, rep, &bytes).map(|()| bytes.len() as u64)
    });
    stream_result(host, result, |spliced| Some(ComponentVal::U64(spliced)))
}

/// How much a splice into output stream `rep` may move: what `check-write` permits (a
/// TCP stream permits nothing while it keeps bytes; a blocking splice sends them first).
fn splice_permit(host: &mut WasiP2, rep: u32, blocking: bool) -> Result<u64, Failure> {
    match tcp_output(host, rep)? {
        Some(connection) => loop {
            if blocking {
                super::tcp::flush(host, &connection, true)?;
            }
            let permit = super::tcp::check_write(host, &connection)?;
            if permit > 0 || !blocking {
                return Ok(permit);
            }
            let fd = connection.socket.as_raw_fd();
            super::network::block_on(host, fd, libc::POLLOUT)?;
        },
        None => Ok(WRITE_BUDGET),
    }
}

fn output_splice(host: &mut WasiP2, args: Args) -> HostResult {
    output_splice_common(host, args, false)
}

fn output_blocking_splice(host: &mut WasiP2, args: Args) -> HostResult {
    output_splice_common(host, args, true)
}
