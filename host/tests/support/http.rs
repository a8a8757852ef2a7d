//! A tiny HTTP/1.1 client: one request per connection, as a user's client
//! through the router sends it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `GET /` on 127.0.0.1:`port`: the status and body, or what failed.
pub fn get(port: u16) -> Result<(u16, String), String> {
    get_path(port, "/")
}

/// `GET path` on 127.0.0.1:`port`: the status and body, or what failed.
pub fn get_path(port: u16, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).map_err(|e| format!("write: {e}"))?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).map_err(|e| format!("read: {e}"))?;
    let status = buf.get(9..12).and_then(|c| c.parse().ok()).ok_or_else(|| format!("not HTTP: {buf:?}"))?;
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}
