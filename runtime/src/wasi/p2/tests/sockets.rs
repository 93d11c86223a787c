//! `wasi:sockets` through [`ComponentHost`], over loopback: denied without grants, TCP
//! and UDP round trips through the `wasi:io` streams and `poll` with them, the address
//! checks, the state machine's error codes, name lookup.

use super::*;
use crate::wasi::{AddressPattern, NetworkGrants};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const TCP: &str = "wasi:sockets/tcp";
const UDP: &str = "wasi:sockets/udp";
const LOOKUP: &str = "wasi:sockets/ip-name-lookup";
const IPV4: V = V::Enum(0);

fn patterns(texts: &[&str]) -> Vec<AddressPattern> {
    texts.iter().map(|text| text.parse().unwrap()).collect()
}

fn host_with(grants: NetworkGrants) -> WasiP2 {
    WasiP2::new(WasiCtx::new().stdio(Stdio::Null).network(grants))
}

/// A host that may listen on and connect to loopback, any port.
fn loopback_tcp_host() -> WasiP2 {
    host_with(NetworkGrants {
        tcp_listen: patterns(&["127.0.0.1:0"]),
        tcp_connect: patterns(&["127.0.0.1:0"]),
        ..NetworkGrants::default()
    })
}

fn network_code(name: &str) -> u32 {
    network::ERROR_CODE_NAMES
        .iter()
        .position(|case| *case == name)
        .unwrap_or_else(|| panic!("no error-code {name}")) as u32
}

/// Asserts that `value` is the `err` of error-code `name`.
#[track_caller]
fn assert_code(value: V, name: &str) {
    let code = err_code(value);
    assert_eq!(
        network::ERROR_CODE_NAMES[code as usize],
        name,
        "expected error-code {name}"
    );
}

fn address(text: &str) -> V {
    values::socket_address(text.parse().unwrap())
}

/// The socket address a value stands for.
fn decode_address(value: V) -> SocketAddr {
    let mut args = Args::new(network::FUNCTIONS[0], vec![value]);
    args.socket_address().unwrap()
}

fn instance_network(host: &mut WasiP2) -> u32 {
    own(call1(
        host,
        "wasi:sockets/instance-network",
        "instance-network",
        vec![],
    ))
}

fn tcp_method(host: &mut WasiP2, socket: u32, method: &str, mut params: Vec<V>) -> V {
    params.insert(0, V::Borrow(socket));
    call1(host, TCP, &format!("[method]tcp-socket.{method}"), params)
}

fn new_tcp_socket(host: &mut WasiP2) -> u32 {
    ok_own(call1(
        host,
        "wasi:sockets/tcp-create-socket",
        "create-tcp-socket",
        vec![IPV4],
    ))
}

/// Waits on `pollable` with `poll`, at most `seconds` of real time.
fn wait(host: &mut WasiP2, pollable: u32) {
    let timeout = own(call1(
        host,
        "wasi:clocks/monotonic-clock",
        "subscribe-duration",
        vec![V::U64(5_000_000_000)],
    ));
    let ready = call1(
        host,
        "wasi:io/poll",
        "poll",
        vec![V::List(vec![V::Borrow(pollable), V::Borrow(timeout)])],
    );
    assert_eq!(ready, V::List(vec![V::U32(0)]), "the pollable timed out");
    host.drop_resource(ResourceKind::Pollable as u32, timeout)
        .unwrap();
}

/// A `tuple` result's handles.
fn owns(value: V) -> Vec<u32> {
    match unwrap_ok(value) {
        Some(V::Tuple(items)) => items.into_iter().map(own).collect(),
        other => panic!("not a tuple: {other:?}"),
    }
}

/// A listener bound to 127.0.0.1 (an ephemeral port), listening; and its address.
fn listener(host: &mut WasiP2, network: u32) -> (u32, V) {
    let listener = new_tcp_socket(host);
    let bound = tcp_method(
        host,
        listener,
        "start-bind",
        vec![V::Borrow(network), address("127.0.0.1:0")],
    );
    assert_eq!(unwrap_ok(bound), None);
    assert_eq!(
        unwrap_ok(tcp_method(host, listener, "finish-bind", vec![])),
        None
    );
    assert_eq!(
        unwrap_ok(tcp_method(host, listener, "start-listen", vec![])),
        None
    );
    assert_eq!(
        unwrap_ok(tcp_method(host, listener, "finish-listen", vec![])),
        None
    );
    let local = unwrap_ok(tcp_method(host, listener, "local-address", vec![])).unwrap();
    (listener, local)
}

