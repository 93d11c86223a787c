//! `wasi:sockets` tcp and tcp-create-socket: non-blocking host sockets (`socket2`) behind
//! the WIT's state machine, with Wasmtime's error codes and checks.
//!
//! ```text
//!   create ──► Default ──start/finish-bind──► Default (bound) ──start/finish-listen──► Listening
//!                 │                                  │                       accept: a new │
//!                 └──────────start-connect───────────┴──► Connecting ──finish-connect──► Connected
//!                                                              └──(failure)──► Closed(error-code)
//! ```
//!
//! A `start-*` does the work at once (bind, listen, a non-blocking connect) and the
//! matching `finish-*` reports it; `finish-connect` is `would-block` until the socket is
//! writable. Listening needs an explicit bind (`invalid-state` otherwise, as WASI 0.2
//! says). Each check of the grants happens in the `start-*` call and is `access-denied`.
//!
//! A connected socket's input and output streams are `wasi:io` streams over one shared
//! [`Connection`], children of the socket as in Wasmtime. Reads never block unless asked
//! to (`blocking-read`). A write sends what the socket takes at once and keeps the rest,
//! which every later wait of the host sends as the socket drains ([`Sockets`]); while
//! bytes are kept, `check-write` permits nothing and the stream's pollable waits for the
//! socket to be writable. `shutdown(send)` happens once the kept bytes are sent, and
//! dropping the output stream waits until they are.
//!
//! [`Sockets`]: super::network::Sockets

use super::io::{push_pollable, Failure, InputStream, OutputStream, Pollable, Wait};
use super::network::{
    bound_address, check_network, error, hop_limit, is_remote, is_unicast, new_socket,
    receive_buffer_size, result, send_buffer_size, set_buffer_size, set_hop_limit, ErrorCode,
    Family,
};
use super::resources::ResourceKind as Kind;
use super::values::{one, socket_address};
use super::{host_fn, Args, HostFunction, HostResult, Resource, WasiP2};
use crate::component::{ComponentVal, HostCallError};
use crate::wasi::network::SocketUse;
use crate::wasi::Errno;
use socket2::{SockAddr, Socket, TcpKeepalive};
use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

pub(super) const FUNCTIONS: &[&HostFunction] = &[
    host_fn!(
        "wasi:sockets/tcp-create-socket",
        "create-tcp-socket",
        create_tcp_socket
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.start-bind",
        tcp_start_bind
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.finish-bind",
        tcp_finish_bind
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.start-connect",
        tcp_start_connect
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.finish-connect",
        tcp_finish_connect
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.start-listen",
        tcp_start_listen
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.finish-listen",
        tcp_finish_listen
    ),
    host_fn!("wasi:sockets/tcp", "[method]tcp-socket.accept", tcp_accept),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.local-address",
        tcp_local_address
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.remote-address",
        tcp_remote_address
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.is-listening",
        tcp_is_listening
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.address-family",
        tcp_address_family
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-listen-backlog-size",
        tcp_set_listen_backlog_size
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.keep-alive-enabled",
        tcp_keep_alive_enabled
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-keep-alive-enabled",
        tcp_set_keep_alive_enabled
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.keep-alive-idle-time",
        tcp_keep_alive_idle_time
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-keep-alive-idle-time",
        tcp_set_keep_alive_idle_time
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.keep-alive-interval",
        tcp_keep_alive_interval
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-keep-alive-interval",
        tcp_set_keep_alive_interval
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.keep-alive-count",
        tcp_keep_alive_count
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-keep-alive-count",
        tcp_set_keep_alive_count
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.hop-limit",
        tcp_hop_limit
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-hop-limit",
        tcp_set_hop_limit
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.receive-buffer-size",
        tcp_receive_buffer_size
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-receive-buffer-size",
        tcp_set_receive_buffer_size
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.send-buffer-size",
        tcp_send_buffer_size
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.set-send-buffer-size",
        tcp_set_send_buffer_size
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.subscribe",
        tcp_subscribe
    ),
    host_fn!(
        "wasi:sockets/tcp",
        "[method]tcp-socket.shutdown",
        tcp_shutdown
    ),
];

/// The listen backlog before the guest sets one (Rust's standard library's).
const DEFAULT_BACKLOG: i32 = 128;

