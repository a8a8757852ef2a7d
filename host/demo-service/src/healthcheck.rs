//! `hoist-demo --check-health`: a HEALTHCHECK command for images with no
//! shell and no curl (`FROM scratch`).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(2);

/// 0 when `GET /healthz` on 127.0.0.1:`port` answers 200, else 1 with the
/// reason on stderr (Docker keeps it in the health log).
pub fn run(port: u16) -> ExitCode {
    match check(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("unhealthy: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn check(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).map_err(|e| format!("read: {e}"))?;
    match &head[9..12] {
        b"200" => Ok(()),
        status => Err(format!("GET /healthz answered {}", String::from_utf8_lossy(status))),
    }
}