/// Connects a new socket to `to`, waiting with its pollable: the socket and its streams.
fn connect(host: &mut WasiP2, network: u32, to: V) -> (u32, u32, u32) {
    let client = new_tcp_socket(host);
    let pollable = own(tcp_method(host, client, "subscribe", vec![]));
    let started = tcp_method(host, client, "start-connect", vec![V::Borrow(network), to]);
    assert_eq!(unwrap_ok(started), None);
    wait(host, pollable);
    host.drop_resource(ResourceKind::Pollable as u32, pollable)
        .unwrap();
    let streams = owns(tcp_method(host, client, "finish-connect", vec![]));
    (client, streams[0], streams[1])
}

/// Accepts a connection on `listener`, waiting with its pollable.
fn accept(host: &mut WasiP2, listener: u32) -> (u32, u32, u32) {
    let pollable = own(tcp_method(host, listener, "subscribe", vec![]));
    wait(host, pollable);
    host.drop_resource(ResourceKind::Pollable as u32, pollable)
        .unwrap();
    let accepted = owns(tcp_method(host, listener, "accept", vec![]));
    (accepted[0], accepted[1], accepted[2])
}

/// Reads exactly `len` bytes from input stream `input`, waiting with its pollable.
fn read_exactly(host: &mut WasiP2, input: u32, len: usize) -> Vec<u8> {
    let pollable = own(call1(
        host,
        STREAMS,
        "[method]input-stream.subscribe",
        vec![V::Borrow(input)],
    ));
    let mut data = Vec::new();
    while data.len() < len {
        wait(host, pollable);
        let read = call1(
            host,
            STREAMS,
            "[method]input-stream.read",
            vec![V::Borrow(input), V::U64((len - data.len()) as u64)],
        );
        match unwrap_ok(read) {
            Some(V::Bytes(bytes)) => data.extend(bytes),
            other => panic!("{other:?}"),
        }
    }
    host.drop_resource(ResourceKind::Pollable as u32, pollable)
        .unwrap();
    data
}

fn drop_all(host: &mut WasiP2, resources: &[(ResourceKind, u32)]) {
    for &(kind, rep) in resources {
        host.drop_resource(kind as u32, rep)
            .unwrap_or_else(|error| panic!("dropping {kind:?} {rep}: {error}"));
    }
}

#[test]
fn without_grants_sockets_and_lookups_are_denied() {
    let mut host = host();
    let create = |host: &mut WasiP2, interface: &str, function: &str| {
        call1(host, interface, function, vec![IPV4])
    };
    assert_code(
        create(
            &mut host,
            "wasi:sockets/tcp-create-socket",
            "create-tcp-socket",
        ),
        "access-denied",
    );
    assert_code(
        create(
            &mut host,
            "wasi:sockets/udp-create-socket",
            "create-udp-socket",
        ),
        "access-denied",
    );
    // As Wasmtime without `allow-ip-name-lookup` (its p2_cli_no_ip_name_lookup expects it).
    let network = instance_network(&mut host);
    for name in ["localhost", "127.0.0.1"] {
        let resolved = call1(
            &mut host,
            LOOKUP,
            "resolve-addresses",
            vec![V::Borrow(network), string(name)],
        );
        assert_code(resolved, "permanent-resolver-failure");
    }
    // A UDP grant gives no TCP, and the other way round.
    let mut udp_only = host_with(NetworkGrants {
        udp: patterns(&["127.0.0.1:0"]),
        ..NetworkGrants::default()
    });
    assert_code(
        create(
            &mut udp_only,
            "wasi:sockets/tcp-create-socket",
            "create-tcp-socket",
        ),
        "access-denied",
    );
    let mut tcp_only = loopback_tcp_host();
    assert_code(
        create(
            &mut tcp_only,
            "wasi:sockets/udp-create-socket",
            "create-udp-socket",
        ),
        "access-denied",
    );
}

