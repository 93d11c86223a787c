//! `wasi:sockets` network, instance-network and ip-name-lookup, and what the TCP and UDP
//! families share: the `error-code`s, the address checks, the socket options common to
//! both, the readiness of socket pollables and the background writes of TCP streams.
//!
//! The `network` resource is a token: what a guest may reach is decided by the
//! [`NetworkGrants`](crate::wasi::NetworkGrants) of its `WasiCtx`, as Wasmtime decides by
//! its `WasiCtx`. Without a grant, creating a socket is `access-denied` and resolving a
//! name `permanent-resolver-failure` (what Wasmtime gives with `-S tcp=n`, `-S udp=n` and
//! without `-S allow-ip-name-lookup`, and what its `p2_cli_no_*` programs expect); with
//! one, binding, listening, connecting or sending to an address no grant names is
//! `access-denied`.
//!
//! Name lookup resolves at once, so a `resolve-address-stream` is always ready: the guest
//! waits in `resolve-addresses` while `getaddrinfo` runs on a thread of its own, for at
//! most the store's time limit; when that runs out first, the guest stops (the lookup
//! finishes on its thread and its answer is dropped). IP address literals resolve to
//! themselves.

use super::io::{Failure, Wait};
use super::resources::ResourceKind as Kind;
use super::tcp::Connection;
use super::values::{err, ip_address, ok, one, option};
use super::{host_fn, Args, HostFunction, HostResult, Resource, WasiP2};
use crate::component::{ComponentVal, HostCallError};
use crate::wasi::Errno;
use socket2::Socket;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

pub(super) const FUNCTIONS: &[&HostFunction] = &[
    host_fn!(
        "wasi:sockets/network",
        "network-error-code",
        network_error_code
    ),
    host_fn!(
        "wasi:sockets/instance-network",
        "instance-network",
        instance_network
    ),
    host_fn!(
        "wasi:sockets/ip-name-lookup",
        "resolve-addresses",
        resolve_addresses
    ),
    host_fn!(
        "wasi:sockets/ip-name-lookup",
        "[method]resolve-address-stream.resolve-next-address",
        resolve_next_address
    ),
    host_fn!(
        "wasi:sockets/ip-name-lookup",
        "[method]resolve-address-stream.subscribe",
        resolve_address_stream_subscribe
    ),
];

/// `wasi:sockets/network`'s `error-code`, by case index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum ErrorCode {
    Unknown = 0,
    AccessDenied,
    NotSupported,
    InvalidArgument,
    OutOfMemory,
    Timeout,
    ConcurrencyConflict,
    NotInProgress,
    WouldBlock,
    InvalidState,
    NewSocketLimit,
    AddressNotBindable,
    AddressInUse,
    RemoteUnreachable,
    ConnectionRefused,
    ConnectionReset,
    ConnectionAborted,
    DatagramTooLarge,
    NameUnresolvable,
    // The system's resolver, through the standard library, does not tell a temporary
    // failure from a name that does not resolve.
    #[allow(dead_code)]
    TemporaryResolverFailure,
    PermanentResolverFailure,
}

/// The `error-code` case names, by index.
#[cfg(test)]
pub(crate) const ERROR_CODE_NAMES: &[&str] = &[
    "unknown",
    "access-denied",
    "not-supported",
    "invalid-argument",
    "out-of-memory",
    "timeout",
    "concurrency-conflict",
    "not-in-progress",
    "would-block",
    "invalid-state",
    "new-socket-limit",
    "address-not-bindable",
    "address-in-use",
    "remote-unreachable",
    "connection-refused",
    "connection-reset",
    "connection-aborted",
    "datagram-too-large",
    "name-unresolvable",
    "temporary-resolver-failure",
    "permanent-resolver-failure",
];

impl From<Errno> for ErrorCode {
    /// As Wasmtime maps host errors.
    fn from(errno: Errno) -> ErrorCode {
        match errno {
            Errno::AGAIN | Errno::INTR => ErrorCode::WouldBlock,
            Errno::PERM | Errno::ACCES => ErrorCode::AccessDenied,
            Errno::ADDRINUSE => ErrorCode::AddressInUse,
            Errno::ADDRNOTAVAIL => ErrorCode::AddressNotBindable,
            Errno::ALREADY => ErrorCode::ConcurrencyConflict,
            Errno::TIMEDOUT => ErrorCode::Timeout,
            Errno::CONNREFUSED => ErrorCode::ConnectionRefused,
            Errno::CONNRESET => ErrorCode::ConnectionReset,
            Errno::CONNABORTED => ErrorCode::ConnectionAborted,
            Errno::INVAL => ErrorCode::InvalidArgument,
            Errno::HOSTUNREACH | Errno::NETDOWN | Errno::NETUNREACH => ErrorCode::RemoteUnreachable,
            Errno::ISCONN | Errno::NOTCONN | Errno::DESTADDRREQ => ErrorCode::InvalidState,
            Errno::NFILE | Errno::MFILE => ErrorCode::NewSocketLimit,
            Errno::MSGSIZE => ErrorCode::DatagramTooLarge,
            Errno::NOMEM | Errno::NOBUFS => ErrorCode::OutOfMemory,
            Errno::NOTSUP
            | Errno::NOPROTOOPT
            | Errno::PROTONOSUPPORT
            | Errno::PROTOTYPE
            | Errno::AFNOSUPPORT => ErrorCode::NotSupported,
            _ => ErrorCode::Unknown,
        }
    }
}