/// The operation a `start-*` began and its `finish-*` has not reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Bind,
    Connect,
    Listen,
}

enum State {
    /// Created, bound or not.
    Default(Socket),
    /// A non-blocking connect is under way.
    Connecting(Socket),
    Listening(Socket),
    Connected(Rc<Connection>),
    /// A connect failed: every later operation reports why.
    Closed(ErrorCode),
}

/// A `tcp-socket`.
pub(crate) struct TcpSocket {
    state: State,
    family: Family,
    in_progress: Option<Operation>,
    backlog: i32,
}

/// A connected socket, shared by its `tcp-socket` and its streams.
pub(crate) struct Connection {
    pub socket: Socket,
    /// Whether the input stream has ended (end of stream, an error, or `shutdown`).
    read_closed: Cell<bool>,
    write: RefCell<Writer>,
}

/// The output side of a connection.
#[derive(Default)]
struct Writer {
    /// Bytes written by the guest that the socket did not take yet.
    pending: Vec<u8>,
    /// The guest shut down sending (or the stream failed): writes are `closed`; the
    /// socket's own shutdown waits for `pending` to be sent.
    closed: bool,
    /// Shut the socket down for sending once `pending` is sent.
    shutdown_pending: bool,
    /// The error the last background send met, for the guest's next call.
    failure: Option<Errno>,
}

impl TcpSocket {
    fn new(state: State, family: Family) -> TcpSocket {
        TcpSocket {
            state,
            family,
            in_progress: None,
            backlog: DEFAULT_BACKLOG,
        }
    }

    /// The host socket, for options: not while connecting (`invalid-state`, as in
    /// Wasmtime) or after a failed connect (its error).
    fn socket(&self) -> Result<&Socket, ErrorCode> {
        match &self.state {
            State::Default(socket) | State::Listening(socket) => Ok(socket),
            State::Connected(connection) => Ok(&connection.socket),
            State::Connecting(_) => Err(ErrorCode::InvalidState),
            State::Closed(code) => Err(*code),
        }
    }

    fn bound_address(&self) -> Option<std::net::SocketAddr> {
        match &self.state {
            State::Default(socket) | State::Connecting(socket) | State::Listening(socket) => {
                bound_address(socket, self.family)
            }
            State::Connected(connection) => bound_address(&connection.socket, self.family),
            State::Closed(_) => None,
        }
    }

    /// What the socket's pollable waits for: a connect to finish, or (once `listen` is
    /// finished) a connection to accept; a bind or listen to finish is ready at once.
    pub fn readiness(&self) -> Wait {
        match (&self.state, self.in_progress) {
            (State::Connecting(socket), _) => Wait::Fd(socket.as_raw_fd(), libc::POLLOUT),
            (State::Listening(socket), None) => Wait::Fd(socket.as_raw_fd(), libc::POLLIN),
            _ => Wait::Ready,
        }
    }
}

impl Connection {
    fn new(socket: Socket) -> Connection {
        Connection {
            socket,
            read_closed: Cell::new(false),
            write: RefCell::new(Writer::default()),
        }
    }

    /// What the input stream's pollable waits for.
    pub fn read_readiness(&self) -> Wait {
        if self.read_closed.get() {
            Wait::Ready
        } else {
            Wait::Fd(self.socket.as_raw_fd(), libc::POLLIN)
        }
    }

    /// What the output stream's pollable waits for: the kept bytes to be sent.
    pub fn write_readiness(&self) -> Wait {
        let writer = self.write.borrow();
        if writer.pending.is_empty() || writer.failure.is_some() {
            Wait::Ready
        } else {
            Wait::Fd(self.socket.as_raw_fd(), libc::POLLOUT)
        }
    }

    /// Sends what it can of the kept bytes; whether some remain (to send later).
    pub fn send_pending(&self) -> bool {
        let mut writer = self.write.borrow_mut();
        while !writer.pending.is_empty() {
            match (&self.socket).write(&writer.pending) {
                Ok(sent) => {
                    writer.pending.drain(..sent);
                }
                Err(error) => match Errno::from(error) {
                    Errno::INTR => {}
                    Errno::AGAIN => return true,
                    // The peer is gone: the stream is closed, as in Wasmtime, no failure.
                    Errno::PIPE => {
                        writer.pending.clear();
                        writer.closed = true;
                    }
                    errno => {
                        writer.pending.clear();
                        writer.failure = Some(errno);
                        writer.closed = true;
                    }
                },
            }
        }
        if writer.shutdown_pending {
            writer.shutdown_pending = false;
            // The peer may be gone already; there is nobody to tell.
            let _ = self.socket.shutdown(Shutdown::Write);
        }
        false
    }
}