#[test]
fn tcp_listen_accept_connect_and_echo_through_the_streams() {
    let mut host = loopback_tcp_host();
    let network = instance_network(&mut host);
    let (listener, listening_at) = listener(&mut host, network);
    assert_eq!(
        tcp_method(&mut host, listener, "is-listening", vec![]),
        V::Bool(true)
    );
    let port = decode_address(listening_at.clone()).port();
    assert_ne!(port, 0);
    let (client, client_in, client_out) = connect(&mut host, network, listening_at.clone());
    let (server, server_in, server_out) = accept(&mut host, listener);
    // Each side sees the other's address.
    let client_local = unwrap_ok(tcp_method(&mut host, client, "local-address", vec![])).unwrap();
    assert_eq!(
        unwrap_ok(tcp_method(&mut host, server, "remote-address", vec![])),
        Some(client_local)
    );
    assert_eq!(
        unwrap_ok(tcp_method(&mut host, client, "remote-address", vec![])),
        Some(listening_at)
    );

    // Client to server, with check-write and flush; server to client, blocking.
    let permit = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.check-write",
        vec![V::Borrow(client_out)],
    );
    assert_eq!(unwrap_ok(permit), Some(V::U64(io::WRITE_BUDGET)));
    for (function, bytes) in [
        ("[method]output-stream.write", b"hello, ".to_vec()),
        (
            "[method]output-stream.blocking-write-and-flush",
            b"server\n".to_vec(),
        ),
    ] {
        let written = call1(
            &mut host,
            STREAMS,
            function,
            vec![V::Borrow(client_out), V::Bytes(bytes)],
        );
        assert_eq!(unwrap_ok(written), None, "{function}");
    }
    assert_eq!(read_exactly(&mut host, server_in, 14), b"hello, server\n");
    let reply = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.blocking-write-and-flush",
        vec![V::Borrow(server_out), V::Bytes(b"hello, client\n".to_vec())],
    );
    assert_eq!(unwrap_ok(reply), None);
    let echoed = call1(
        &mut host,
        STREAMS,
        "[method]input-stream.blocking-read",
        vec![V::Borrow(client_in), V::U64(100)],
    );
    assert_eq!(
        unwrap_ok(echoed),
        Some(V::Bytes(b"hello, client\n".to_vec()))
    );

    // Shutting down sending ends the peer's input stream; the writer is closed.
    assert_eq!(
        unwrap_ok(tcp_method(&mut host, client, "shutdown", vec![V::Enum(1)])),
        None
    );
    let closed = call1(
        &mut host,
        STREAMS,
        "[method]input-stream.blocking-read",
        vec![V::Borrow(server_in), V::U64(100)],
    );
    assert_eq!(closed, V::Result(Err(Some(Box::new(V::variant(1, None))))));
    let write_after = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.write",
        vec![V::Borrow(client_out), V::Bytes(b"late".to_vec())],
    );
    assert_eq!(
        write_after,
        V::Result(Err(Some(Box::new(V::variant(1, None)))))
    );

    // Streams are the socket's children: the socket goes last, as in Wasmtime.
    match host.drop_resource(ResourceKind::TcpSocket as u32, client) {
        Err(HostCallError::Trap(message)) => assert!(message.contains("tcp-socket"), "{message}"),
        other => panic!("{other:?}"),
    }
    drop_all(
        &mut host,
        &[
            (ResourceKind::InputStream, client_in),
            (ResourceKind::OutputStream, client_out),
            (ResourceKind::TcpSocket, client),
            (ResourceKind::InputStream, server_in),
            (ResourceKind::OutputStream, server_out),
            (ResourceKind::TcpSocket, server),
            (ResourceKind::TcpSocket, listener),
            (ResourceKind::Network, network),
        ],
    );
    assert_eq!(host.resources.len(), 0);
}