impl From<std::io::Error> for ErrorCode {
    fn from(error: std::io::Error) -> ErrorCode {
        ErrorCode::from(Errno::from(error))
    }
}

/// `result<T, error-code>`'s `err`.
pub(super) fn error(code: ErrorCode) -> HostResult {
    Ok(one(err(ComponentVal::Enum(code as u32))))
}

/// The result of an operation that gives `result<T, error-code>`.
pub(super) fn result(value: Result<Option<ComponentVal>, ErrorCode>) -> HostResult {
    match value {
        Ok(value) => Ok(one(ok(value))),
        Err(code) => error(code),
    }
}

/// `ip-address-family`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// The enum's case from an argument; a case past `ipv6` traps.
    pub fn take(args: &mut Args) -> Result<Family, HostCallError> {
        match args.enum_case()? {
            0 => Ok(Family::Ipv4),
            1 => Ok(Family::Ipv6),
            case => Err(HostCallError::Trap(format!(
                "wasi: ip-address-family case {case} is out of range"
            ))),
        }
    }

    pub fn value(self) -> ComponentVal {
        ComponentVal::Enum(self as u32)
    }

    pub fn domain(self) -> socket2::Domain {
        match self {
            Family::Ipv4 => socket2::Domain::IPV4,
            Family::Ipv6 => socket2::Domain::IPV6,
        }
    }

    /// `0.0.0.0:0` or `[::]:0`: what an unbound socket reports.
    pub fn unspecified(self) -> SocketAddr {
        match self {
            Family::Ipv4 => SocketAddr::from(([0, 0, 0, 0], 0)),
            Family::Ipv6 => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        }
    }

    /// Whether `ip` may be used with a socket of this family: IPv6 sockets are IPv6-only
    /// in WASI, so IPv4-mapped (and the deprecated IPv4-compatible) addresses are not.
    pub fn accepts(self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Family::Ipv4, IpAddr::V4(_)) => true,
            (Family::Ipv6, IpAddr::V6(ip)) => {
                let compatible = matches!(ip.segments(), [0, 0, 0, 0, 0, 0, _, _])
                    && ip != Ipv6Addr::UNSPECIFIED
                    && ip != Ipv6Addr::LOCALHOST;
                !compatible && ip.to_ipv4_mapped().is_none()
            }
            _ => false,
        }
    }
}

/// A new non-blocking socket of `family` (IPv6-only for IPv6, as WASI requires).
pub(super) fn new_socket(family: Family, kind: socket2::Type) -> Result<Socket, ErrorCode> {
    let socket = Socket::new(family.domain(), kind, None)?;
    socket.set_nonblocking(true)?;
    if family == Family::Ipv6 {
        socket.set_only_v6(true)?;
    }
    Ok(socket)
}

/// Whether `ip` is a unicast address (not multicast or broadcast).
pub(super) fn is_unicast(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(ip) => !ip.is_multicast() && !ip.is_broadcast(),
        IpAddr::V6(ip) => !ip.is_multicast(),
    }
}

/// Whether `address` may be connected or sent to: not unspecified, not port 0.
pub(super) fn is_remote(address: SocketAddr) -> bool {
    !address.ip().to_canonical().is_unspecified() && address.port() != 0
}

/// The socket's local address, `None` while it is unbound.
pub(super) fn bound_address(socket: &Socket, family: Family) -> Option<SocketAddr> {
    let address = socket.local_addr().ok()?.as_socket()?;
    (address != family.unspecified()).then_some(address)
}

/// Checks that `rep` is a `network`.
pub(super) fn check_network(host: &WasiP2, rep: u32) -> Result<(), HostCallError> {
    host.resources.get(Kind::Network, rep).map(|_| ())
}

// ---------------------------------------------------------------------------------------
// Options both protocols have

