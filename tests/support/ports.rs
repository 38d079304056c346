//! Loopback ports for tests, without the race of binding a listener, dropping it and hoping
//! the port is still free when it is used.
#![allow(dead_code)] // each test binary uses a part of it

use std::net::SocketAddr;

use socket2::{Domain, Socket, Type};

/// A loopback port that refuses connections for as long as the returned socket lives: it is
/// bound, so no other process can take it, and never listens, so a connection gets RST
/// ("connection refused") at once.
pub fn refusing_port() -> (Socket, u16) {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind 127.0.0.1:0");
    let port = s
        .local_addr()
        .expect("local address")
        .as_socket()
        .expect("an IP socket")
        .port();
    (s, port)
}

/// A port for a server process that takes its address on the command line. Nothing holds
/// it, so the caller must start the server, and retry with another port when the server
/// reports the address in use (see [`in_use`]).
pub fn candidate_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Whether a server's log says its listen address was taken.
pub fn in_use(log: &str) -> bool {
    log.contains("address already in use") || log.contains("Address already in use")
}