fn get(host: &WasiP2, rep: u32) -> Result<&TcpSocket, HostCallError> {
    let Resource::TcpSocket(socket) = host.resources.get(Kind::TcpSocket, rep)? else {
        unreachable!("get checks the kind")
    };
    Ok(socket)
}

fn get_mut(host: &mut WasiP2, rep: u32) -> Result<&mut TcpSocket, HostCallError> {
    let Resource::TcpSocket(socket) = host.resources.get_mut(Kind::TcpSocket, rep)? else {
        unreachable!("get checks the kind")
    };
    Ok(socket)
}

fn create_tcp_socket(host: &mut WasiP2, mut args: Args) -> HostResult {
    let family = Family::take(&mut args)?;
    args.end()?;
    if !host.state.network.tcp_allowed() {
        return error(ErrorCode::AccessDenied);
    }
    let socket = match new_socket(family, socket2::Type::STREAM) {
        Ok(socket) => socket,
        Err(code) => return error(code),
    };
    let socket = TcpSocket::new(State::Default(socket), family);
    let rep = host.resources.push(Resource::TcpSocket(socket), None)?;
    Ok(one(super::values::ok(Some(ComponentVal::Own(rep)))))
}

fn tcp_start_bind(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    let network = args.borrow()?;
    let address = args.socket_address()?;
    args.end()?;
    check_network(host, network)?;
    let grants = host.state.network.clone();
    let socket = get_mut(host, rep)?;
    let bind = || {
        if socket.in_progress.is_some() {
            return Err(ErrorCode::ConcurrencyConflict);
        }
        let State::Default(inner) = &socket.state else {
            return Err(ErrorCode::InvalidState);
        };
        if bound_address(inner, socket.family).is_some() {
            return Err(ErrorCode::InvalidState);
        }
        if !is_unicast(address.ip()) || !socket.family.accepts(address.ip()) {
            return Err(ErrorCode::InvalidArgument);
        }
        if !grants.allows(SocketUse::TcpBind, address) {
            return Err(ErrorCode::AccessDenied);
        }
        // The WIT: binding is not held up by a recently closed socket's TIME_WAIT.
        inner.set_reuse_address(true)?;
        inner
            .bind(&SockAddr::from(address))
            .map_err(|error| match Errno::from(error) {
                Errno::AFNOSUPPORT => ErrorCode::InvalidArgument,
                errno => errno.into(),
            })
    };
    let bound = bind();
    if bound.is_ok() {
        socket.in_progress = Some(Operation::Bind);
    }
    result(bound.map(|()| None))
}

/// A `finish-*` without payload: reports the operation `operation` started.
fn finish(host: &mut WasiP2, mut args: Args, operation: Operation) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let socket = get_mut(host, rep)?;
    if socket.in_progress != Some(operation) {
        return error(ErrorCode::NotInProgress);
    }
    socket.in_progress = None;
    result(Ok(None))
}

fn tcp_finish_bind(host: &mut WasiP2, args: Args) -> HostResult {
    finish(host, args, Operation::Bind)
}

fn tcp_finish_listen(host: &mut WasiP2, args: Args) -> HostResult {
    finish(host, args, Operation::Listen)
}

fn tcp_start_connect(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    let network = args.borrow()?;
    let address = args.socket_address()?;
    args.end()?;
    check_network(host, network)?;
    let grants = host.state.network.clone();
    let socket = get_mut(host, rep)?;
    if socket.in_progress.is_some() {
        return error(ErrorCode::ConcurrencyConflict);
    }
    if !matches!(socket.state, State::Default(_)) {
        return error(ErrorCode::InvalidState);
    }
    if !is_unicast(address.ip()) || !is_remote(address) || !socket.family.accepts(address.ip()) {
        return error(ErrorCode::InvalidArgument);
    }
    if !grants.allows(SocketUse::TcpConnect, address) {
        return error(ErrorCode::AccessDenied);
    }
    let State::Default(inner) =
        std::mem::replace(&mut socket.state, State::Closed(ErrorCode::Unknown))
    else {
        unreachable!("checked above")
    };
    // A failure of the connect itself is `finish-connect`'s to report, as in Wasmtime.
    socket.state = match inner.connect(&SockAddr::from(address)) {
        Ok(()) => State::Connecting(inner),
        Err(error) => match Errno::from(error) {
            Errno::INPROGRESS | Errno::INTR => State::Connecting(inner),
            errno => State::Closed(errno.into()),
        },
    };
    socket.in_progress = Some(Operation::Connect);
    result(Ok(None))
}