/// `hop-limit` / `unicast-hop-limit`.
pub(super) fn hop_limit(socket: &Socket, family: Family) -> Result<u8, ErrorCode> {
    let hops = match family {
        Family::Ipv4 => socket.ttl_v4()?,
        Family::Ipv6 => socket.unicast_hops_v6()?,
    };
    u8::try_from(hops).map_err(|_| ErrorCode::NotSupported)
}

pub(super) fn set_hop_limit(socket: &Socket, family: Family, value: u8) -> Result<(), ErrorCode> {
    // The WIT: 0 is invalid-argument (systems differ on it, so it is checked here).
    if value == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    match family {
        Family::Ipv4 => socket.set_ttl_v4(value.into())?,
        Family::Ipv6 => socket.set_unicast_hops_v6(value.into())?,
    }
    Ok(())
}

/// A buffer size as the guest set it: Linux reports twice the value set (the kernel's
/// bookkeeping), so it is halved back, as Wasmtime does.
fn reported_buffer_size(size: usize) -> u64 {
    (size / 2) as u64
}

pub(super) fn receive_buffer_size(socket: &Socket) -> Result<u64, ErrorCode> {
    Ok(reported_buffer_size(socket.recv_buffer_size()?))
}

pub(super) fn send_buffer_size(socket: &Socket) -> Result<u64, ErrorCode> {
    Ok(reported_buffer_size(socket.send_buffer_size()?))
}

