//! TCP over loopback inside one program, through `std::net` (WASI 0.2's sockets when built
//! for wasm32-wasip2): listen on 127.0.0.1 (port 0: any), connect to itself, send a line,
//! echo it back from the accepted connection, print what came back. Each step that fails
//! says which and how (`bind: PermissionDenied`) and exits with 2, without a panic.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

/// The value, or the step's name and the error's kind on stderr and exit code 2.
fn step<T>(name: &str, result: std::io::Result<T>) -> T {
    result.unwrap_or_else(|error| {
        eprintln!("{name}: {:?}", error.kind());
        std::process::exit(2)
    })
}

fn main() {
    let listener = step("bind", TcpListener::bind("127.0.0.1:0"));
    let address = step("local_addr", listener.local_addr());
    let mut client = step("connect", TcpStream::connect(address));
    let (mut server, peer) = step("accept", listener.accept());
    assert_eq!(peer, step("client local_addr", client.local_addr()));
    step("client write", client.write_all(b"hello over loopback\n"));
    let mut line = String::new();
    step(
        "server read",
        BufReader::new(&mut server).read_line(&mut line),
    );
    step("server write", server.write_all(line.as_bytes()));
    let mut echoed = String::new();
    step(
        "client read",
        BufReader::new(&client).read_line(&mut echoed),
    );
    print!("echoed: {echoed}");
}