/// The socket's new input and output streams, children of `rep`.
fn push_streams(
    host: &mut WasiP2,
    rep: u32,
    connection: &Rc<Connection>,
) -> Result<(ComponentVal, ComponentVal), HostCallError> {
    let input = host.resources.push(
        Resource::InputStream(InputStream::Tcp(connection.clone())),
        Some(rep),
    )?;
    let output = host.resources.push(
        Resource::OutputStream(OutputStream::Tcp(connection.clone())),
        Some(rep),
    )?;
    Ok((ComponentVal::Own(input), ComponentVal::Own(output)))
}

fn tcp_finish_connect(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let socket = get_mut(host, rep)?;
    if socket.in_progress != Some(Operation::Connect) {
        return error(ErrorCode::NotInProgress);
    }
    let outcome = match &socket.state {
        State::Closed(code) => Err(*code),
        State::Connecting(inner) => {
            if !super::io::fd_ready(inner.as_raw_fd(), libc::POLLOUT) {
                return error(ErrorCode::WouldBlock);
            }
            match inner.take_error() {
                Ok(None) => Ok(()),
                Ok(Some(error)) | Err(error) => Err(ErrorCode::from(error)),
            }
        }
        _ => unreachable!("a connect in progress is connecting or has failed"),
    };
    socket.in_progress = None;
    let old = std::mem::replace(&mut socket.state, State::Closed(ErrorCode::Unknown));
    match (outcome, old) {
        (Ok(()), State::Connecting(inner)) => {
            let connection = Rc::new(Connection::new(inner));
            socket.state = State::Connected(connection.clone());
            let (input, output) = push_streams(host, rep, &connection)?;
            result(Ok(Some(ComponentVal::Tuple(vec![input, output]))))
        }
        (Err(code), _) => {
            socket.state = State::Closed(code);
            error(code)
        }
        (Ok(()), _) => unreachable!("only a connecting socket connects"),
    }
}

fn tcp_start_listen(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let grants = host.state.network.clone();
    let socket = get_mut(host, rep)?;
    if socket.in_progress.is_some() {
        return error(ErrorCode::ConcurrencyConflict);
    }
    let State::Default(inner) = &socket.state else {
        return error(ErrorCode::InvalidState);
    };
    // WASI 0.2: a socket listens only once explicitly bound.
    let Some(local) = bound_address(inner, socket.family) else {
        return error(ErrorCode::InvalidState);
    };
    if !grants.allows(SocketUse::TcpListen, local) {
        return error(ErrorCode::AccessDenied);
    }
    if let Err(error) = inner.listen(socket.backlog) {
        return super::network::error(error.into());
    }
    let State::Default(inner) =
        std::mem::replace(&mut socket.state, State::Closed(ErrorCode::Unknown))
    else {
        unreachable!("checked above")
    };
    socket.state = State::Listening(inner);
    socket.in_progress = Some(Operation::Listen);
    result(Ok(None))
}

