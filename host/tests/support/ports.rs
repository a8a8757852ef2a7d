//! Loopback ports for servers and routers the tests start.

/// A port that was free a moment ago (the OS picked it); good enough for
/// a test that binds it right away.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}
