//! `wasi:sockets` udp and udp-create-socket: a non-blocking host UDP socket, and the
//! incoming and outgoing datagram streams `stream` makes of it (children of the socket,
//! sharing its fd), with Wasmtime's checks and error codes.
//!
//! A socket is bound (`start-bind`/`finish-bind`, at once) before `stream`, which also
//! connects it to a remote address or dissolves the connection; streams of an earlier
//! `stream` call must be dropped first (a trap otherwise, as in Wasmtime). `receive`
//! gives what has arrived (at most 16 datagrams, never waiting); `check-send` permits 16
//! datagrams while the socket is writable and `send` sends at most that many, each
//! checked against the grants (`access-denied`) and the connected address.

use super::io::{push_pollable, Pollable, Wait};
use super::network::{
    bound_address, check_network, error, hop_limit, is_remote, new_socket, receive_buffer_size,
    result, send_buffer_size, set_buffer_size, set_hop_limit, ErrorCode, Family,
};
use super::resources::ResourceKind as Kind;
use super::values::{one, socket_address};
use super::{host_fn, Args, HostFunction, HostResult, Resource, WasiP2};
use crate::component::{ComponentVal, HostCallError};
use crate::wasi::network::SocketUse;
use crate::wasi::Errno;
use socket2::SockRef;
use std::net::{SocketAddr, UdpSocket as HostSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;

pub(super) const FUNCTIONS: &[&HostFunction] = &[
    host_fn!(
        "wasi:sockets/udp-create-socket",
        "create-udp-socket",
        create_udp_socket
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.start-bind",
        udp_start_bind
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.finish-bind",
        udp_finish_bind
    ),
    host_fn!("wasi:sockets/udp", "[method]udp-socket.stream", udp_stream),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.local-address",
        udp_local_address
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.remote-address",
        udp_remote_address
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.address-family",
        udp_address_family
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.unicast-hop-limit",
        udp_unicast_hop_limit
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.set-unicast-hop-limit",
        udp_set_unicast_hop_limit
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.receive-buffer-size",
        udp_receive_buffer_size
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.set-receive-buffer-size",
        udp_set_receive_buffer_size
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.send-buffer-size",
        udp_send_buffer_size
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.set-send-buffer-size",
        udp_set_send_buffer_size
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]udp-socket.subscribe",
        udp_subscribe
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]incoming-datagram-stream.receive",
        incoming_receive
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]incoming-datagram-stream.subscribe",
        incoming_subscribe
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]outgoing-datagram-stream.check-send",
        outgoing_check_send
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]outgoing-datagram-stream.send",
        outgoing_send
    ),
    host_fn!(
        "wasi:sockets/udp",
        "[method]outgoing-datagram-stream.subscribe",
        outgoing_subscribe
    ),
];

/// The most datagrams one `receive` gives and one `check-send` permits, as in Wasmtime.
const MAX_DATAGRAMS: usize = 16;
/// The largest datagram (the IP header's length field's limit).
const MAX_DATAGRAM_SIZE: usize = u16::MAX as usize;

/// A `udp-socket`.
pub(crate) struct UdpSocket {
    /// Shared with the datagram streams of the last `stream` call, while they live.
    socket: Rc<HostSocket>,
    family: Family,
    bind_in_progress: bool,
    /// Whether the socket was bound. Once bound a socket stays so, but Linux forgets the
    /// port a socket bound to the wildcard address had when its connection is dissolved,
    /// so it cannot be asked (Wasmtime keeps this flag too).
    bound: bool,
    /// The remote address of the last `stream` call, if it gave one.
    remote: Option<SocketAddr>,
}

/// An `incoming-datagram-stream`.
pub(crate) struct IncomingDatagramStream {
    socket: Rc<HostSocket>,
    remote: Option<SocketAddr>,
}

/// An `outgoing-datagram-stream`.
pub(crate) struct OutgoingDatagramStream {
    socket: Rc<HostSocket>,
    family: Family,
    remote: Option<SocketAddr>,
    /// How many datagrams the last `check-send` permitted.
    permit: usize,
}

impl UdpSocket {
    fn is_bound(&self) -> bool {
        self.bound || bound_address(&SockRef::from(&*self.socket), self.family).is_some()
    }
}

impl IncomingDatagramStream {
    pub fn readiness(&self) -> Wait {
        Wait::Fd(self.socket.as_raw_fd(), libc::POLLIN)
    }
}