#[test]
fn a_write_bigger_than_the_socket_takes_is_sent_while_the_guest_waits() {
    let mut host = loopback_tcp_host();
    let network = instance_network(&mut host);
    let (listener, at) = listener(&mut host, network);
    let (client, _client_in, client_out) = connect(&mut host, network, at);
    let (_server, server_in, _server_out) = accept(&mut host, listener);
    let small = tcp_method(
        &mut host,
        client,
        "set-send-buffer-size",
        vec![V::U64(1024)],
    );
    assert_eq!(unwrap_ok(small), None);
    // More than the socket buffers, written at once and shut down at once (as
    // Wasmtime's p2_tcp_streams does); the server must still read all of it.
    let data: Vec<u8> = (0..io::WRITE_BUDGET as usize).map(|i| i as u8).collect();
    let written = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.write",
        vec![V::Borrow(client_out), V::Bytes(data.clone())],
    );
    assert_eq!(unwrap_ok(written), None);
    let permit = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.check-write",
        vec![V::Borrow(client_out)],
    );
    assert_eq!(unwrap_ok(permit), Some(V::U64(0)), "bytes are still kept");
    // Writing more than check-write permits traps, as in Wasmtime.
    match call(
        &mut host,
        STREAMS,
        "[method]output-stream.write",
        vec![V::Borrow(client_out), V::Bytes(vec![1])],
    ) {
        Err(HostCallError::Trap(message)) => assert!(message.contains("permits none"), "{message}"),
        other => panic!("{other:?}"),
    }
    tcp_method(&mut host, client, "shutdown", vec![V::Enum(1)]);
    let mut received = Vec::new();
    loop {
        let read = call1(
            &mut host,
            STREAMS,
            "[method]input-stream.blocking-read",
            vec![V::Borrow(server_in), V::U64(1 << 16)],
        );
        match read {
            V::Result(Ok(Some(bytes))) => match *bytes {
                V::Bytes(bytes) => received.extend(bytes),
                other => panic!("{other:?}"),
            },
            V::Result(Err(_)) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(received.len(), data.len());
    assert!(received == data, "the bytes differ");
}

#[test]
fn addresses_no_grant_names_are_denied() {
    let mut host = host_with(NetworkGrants {
        tcp_listen: patterns(&["127.0.0.1:0"]),
        tcp_connect: patterns(&["127.0.0.1:9"]),
        ..NetworkGrants::default()
    });
    let network = instance_network(&mut host);
    let (_listener, at) = listener(&mut host, network);
    let client = new_tcp_socket(&mut host);
    // Connecting to the listener: not port 9.
    let connect = tcp_method(
        &mut host,
        client,
        "start-connect",
        vec![V::Borrow(network), at],
    );
    assert_code(connect, "access-denied");
    let other_host = tcp_method(
        &mut host,
        client,
        "start-connect",
        vec![V::Borrow(network), address("127.0.0.2:9")],
    );
    assert_code(other_host, "access-denied");
    // Binding a fixed port needs a listen grant of it; port 0 does not.
    let fixed = tcp_method(
        &mut host,
        client,
        "start-bind",
        vec![V::Borrow(network), address("127.0.0.2:4000")],
    );
    assert_code(fixed, "access-denied");
    let any_interface = new_tcp_socket(&mut host);
    let bound = tcp_method(
        &mut host,
        any_interface,
        "start-bind",
        vec![V::Borrow(network), address("0.0.0.0:0")],
    );
    assert_eq!(unwrap_ok(bound), None);
    tcp_method(&mut host, any_interface, "finish-bind", vec![]);
    // ... but listening on every interface is more than 127.0.0.1.
    assert_code(
        tcp_method(&mut host, any_interface, "start-listen", vec![]),
        "access-denied",
    );
}

#[test]
fn the_tcp_state_machine_has_the_wits_error_codes() {
    let mut host = loopback_tcp_host();
    let network = instance_network(&mut host);
    let socket = new_tcp_socket(&mut host);
    assert_code(
        tcp_method(&mut host, socket, "finish-bind", vec![]),
        "not-in-progress",
    );
    assert_code(
        tcp_method(&mut host, socket, "finish-connect", vec![]),
        "not-in-progress",
    );
    // WASI 0.2: no listening without an explicit bind.
    assert_code(
        tcp_method(&mut host, socket, "start-listen", vec![]),
        "invalid-state",
    );
    assert_code(
        tcp_method(&mut host, socket, "accept", vec![]),
        "invalid-state",
    );
    assert_code(
        tcp_method(&mut host, socket, "local-address", vec![]),
        "invalid-state",
    );
    assert_code(
        tcp_method(&mut host, socket, "remote-address", vec![]),
        "invalid-state",
    );
    assert_code(
        tcp_method(&mut host, socket, "shutdown", vec![V::Enum(2)]),
        "invalid-state",
    );
    assert_eq!(
        tcp_method(&mut host, socket, "address-family", vec![]),
        IPV4
    );
    for (to, why) in [
        ("127.0.0.1:0", "port 0"),
        ("0.0.0.0:80", "unspecified"),
        ("255.255.255.255:80", "broadcast"),
        ("224.0.0.1:80", "multicast"),
        ("[::1]:80", "another family"),
    ] {
        let started = tcp_method(
            &mut host,
            socket,
            "start-connect",
            vec![V::Borrow(network), address(to)],
        );
        assert_eq!(err_code(started), network_code("invalid-argument"), "{why}");
    }
    let bound = tcp_method(
        &mut host,
        socket,
        "start-bind",
        vec![V::Borrow(network), address("127.0.0.1:0")],
    );
    assert_eq!(unwrap_ok(bound), None);
    let again = tcp_method(
        &mut host,
        socket,
        "start-bind",
        vec![V::Borrow(network), address("127.0.0.1:0")],
    );
    assert_code(again, "concurrency-conflict");
    tcp_method(&mut host, socket, "finish-bind", vec![]);
    let again = tcp_method(
        &mut host,
        socket,
        "start-bind",
        vec![V::Borrow(network), address("127.0.0.1:0")],
    );
    assert_code(again, "invalid-state");
    // Options: set and read back, zero refused.
    for (set, get, value) in [
        (
            "set-keep-alive-enabled",
            "keep-alive-enabled",
            V::Bool(true),
        ),
        ("set-hop-limit", "hop-limit", V::U8(42)),
        ("set-keep-alive-count", "keep-alive-count", V::U32(5)),
        (
            "set-keep-alive-idle-time",
            "keep-alive-idle-time",
            V::U64(30_000_000_000),
        ),
        (
            "set-keep-alive-interval",
            "keep-alive-interval",
            V::U64(7_000_000_000),
        ),
    ] {
        assert_eq!(
            unwrap_ok(tcp_method(&mut host, socket, set, vec![value.clone()])),
            None
        );
        assert_eq!(
            unwrap_ok(tcp_method(&mut host, socket, get, vec![])),
            Some(value)
        );
    }
    for (set, zero) in [
        ("set-hop-limit", V::U8(0)),
        ("set-keep-alive-count", V::U32(0)),
        ("set-keep-alive-idle-time", V::U64(0)),
        ("set-receive-buffer-size", V::U64(0)),
        ("set-send-buffer-size", V::U64(0)),
        ("set-listen-backlog-size", V::U64(0)),
    ] {
        assert_code(
            tcp_method(&mut host, socket, set, vec![zero]),
            "invalid-argument",
        );
    }
    assert_eq!(
        unwrap_ok(tcp_method(
            &mut host,
            socket,
            "set-receive-buffer-size",
            vec![V::U64(16000)]
        )),
        None
    );
    assert!(matches!(
        unwrap_ok(tcp_method(&mut host, socket, "receive-buffer-size", vec![])),
        Some(V::U64(size)) if size >= 8000
    ));
    // Connecting to a closed port fails in finish-connect, and the socket stays failed.
    let closed_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let refused = new_tcp_socket(&mut host);
    let pollable = own(tcp_method(&mut host, refused, "subscribe", vec![]));
    let started = tcp_method(
        &mut host,
        refused,
        "start-connect",
        vec![
            V::Borrow(network),
            address(&format!("127.0.0.1:{closed_port}")),
        ],
    );
    assert_eq!(unwrap_ok(started), None);
    wait(&mut host, pollable);
    assert_code(
        tcp_method(&mut host, refused, "finish-connect", vec![]),
        "connection-refused",
    );
    assert_code(
        tcp_method(&mut host, refused, "local-address", vec![]),
        "connection-refused",
    );
}

fn udp_method(host: &mut WasiP2, socket: u32, method: &str, mut params: Vec<V>) -> V {
    params.insert(0, V::Borrow(socket));
    call1(host, UDP, &format!("[method]{method}"), params)
}

/// A UDP socket bound to 127.0.0.1 (an ephemeral port) and its streams (not connected).
fn udp_socket(host: &mut WasiP2, network: u32) -> (u32, u32, u32, V) {
    let socket = ok_own(call1(
        host,
        "wasi:sockets/udp-create-socket",
        "create-udp-socket",
        vec![IPV4],
    ));
    let bound = udp_method(
        host,
        socket,
        "udp-socket.start-bind",
        vec![V::Borrow(network), address("127.0.0.1:0")],
    );
    assert_eq!(unwrap_ok(bound), None);
    assert_eq!(
        unwrap_ok(udp_method(host, socket, "udp-socket.finish-bind", vec![])),
        None
    );
    let local = unwrap_ok(udp_method(host, socket, "udp-socket.local-address", vec![])).unwrap();
    let streams = owns(udp_method(
        host,
        socket,
        "udp-socket.stream",
        vec![V::Option(None)],
    ));
    (socket, streams[0], streams[1], local)
}

fn send(host: &mut WasiP2, outgoing: u32, data: &[u8], to: V) -> V {
    let permit = udp_method(
        host,
        outgoing,
        "outgoing-datagram-stream.check-send",
        vec![],
    );
    assert_eq!(unwrap_ok(permit), Some(V::U64(16)));
    let datagram = V::Record(vec![V::Bytes(data.to_vec()), V::Option(Some(Box::new(to)))]);
    udp_method(
        host,
        outgoing,
        "outgoing-datagram-stream.send",
        vec![V::List(vec![datagram])],
    )
}

#[test]
fn udp_datagrams_are_sent_and_received() {
    let mut host = host_with(NetworkGrants {
        udp: patterns(&["127.0.0.1:0"]),
        ..NetworkGrants::default()
    });
    let network = instance_network(&mut host);
    let (_receiver, incoming, _, receiver_at) = udp_socket(&mut host, network);
    let (_sender, _, outgoing, sender_at) = udp_socket(&mut host, network);
    assert_eq!(
        unwrap_ok(send(&mut host, outgoing, b"ping", receiver_at)),
        Some(V::U64(1))
    );
    let pollable = own(udp_method(
        &mut host,
        incoming,
        "incoming-datagram-stream.subscribe",
        vec![],
    ));
    wait(&mut host, pollable);
    let received = udp_method(
        &mut host,
        incoming,
        "incoming-datagram-stream.receive",
        vec![V::U64(10)],
    );
    assert_eq!(
        unwrap_ok(received),
        Some(V::List(vec![V::Record(vec![
            V::Bytes(b"ping".to_vec()),
            sender_at
        ])]))
    );
    // Nothing more has arrived: an empty list, not an error.
    let nothing = udp_method(
        &mut host,
        incoming,
        "incoming-datagram-stream.receive",
        vec![V::U64(10)],
    );
    assert_eq!(unwrap_ok(nothing), Some(V::List(vec![])));
    // A destination no grant names.
    assert_code(
        send(&mut host, outgoing, b"ping", address("10.1.2.3:53")),
        "access-denied",
    );
    // Sending more datagrams than check-send permitted traps.
    let datagram = V::Record(vec![V::Bytes(vec![]), V::Option(None)]);
    match call(
        &mut host,
        UDP,
        "[method]outgoing-datagram-stream.send",
        vec![V::Borrow(outgoing), V::List(vec![datagram])],
    ) {
        Err(HostCallError::Trap(message)) => assert!(message.contains("check-send"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn name_lookup_resolves_localhost_and_literals() {
    let mut host = host_with(NetworkGrants {
        ip_name_lookup: true,
        ..NetworkGrants::default()
    });
    let network = instance_network(&mut host);
    let resolve = |host: &mut WasiP2, name: &str| -> Result<Vec<IpAddr>, u32> {
        let resolved = call1(
            host,
            LOOKUP,
            "resolve-addresses",
            vec![V::Borrow(network), string(name)],
        );
        let stream = match resolved {
            V::Result(Ok(_)) => ok_own(resolved),
            other => return Err(err_code(other)),
        };
        let pollable = own(call1(
            host,
            LOOKUP,
            "[method]resolve-address-stream.subscribe",
            vec![V::Borrow(stream)],
        ));
        wait(host, pollable);
        let mut addresses = Vec::new();
        loop {
            let next = call1(
                host,
                LOOKUP,
                "[method]resolve-address-stream.resolve-next-address",
                vec![V::Borrow(stream)],
            );
            match unwrap_ok(next) {
                Some(V::Option(None)) => break,
                Some(V::Option(Some(ip))) => {
                    let ip = decode_address(match *ip {
                        V::Variant { case: 0, payload } => {
                            V::variant(0, Some(V::Record(vec![V::U16(0), *payload.unwrap()])))
                        }
                        V::Variant { case: 1, payload } => V::variant(
                            1,
                            Some(V::Record(vec![
                                V::U16(0),
                                V::U32(0),
                                *payload.unwrap(),
                                V::U32(0),
                            ])),
                        ),
                        other => panic!("{other:?}"),
                    });
                    addresses.push(ip.ip());
                }
                other => panic!("{other:?}"),
            }
        }
        host.drop_resource(ResourceKind::Pollable as u32, pollable)
            .unwrap();
        host.drop_resource(ResourceKind::ResolveAddressStream as u32, stream)
            .unwrap();
        Ok(addresses)
    };
    let localhost = resolve(&mut host, "localhost").unwrap();
    assert!(
        localhost.iter().any(|ip| ip.is_loopback()),
        "localhost resolved to {localhost:?}"
    );
    assert_eq!(
        resolve(&mut host, "127.0.0.1"),
        Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)])
    );
    assert_eq!(
        resolve(&mut host, "[::1]"),
        Ok(vec!["::1".parse().unwrap()])
    );
    for bad in [
        "",
        " ",
        "a.b<&>",
        "127.0.0.1:80",
        "[::]:80",
        "http://example.com/",
    ] {
        assert_eq!(
            resolve(&mut host, bad),
            Err(network_code("invalid-argument")),
            "{bad:?}"
        );
    }
}

#[test]
fn dropping_an_output_stream_waits_for_its_kept_bytes() {
    use std::io::Read;
    // The peer is a host thread, so the guest's drop can wait for it to read.
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer_address = peer.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut stream, _) = peer.accept().unwrap();
        let mut received = Vec::new();
        stream.read_to_end(&mut received).unwrap();
        received
    });
    let mut host = loopback_tcp_host();
    let network = instance_network(&mut host);
    let (client, client_in, client_out) =
        connect(&mut host, network, values::socket_address(peer_address));
    tcp_method(
        &mut host,
        client,
        "set-send-buffer-size",
        vec![V::U64(1024)],
    );
    let data: Vec<u8> = (0..io::WRITE_BUDGET as usize)
        .map(|i| (i / 7) as u8)
        .collect();
    let written = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.write",
        vec![V::Borrow(client_out), V::Bytes(data.clone())],
    );
    assert_eq!(unwrap_ok(written), None);
    drop_all(
        &mut host,
        &[
            (ResourceKind::OutputStream, client_out),
            (ResourceKind::InputStream, client_in),
            (ResourceKind::TcpSocket, client),
        ],
    );
    // Nothing keeps the connection now: the peer reads everything, then the end.
    drop(host);
    let received = reader.join().unwrap();
    assert_eq!(received.len(), data.len());
    assert!(received == data, "the bytes differ");
}