fn tcp_accept(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let socket = get(host, rep)?;
    let family = socket.family;
    let State::Listening(listener) = &socket.state else {
        return error(ErrorCode::InvalidState);
    };
    let accepted = loop {
        match listener.accept() {
            Ok((accepted, _)) => break accepted,
            Err(failure) => match Errno::from(failure) {
                Errno::INTR => continue,
                // Linux passes errors pending on the new connection on to accept; other
                // systems, and Wasmtime, call them an aborted connection.
                Errno::CONNRESET
                | Errno::NETRESET
                | Errno::HOSTUNREACH
                | Errno::NETDOWN
                | Errno::NETUNREACH
                | Errno::PROTO
                | Errno::NOPROTOOPT
                | Errno::NOTSUP => return error(ErrorCode::ConnectionAborted),
                errno => return error(errno.into()),
            },
        }
    };
    if let Err(error) = accepted.set_nonblocking(true) {
        return super::network::error(error.into());
    }
    let connection = Rc::new(Connection::new(accepted));
    let socket = TcpSocket::new(State::Connected(connection.clone()), family);
    let accepted_rep = host.resources.push(Resource::TcpSocket(socket), None)?;
    let (input, output) = push_streams(host, accepted_rep, &connection)?;
    result(Ok(Some(ComponentVal::Tuple(vec![
        ComponentVal::Own(accepted_rep),
        input,
        output,
    ]))))
}

fn tcp_local_address(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let socket = get(host, rep)?;
    let address = match (&socket.state, socket.bound_address()) {
        (State::Closed(code), _) => Err(*code),
        (State::Connecting(_), _) | (_, None) => Err(ErrorCode::InvalidState),
        (_, Some(address)) => Ok(Some(socket_address(address))),
    };
    result(address)
}

fn tcp_remote_address(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let socket = get(host, rep)?;
    let address = match &socket.state {
        State::Connected(connection) => connection
            .socket
            .peer_addr()
            .map_err(ErrorCode::from)
            .and_then(|address| address.as_socket().ok_or(ErrorCode::Unknown))
            .map(|address| Some(socket_address(address))),
        State::Closed(code) => Err(*code),
        _ => Err(ErrorCode::InvalidState),
    };
    result(address)
}

fn tcp_is_listening(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let listening = matches!(get(host, rep)?.state, State::Listening(_));
    Ok(one(ComponentVal::Bool(listening)))
}

fn tcp_address_family(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    Ok(one(get(host, rep)?.family.value()))
}

fn tcp_set_listen_backlog_size(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    let value = args.u64()?;
    args.end()?;
    let socket = get_mut(host, rep)?;
    if value == 0 {
        return error(ErrorCode::InvalidArgument);
    }
    // Systems clamp the backlog themselves; so does this.
    let value = i32::try_from(value).unwrap_or(i32::MAX);
    let outcome = match &socket.state {
        State::Default(_) => Ok(()),
        // Listening again changes the backlog on Linux; where it does not, say so.
        State::Listening(listener) => listener.listen(value).map_err(|_| ErrorCode::NotSupported),
        State::Closed(code) => Err(*code),
        _ => Err(ErrorCode::InvalidState),
    };
    if outcome.is_ok() {
        socket.backlog = value;
    }
    result(outcome.map(|()| None))
}

/// Runs `option` on the socket `rep` of the arguments (after the other arguments `take`
/// reads), giving `result<T, error-code>`.
fn with_socket<T>(
    host: &mut WasiP2,
    mut args: Args,
    take: impl FnOnce(&mut Args) -> Result<T, HostCallError>,
    option: impl FnOnce(&Socket, Family, T) -> Result<Option<ComponentVal>, ErrorCode>,
) -> HostResult {
    let rep = args.borrow()?;
    let value = take(&mut args)?;
    args.end()?;
    let socket = get(host, rep)?;
    let family = socket.family;
    result(
        socket
            .socket()
            .and_then(|inner| option(inner, family, value)),
    )
}

fn no_argument(_: &mut Args) -> Result<(), HostCallError> {
    Ok(())
}

fn nanoseconds(duration: Duration) -> ComponentVal {
    ComponentVal::U64(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX))
}

/// A keep-alive time the system takes: at least a second (less would round to 0), at
/// most Linux's limit, as Wasmtime clamps it.
fn keep_alive_time(nanoseconds: u64) -> Result<Duration, ErrorCode> {
    if nanoseconds == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    let clamped = nanoseconds.clamp(1_000_000_000, i16::MAX as u64 * 1_000_000_000);
    Ok(Duration::from_nanos(clamped))
}

fn tcp_keep_alive_enabled(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, _, ()| {
        Ok(Some(ComponentVal::Bool(socket.keepalive()?)))
    })
}

fn tcp_set_keep_alive_enabled(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::bool, |socket, _, value| {
        socket.set_keepalive(value)?;
        Ok(None)
    })
}