/// Sets a buffer size: 0 is invalid-argument; the system clamps the rest (a hint, as on
/// Linux, so `ENOBUFS` is no error either).
pub(super) fn set_buffer_size(socket: &Socket, value: u64, receive: bool) -> Result<(), ErrorCode> {
    if value == 0 {
        return Err(ErrorCode::InvalidArgument);
    }
    let value = usize::try_from(value)
        .unwrap_or(usize::MAX)
        .clamp(1, i32::MAX as usize);
    let result = if receive {
        socket.set_recv_buffer_size(value)
    } else {
        socket.set_send_buffer_size(value)
    };
    match result.map_err(Errno::from) {
        Ok(()) | Err(Errno::NOBUFS) => Ok(()),
        Err(errno) => Err(errno.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Waiting, and the TCP writes that go on while the guest waits

/// What the sockets of one host share: the TCP connections whose output streams still
/// hold bytes the socket did not take yet. Every wait of the host sends them as the
/// sockets accept more ([`pump`]), as Wasmtime's background writes do, so a guest that
/// writes more than the socket buffers and then waits for something else loses nothing.
#[derive(Default)]
pub(crate) struct Sockets {
    pending_writes: Vec<Rc<Connection>>,
}

impl Sockets {
    /// Remembers that `connection` has bytes to send.
    pub fn add_pending(&mut self, connection: &Rc<Connection>) {
        if !self
            .pending_writes
            .iter()
            .any(|pending| Rc::ptr_eq(pending, connection))
        {
            self.pending_writes.push(connection.clone());
        }
    }

    /// Sends what the sockets take now; forgets the connections that are done.
    pub fn pump(&mut self) {
        self.pending_writes
            .retain(|connection| connection.send_pending());
    }

    /// The fds whose writability a wait should also watch.
    pub fn pending_fds(&self) -> impl Iterator<Item = (RawFd, libc::c_short)> + '_ {
        self.pending_writes
            .iter()
            .map(|connection| (connection.socket.as_raw_fd(), libc::POLLOUT))
    }
}

/// What the pollable of socket resource `rep` waits for now.
pub(super) fn readiness(host: &WasiP2, rep: u32) -> Result<Wait, HostCallError> {
    let entry = host.resources.get_any(rep).ok_or_else(|| {
        HostCallError::Trap(format!("wasi: no host resource has representation {rep}"))
    })?;
    Ok(match entry {
        Resource::TcpSocket(socket) => socket.readiness(),
        Resource::InputStream(super::io::InputStream::Tcp(connection)) => {
            connection.read_readiness()
        }
        Resource::OutputStream(super::io::OutputStream::Tcp(connection)) => {
            connection.write_readiness()
        }
        Resource::IncomingDatagramStream(stream) => stream.readiness(),
        Resource::OutgoingDatagramStream(stream) => stream.readiness(),
        _ => Wait::Ready,
    })
}

/// Waits until `fd` has `events` (or an error or hang-up), sending pending TCP writes
/// meanwhile; stops the guest when the store's time limit runs out.
pub(super) fn block_on(host: &mut WasiP2, fd: RawFd, events: libc::c_short) -> Result<(), Failure> {
    loop {
        host.sockets.pump();
        let time_left = host.time_left();
        let mut fds: Vec<libc::pollfd> = std::iter::once((fd, events))
            .chain(host.sockets.pending_fds())
            .map(|(fd, events)| libc::pollfd {
                fd,
                events,
                revents: 0,
            })
            .collect();
        if time_left == Some(Duration::ZERO) {
            return Err(Failure::Stop(HostCallError::TimeLimit));
        }
        super::io::poll_fds(&mut fds, time_left)?;
        if fds[0].revents != 0 {
            host.sockets.pump();
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------------------
// network, instance-network

fn network_error_code(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let Resource::Error(error) = host.resources.get(Kind::Error, rep)? else {
        unreachable!("get checks the kind")
    };
    let code = error
        .errno
        .map(|errno| ComponentVal::Enum(ErrorCode::from(errno) as u32));
    Ok(one(option(code)))
}

fn instance_network(host: &mut WasiP2, args: Args) -> HostResult {
    args.end()?;
    let rep = host.resources.push(Resource::Network, None)?;
    Ok(one(ComponentVal::Own(rep)))
}

// ---------------------------------------------------------------------------------------
// ip-name-lookup

/// The addresses `name` stands for: itself if it is an IP address (IPv6 also in
/// brackets), else what the system's resolver says within `time_left` (`None`: as long
/// as it takes); `Err(TimeLimit)` when the time runs out first.
fn resolve(
    name: &str,
    time_left: Option<Duration>,
) -> Result<Result<Vec<IpAddr>, ErrorCode>, HostCallError> {
    let literal = name
        .strip_prefix('[')
        .and_then(|name| name.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        if literal.len() == name.len() || ip.is_ipv6() {
            return Ok(Ok(vec![ip]));
        }
    }
    // What a URL's host may not contain (the WHATWG URL standard's forbidden host code
    // points), as Wasmtime validates with `url::Host::parse`.
    let forbidden = |c: char| {
        c.is_ascii_control()
            || matches!(
                c,
                ' ' | '#' | '%' | '/' | ':' | '<' | '>' | '?' | '@' | '[' | '\\' | ']' | '^' | '|'
            )
    };
    if name.is_empty() || name.len() > 253 || name.chars().any(forbidden) {
        return Ok(Err(ErrorCode::InvalidArgument));
    }
    let name = name.to_string();
    let lookup = move || {
        let addresses = (name.as_str(), 0)
            .to_socket_addrs()
            .map_err(|_| ErrorCode::NameUnresolvable)?;
        Ok(addresses
            .map(|address| address.ip().to_canonical())
            .collect())
    };
    match within(time_left, lookup) {
        Ok(Some(resolved)) => Ok(resolved),
        Ok(None) => Err(HostCallError::TimeLimit),
        // No thread for the lookup: the system is short of resources, try again later.
        Err(_) => Ok(Err(ErrorCode::TemporaryResolverFailure)),
    }
}

/// Runs `work` on a thread of its own and waits for its result for at most `time_left`
/// (`None`: until it is done); `Ok(None)` when the time ran out first. `getaddrinfo`
/// cannot be interrupted, so it is left to finish on its thread, which drops its result.
pub(super) fn within<T: Send + 'static>(
    time_left: Option<Duration>,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<Option<T>> {
    let (send, receive) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("kiln-name-lookup".into())
        .spawn(move || {
            // The receiver is gone when the time ran out: nobody wants the answer.
            let _ = send.send(work());
        })?;
    Ok(match time_left {
        None => receive.recv().ok(),
        Some(time_left) => receive.recv_timeout(time_left).ok(),
    })
}

fn resolve_addresses(host: &mut WasiP2, mut args: Args) -> HostResult {
    let network = args.borrow()?;
    let name = args.string()?;
    args.end()?;
    check_network(host, network)?;
    if !host.state.network.ip_name_lookup_allowed() {
        return error(ErrorCode::PermanentResolverFailure);
    }
    match resolve(&name, host.time_left())? {
        Ok(addresses) => {
            let stream = Resource::ResolveAddressStream(addresses.into_iter());
            let rep = host.resources.push(stream, None)?;
            Ok(one(ok(Some(ComponentVal::Own(rep)))))
        }
        Err(code) => error(code),
    }
}

fn resolve_next_address(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let Resource::ResolveAddressStream(addresses) =
        host.resources.get_mut(Kind::ResolveAddressStream, rep)?
    else {
        unreachable!("get checks the kind")
    };
    let next = addresses.next().map(ip_address);
    Ok(one(ok(Some(option(next)))))
}

fn resolve_address_stream_subscribe(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    host.resources.get(Kind::ResolveAddressStream, rep)?;
    super::io::push_pollable(host, super::io::Pollable::Ready, Some(rep))
}