#[test]
fn a_blocking_read_of_a_quiet_connection_stops_at_the_time_limit() {
    let interrupt = Arc::new(InterruptState::default());
    let grants = NetworkGrants {
        tcp_listen: patterns(&["127.0.0.1:0"]),
        tcp_connect: patterns(&["127.0.0.1:0"]),
        ..NetworkGrants::default()
    };
    let ctx = WasiCtx::new().stdio(Stdio::Null).network(grants);
    let mut host = WasiP2::with_interrupt(ctx, interrupt.clone());
    let network = instance_network(&mut host);
    let (listener, at) = listener(&mut host, network);
    let (_client, client_in, _client_out) = connect(&mut host, network, at);
    let _accepted = accept(&mut host, listener);
    interrupt
        .start_time_limit(std::time::Duration::from_millis(20))
        .unwrap();
    assert_eq!(
        call(
            &mut host,
            STREAMS,
            "[method]input-stream.blocking-read",
            vec![V::Borrow(client_in), V::U64(10)]
        ),
        Err(HostCallError::TimeLimit)
    );
}

#[test]
fn a_reset_connection_fails_with_connection_reset() {
    // The peer is a host socket that closes with a reset (SO_LINGER 0).
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer_address = peer.local_addr().unwrap();
    let mut host = loopback_tcp_host();
    let network = instance_network(&mut host);
    let (_client, client_in, client_out) =
        connect(&mut host, network, values::socket_address(peer_address));
    let (accepted, _) = peer.accept().unwrap();
    socket2::SockRef::from(&accepted)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(accepted);
    let read = call1(
        &mut host,
        STREAMS,
        "[method]input-stream.blocking-read",
        vec![V::Borrow(client_in), V::U64(10)],
    );
    // `last-operation-failed` with an error whose network-error-code says why.
    let error = match read {
        V::Result(Err(Some(payload))) => match *payload {
            V::Variant {
                case: 0,
                payload: Some(error),
            } => own(*error),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let code = call1(
        &mut host,
        "wasi:sockets/network",
        "network-error-code",
        vec![V::Borrow(error)],
    );
    assert_eq!(
        code,
        V::Option(Some(Box::new(V::Enum(network_code("connection-reset")))))
    );
    // Writing to the reset connection ends the output stream.
    let mut closed = false;
    for _ in 0..10 {
        let written = call1(
            &mut host,
            STREAMS,
            "[method]output-stream.blocking-write-and-flush",
            vec![V::Borrow(client_out), V::Bytes(vec![0; 100])],
        );
        if let V::Result(Err(_)) = written {
            closed = true;
            break;
        }
    }
    assert!(closed, "writes to a reset connection kept succeeding");
}

#[test]
fn a_blocking_splice_echoes_from_the_input_to_the_output_stream() {
    let mut host = loopback_tcp_host();
    let network = instance_network(&mut host);
    let (listener, at) = listener(&mut host, network);
    let (_client, client_in, client_out) = connect(&mut host, network, at);
    let (_server, server_in, server_out) = accept(&mut host, listener);
    let written = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.blocking-write-and-flush",
        vec![V::Borrow(client_out), V::Bytes(b"splice me".to_vec())],
    );
    assert_eq!(unwrap_ok(written), None);
    let spliced = call1(
        &mut host,
        STREAMS,
        "[method]output-stream.blocking-splice",
        vec![V::Borrow(server_out), V::Borrow(server_in), V::U64(100)],
    );
    assert_eq!(unwrap_ok(spliced), Some(V::U64(9)));
    assert_eq!(read_exactly(&mut host, client_in, 9), b"splice me");
}

#[test]
fn a_lookup_that_outlasts_the_time_limit_is_abandoned() {
    // A lookup that blocks until released (or for 30 s): `within` gives up at the limit
    // instead of waiting for it.
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let lookup = move || {
        let _ = blocked.recv_timeout(std::time::Duration::from_secs(30));
        7
    };
    let limit = Some(std::time::Duration::from_millis(20));
    assert_eq!(network::within(limit, lookup).unwrap(), None);
    drop(release);
    // One that answers in time is answered, with or without a limit.
    assert_eq!(network::within(None, || 7).unwrap(), Some(7));
    let long = Some(std::time::Duration::from_secs(60));
    assert_eq!(network::within(long, || 8).unwrap(), Some(8));
}