fn tcp_keep_alive_idle_time(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, _, ()| {
        Ok(Some(nanoseconds(socket.tcp_keepalive_time()?)))
    })
}

fn tcp_set_keep_alive_idle_time(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::u64, |socket, _, value| {
        let time = keep_alive_time(value)?;
        socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(time))?;
        Ok(None)
    })
}

fn tcp_keep_alive_interval(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, _, ()| {
        Ok(Some(nanoseconds(socket.tcp_keepalive_interval()?)))
    })
}

fn tcp_set_keep_alive_interval(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::u64, |socket, _, value| {
        let interval = keep_alive_time(value)?;
        socket.set_tcp_keepalive(&TcpKeepalive::new().with_interval(interval))?;
        Ok(None)
    })
}

fn tcp_keep_alive_count(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, _, ()| {
        Ok(Some(ComponentVal::U32(socket.tcp_keepalive_retries()?)))
    })
}

fn tcp_set_keep_alive_count(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::u32, |socket, _, value| {
        if value == 0 {
            return Err(ErrorCode::InvalidArgument);
        }
        // Linux's limit, the lowest of the systems Wasmtime supports.
        let retries = value.clamp(1, i8::MAX as u32);
        socket.set_tcp_keepalive(&TcpKeepalive::new().with_retries(retries))?;
        Ok(None)
    })
}

fn tcp_hop_limit(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, family, ()| {
        Ok(Some(ComponentVal::U8(hop_limit(socket, family)?)))
    })
}

fn tcp_set_hop_limit(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::u8, |socket, family, value| {
        set_hop_limit(socket, family, value).map(|()| None)
    })
}

fn tcp_receive_buffer_size(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, _, ()| {
        Ok(Some(ComponentVal::U64(receive_buffer_size(socket)?)))
    })
}

fn tcp_set_receive_buffer_size(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::u64, |socket, _, value| {
        set_buffer_size(socket, value, true).map(|()| None)
    })
}

fn tcp_send_buffer_size(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, _, ()| {
        Ok(Some(ComponentVal::U64(send_buffer_size(socket)?)))
    })
}

fn tcp_set_send_buffer_size(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::u64, |socket, _, value| {
        set_buffer_size(socket, value, false).map(|()| None)
    })
}

fn tcp_subscribe(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    get(host, rep)?;
    push_pollable(host, Pollable::Socket(rep), Some(rep))
}

fn tcp_shutdown(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    let how = args.enum_case()?;
    args.end()?;
    let (receive, send) = match how {
        0 => (true, false),
        1 => (false, true),
        2 => (true, true),
        case => {
            return Err(HostCallError::Trap(format!(
                "wasi: shutdown-type case {case} is out of range"
            )))
        }
    };
    let State::Connected(connection) = &get(host, rep)?.state else {
        return error(ErrorCode::InvalidState);
    };
    let connection = connection.clone();
    if receive {
        connection.read_closed.set(true);
        // Linux lets recv go on reading after SHUT_RD; the stream ends here regardless.
        let _ = connection.socket.shutdown(Shutdown::Read);
    }
    if send {
        let mut writer = connection.write.borrow_mut();
        if !writer.closed {
            writer.closed = true;
            writer.shutdown_pending = true;
        }
        drop(writer);
        if connection.send_pending() {
            host.sockets.add_pending(&connection);
        }
    }
    result(Ok(None))
}

// ---------------------------------------------------------------------------------------
// The connection's streams (called by `io.rs`)

/// The most one `read` returns.
const READ_LIMIT: usize = 1 << 20;

/// Reads at most `len` bytes; waits for some when `blocking`.
pub(super) fn read(
    host: &mut WasiP2,
    connection: &Rc<Connection>,
    len: u64,
    blocking: bool,
) -> Result<Vec<u8>, Failure> {
    if connection.read_closed.get() {
        return Err(Failure::Closed);
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX).min(READ_LIMIT);
    if len == 0 {
        return Ok(Vec::new());
    }
    let mut buffer = vec![0; len];
    loop {
        match (&connection.socket).read(&mut buffer) {
            Ok(0) => {
                connection.read_closed.set(true);
                return Err(Failure::Closed);
            }
            Ok(read) => {
                buffer.truncate(read);
                return Ok(buffer);
            }
            Err(error) => match Errno::from(error) {
                Errno::INTR => {}
                Errno::AGAIN if blocking => {
                    super::network::block_on(host, connection.socket.as_raw_fd(), libc::POLLIN)?;
                    if connection.read_closed.get() {
                        return Err(Failure::Closed);
                    }
                }
                Errno::AGAIN => return Ok(Vec::new()),
                errno => {
                    connection.read_closed.set(true);
                    return Err(Failure::Io(errno, network_message(errno)));
                }
            },
        }
    }
}