impl OutgoingDatagramStream {
    pub fn readiness(&self) -> Wait {
        Wait::Fd(self.socket.as_raw_fd(), libc::POLLOUT)
    }
}

fn get(host: &WasiP2, rep: u32) -> Result<&UdpSocket, HostCallError> {
    let Resource::UdpSocket(socket) = host.resources.get(Kind::UdpSocket, rep)? else {
        unreachable!("get checks the kind")
    };
    Ok(socket)
}

fn get_mut(host: &mut WasiP2, rep: u32) -> Result<&mut UdpSocket, HostCallError> {
    let Resource::UdpSocket(socket) = host.resources.get_mut(Kind::UdpSocket, rep)? else {
        unreachable!("get checks the kind")
    };
    Ok(socket)
}

fn create_udp_socket(host: &mut WasiP2, mut args: Args) -> HostResult {
    let family = Family::take(&mut args)?;
    args.end()?;
    if !host.state.network.udp_allowed() {
        return error(ErrorCode::AccessDenied);
    }
    let socket = match new_socket(family, socket2::Type::DGRAM) {
        Ok(socket) => HostSocket::from(OwnedFd::from(socket)),
        Err(code) => return error(code),
    };
    let socket = UdpSocket {
        socket: Rc::new(socket),
        family,
        bind_in_progress: false,
        bound: false,
        remote: None,
    };
    let rep = host.resources.push(Resource::UdpSocket(socket), None)?;
    Ok(one(super::values::ok(Some(ComponentVal::Own(rep)))))
}

fn udp_start_bind(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    let network = args.borrow()?;
    let address = args.socket_address()?;
    args.end()?;
    check_network(host, network)?;
    let grants = host.state.network.clone();
    let socket = get_mut(host, rep)?;
    let bind = || {
        if socket.bind_in_progress {
            return Err(ErrorCode::ConcurrencyConflict);
        }
        let inner = SockRef::from(&*socket.socket);
        if Rc::strong_count(&socket.socket) > 1 || socket.is_bound() {
            return Err(ErrorCode::InvalidState);
        }
        if !socket.family.accepts(address.ip()) {
            return Err(ErrorCode::InvalidArgument);
        }
        if !grants.allows(SocketUse::UdpBind, address) {
            return Err(ErrorCode::AccessDenied);
        }
        inner
            .bind(&address.into())
            .map_err(|error| match Errno::from(error) {
                Errno::AFNOSUPPORT => ErrorCode::InvalidArgument,
                errno => errno.into(),
            })
    };
    let bound = bind();
    if bound.is_ok() {
        socket.bind_in_progress = true;
        socket.bound = true;
    }
    result(bound.map(|()| None))
}

fn udp_finish_bind(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let socket = get_mut(host, rep)?;
    if !socket.bind_in_progress {
        return error(ErrorCode::NotInProgress);
    }
    socket.bind_in_progress = false;
    result(Ok(None))
}

/// Dissolves a UDP socket's connection (`connect` to an `AF_UNSPEC` address).
fn disconnect(socket: &HostSocket) -> Result<(), ErrorCode> {
    // SAFETY: an all-zero sockaddr is a valid value (family AF_UNSPEC, which is 0).
    let mut address: libc::sockaddr = unsafe { std::mem::zeroed() };
    address.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
    let length = std::mem::size_of::<libc::sockaddr>() as libc::socklen_t;
    // SAFETY: `address` is a valid sockaddr of `length` bytes for the call's duration.
    if unsafe { libc::connect(socket.as_raw_fd(), &address, length) } != 0 {
        return Err(Errno::last().into());
    }
    Ok(())
}

/// Connects the socket to `address`: Linux keeps the local address a former connection
/// chose, and refuses a destination that needs another (`EINVAL`), so dissolve the
/// connection and try again, as Wasmtime does.
fn connect(socket: &HostSocket, address: SocketAddr) -> Result<(), ErrorCode> {
    match socket.connect(address).map_err(Errno::from) {
        Ok(()) => Ok(()),
        Err(Errno::INVAL) => {
            disconnect(socket)?;
            Ok(socket.connect(address)?)
        }
        Err(Errno::AFNOSUPPORT) => Err(ErrorCode::InvalidArgument),
        Err(errno) => Err(errno.into()),
    }
}

fn udp_stream(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    let remote = args.option_socket_address()?;
    args.end()?;
    let grants = host.state.network.clone();
    let socket = get_mut(host, rep)?;
    if Rc::strong_count(&socket.socket) > 1 {
        return Err(HostCallError::Trap(
            "wasi: udp-socket.stream while the datagram streams of an earlier call live \
             (drop them first)"
                .into(),
        ));
    }
    if !socket.is_bound() {
        // WASI 0.2: a socket is bound explicitly before `stream`.
        return error(ErrorCode::InvalidState);
    }
    let connected = match remote {
        Some(address) => {
            if !socket.family.accepts(address.ip()) || !is_remote(address) {
                return error(ErrorCode::InvalidArgument);
            }
            if !grants.allows(SocketUse::UdpSend, address) {
                return error(ErrorCode::AccessDenied);
            }
            connect(&socket.socket, address)
        }
        None if socket.remote.is_some() => disconnect(&socket.socket),
        None => Ok(()),
    };
    socket.remote = socket
        .socket
        .peer_addr()
        .ok()
        .filter(|address| *address != socket.family.unspecified());
    if let Err(code) = connected {
        return error(code);
    }
    let incoming = IncomingDatagramStream {
        socket: socket.socket.clone(),
        remote: socket.remote,
    };
    let outgoing = OutgoingDatagramStream {
        socket: socket.socket.clone(),
        family: socket.family,
        remote: socket.remote,
        permit: 0,
    };
    let incoming = host
        .resources
        .push(Resource::IncomingDatagramStream(incoming), Some(rep))?;
    let outgoing = host
        .resources
        .push(Resource::OutgoingDatagramStream(outgoing), Some(rep))?;
    result(Ok(Some(ComponentVal::Tuple(vec![
        ComponentVal::Own(incoming),
        ComponentVal::Own(outgoing),
    ]))))
}

fn udp_local_address(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let socket = get(host, rep)?;
    if !socket.is_bound() {
        return error(ErrorCode::InvalidState);
    }
    let address = socket.socket.local_addr().map_err(ErrorCode::from);
    result(address.map(|address| Some(socket_address(address))))
}

fn udp_remote_address(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let socket = get(host, rep)?;
    result(
        socket
            .remote
            .map(|address| Some(socket_address(address)))
            .ok_or(ErrorCode::InvalidState),
    )
}

fn udp_address_family(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    Ok(one(get(host, rep)?.family.value()))
}

/// Runs `option` on the socket `rep` of the arguments (after the other arguments `take`
/// reads), giving `result<T, error-code>`.
fn with_socket<T>(
    host: &mut WasiP2,
    mut args: Args,
    take: impl FnOnce(&mut Args) -> Result<T, HostCallError>,
    option: impl FnOnce(&socket2::Socket, Family, T) -> Result<Option<ComponentVal>, ErrorCode>,
) -> HostResult {
    let rep = args.borrow()?;
    let value = take(&mut args)?;
    args.end()?;
    let socket = get(host, rep)?;
    result(option(
        &SockRef::from(&*socket.socket),
        socket.family,
        value,
    ))
}

fn no_argument(_: &mut Args) -> Result<(), HostCallError> {
    Ok(())
}

fn udp_unicast_hop_limit(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, family, ()| {
        Ok(Some(ComponentVal::U8(hop_limit(socket, family)?)))
    })
}

fn udp_set_unicast_hop_limit(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::u8, |socket, family, value| {
        set_hop_limit(socket, family, value).map(|()| None)
    })
}

fn udp_receive_buffer_size(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, _, ()| {
        Ok(Some(ComponentVal::U64(receive_buffer_size(socket)?)))
    })
}

fn udp_set_receive_buffer_size(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::u64, |socket, _, value| {
        set_buffer_size(socket, value, true).map(|()| None)
    })
}

fn udp_send_buffer_size(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, no_argument, |socket, _, ()| {
        Ok(Some(ComponentVal::U64(send_buffer_size(socket)?)))
    })
}

fn udp_set_send_buffer_size(host: &mut WasiP2, args: Args) -> HostResult {
    with_socket(host, args, Args::u64, |socket, _, value| {
        set_buffer_size(socket, value, false).map(|()| None)
    })
}

/// Nothing a UDP socket does waits: its pollable is always ready, as in Wasmtime.
fn udp_subscribe(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    get(host, rep)?;
    push_pollable(host, Pollable::Ready, Some(rep))
}