/// What an `error` resource of a failed socket stream says.
fn network_message(errno: Errno) -> String {
    format!("{:?}", ErrorCode::from(errno))
}

/// The error a closed writer reports: the failure it met, or `closed`.
fn write_failure(writer: &mut Writer) -> Failure {
    match writer.failure.take() {
        Some(errno) => Failure::Io(errno, network_message(errno)),
        None => Failure::Closed,
    }
}

/// How many bytes `write` may take now: nothing while bytes are kept.
pub(super) fn check_write(host: &mut WasiP2, connection: &Rc<Connection>) -> Result<u64, Failure> {
    host.sockets.pump();
    let mut writer = connection.write.borrow_mut();
    if writer.closed {
        return Err(write_failure(&mut writer));
    }
    if !writer.pending.is_empty() {
        return Ok(0);
    }
    let writable = super::io::fd_ready(connection.socket.as_raw_fd(), libc::POLLOUT);
    Ok(if writable { super::io::WRITE_BUDGET } else { 0 })
}

/// Takes `bytes`: sends what the socket takes, keeps the rest for later waits to send.
/// Writing while bytes are kept is more than `check-write` permitted: a trap, as in
/// Wasmtime.
pub(super) fn write(
    host: &mut WasiP2,
    connection: &Rc<Connection>,
    bytes: &[u8],
) -> Result<(), Failure> {
    {
        let mut writer = connection.write.borrow_mut();
        if writer.closed {
            return Err(write_failure(&mut writer));
        }
        if bytes.is_empty() {
            return Ok(());
        }
        if !writer.pending.is_empty() {
            return Err(Failure::Stop(HostCallError::Trap(format!(
                "wasi: output-stream.write of {} bytes while check-write permits none \
                 (earlier bytes are still being sent)",
                bytes.len()
            ))));
        }
        writer.pending.extend_from_slice(bytes);
    }
    if connection.send_pending() {
        host.sockets.add_pending(connection);
    }
    let mut writer = connection.write.borrow_mut();
    match writer.failure {
        Some(_) => Err(write_failure(&mut writer)),
        None => Ok(()),
    }
}

/// Sends the kept bytes; when `blocking`, waits until all are sent.
pub(super) fn flush(
    host: &mut WasiP2,
    connection: &Rc<Connection>,
    blocking: bool,
) -> Result<(), Failure> {
    loop {
        host.sockets.pump();
        {
            let mut writer = connection.write.borrow_mut();
            if writer.failure.is_some() || writer.closed {
                return Err(write_failure(&mut writer));
            }
            if !blocking || writer.pending.is_empty() {
                return Ok(());
            }
        }
        super::network::block_on(host, connection.socket.as_raw_fd(), libc::POLLOUT)?;
    }
}

/// Before output stream `rep` is dropped: if it is a TCP stream with kept bytes, waits
/// until the socket has taken them (or fails, or the time limit runs out), so that a
/// guest that writes and closes loses nothing.
pub(super) fn drain_before_drop(host: &mut WasiP2, rep: u32) -> Result<(), HostCallError> {
    let connection = match host.resources.get(Kind::OutputStream, rep) {
        Ok(Resource::OutputStream(OutputStream::Tcp(connection))) => connection.clone(),
        // Not a TCP stream, or no stream at all: the drop itself says so.
        _ => return Ok(()),
    };
    loop {
        host.sockets.pump();
        {
            let writer = connection.write.borrow();
            if writer.pending.is_empty() || writer.failure.is_some() {
                return Ok(());
            }
        }
        match super::network::block_on(host, connection.socket.as_raw_fd(), libc::POLLOUT) {
            Ok(()) => {}
            Err(Failure::Stop(error)) => return Err(error),
            // The socket failed: the pump records it and drops the bytes.
            Err(_) => host.sockets.pump(),
        }
    }
}