fn incoming_receive(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    let max_results = args.u64()?;
    args.end()?;
    let Resource::IncomingDatagramStream(stream) =
        host.resources.get(Kind::IncomingDatagramStream, rep)?
    else {
        unreachable!("get checks the kind")
    };
    let max_results = usize::try_from(max_results)
        .unwrap_or(usize::MAX)
        .min(MAX_DATAGRAMS);
    let mut datagrams = Vec::new();
    let mut buffer = vec![0; MAX_DATAGRAM_SIZE];
    while datagrams.len() < max_results {
        match stream.socket.recv_from(&mut buffer) {
            Ok((len, from)) => {
                // The system filters by the connected address, but not datagrams that
                // arrived before the connection; Wasmtime drops those too.
                if stream.remote.is_some_and(|remote| remote != from) {
                    continue;
                }
                datagrams.push(ComponentVal::Record(vec![
                    ComponentVal::Bytes(buffer[..len].to_vec()),
                    socket_address(from),
                ]));
            }
            Err(failure) => match Errno::from(failure) {
                Errno::INTR => {}
                Errno::AGAIN => break,
                // What arrived is given; the error comes with the next call.
                _ if !datagrams.is_empty() => break,
                errno => return error(errno.into()),
            },
        }
    }
    result(Ok(Some(ComponentVal::List(datagrams))))
}

fn incoming_subscribe(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    host.resources.get(Kind::IncomingDatagramStream, rep)?;
    push_pollable(host, Pollable::Socket(rep), Some(rep))
}

fn outgoing_stream(
    host: &mut WasiP2,
    rep: u32,
) -> Result<&mut OutgoingDatagramStream, HostCallError> {
    let Resource::OutgoingDatagramStream(stream) =
        host.resources.get_mut(Kind::OutgoingDatagramStream, rep)?
    else {
        unreachable!("get checks the kind")
    };
    Ok(stream)
}

fn outgoing_check_send(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    let stream = outgoing_stream(host, rep)?;
    let writable = super::io::fd_ready(stream.socket.as_raw_fd(), libc::POLLOUT);
    stream.permit = if writable { MAX_DATAGRAMS } else { 0 };
    result(Ok(Some(ComponentVal::U64(stream.permit as u64))))
}

/// Sends one datagram, to `address` or the connected address.
fn send_one(
    stream: &OutgoingDatagramStream,
    grants: &crate::wasi::NetworkGrants,
    data: &[u8],
    address: Option<SocketAddr>,
) -> Result<(), ErrorCode> {
    if data.len() > MAX_DATAGRAM_SIZE {
        return Err(ErrorCode::DatagramTooLarge);
    }
    let destination = match (address, stream.remote) {
        (Some(address), remote) => {
            if !is_remote(address) || !stream.family.accepts(address.ip()) {
                return Err(ErrorCode::InvalidArgument);
            }
            // A connected stream sends only to its address.
            if remote.is_some_and(|remote| remote != address) {
                return Err(ErrorCode::InvalidArgument);
            }
            address
        }
        (None, Some(remote)) => remote,
        (None, None) => return Err(ErrorCode::InvalidArgument),
    };
    if !grants.allows(SocketUse::UdpSend, destination) {
        return Err(ErrorCode::AccessDenied);
    }
    loop {
        let sent = if stream.remote.is_some() {
            stream.socket.send(data)
        } else {
            stream.socket.send_to(data, destination)
        };
        match sent.map_err(Errno::from) {
            Ok(_) => return Ok(()),
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
}

fn outgoing_send(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    let datagrams = args.outgoing_datagrams()?;
    args.end()?;
    let grants = host.state.network.clone();
    let stream = outgoing_stream(host, rep)?;
    if datagrams.is_empty() {
        return result(Ok(Some(ComponentVal::U64(0))));
    }
    if datagrams.len() > stream.permit {
        return Err(HostCallError::Trap(format!(
            "wasi: outgoing-datagram-stream.send of {} datagrams, more than the {} \
             check-send permitted",
            datagrams.len(),
            stream.permit
        )));
    }
    // The WIT: each send needs a check-send of its own.
    stream.permit = 0;
    let mut sent = 0u64;
    for (data, address) in &datagrams {
        match send_one(stream, &grants, data, *address) {
            Ok(()) => sent += 1,
            Err(ErrorCode::WouldBlock) => break,
            // The WIT: once a datagram is sent, the call does not fail.
            Err(_) if sent > 0 => break,
            Err(code) => return error(code),
        }
    }
    result(Ok(Some(ComponentVal::U64(sent))))
}

fn outgoing_subscribe(host: &mut WasiP2, mut args: Args) -> HostResult {
    let rep = args.borrow()?;
    args.end()?;
    host.resources.get(Kind::OutgoingDatagramStream, rep)?;
    push_pollable(host, Pollable::Socket(rep), Some(rep))
}
