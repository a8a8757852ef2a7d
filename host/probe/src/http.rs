//! The HTTP check: a one-shot HTTP/1.1 GET over a plain TCP connection,
//! reading no further than the status line.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::spec::StatusRange;

/// The most we read while looking for the end of the status line.
const MAX_STATUS_LINE: usize = 8 * 1024;

/// GET `path` from `addr`; ok when the status is in `expect`, or 2xx/3xx.
pub async fn get(addr: SocketAddr, path: &str, expect: Option<StatusRange>) -> (bool, String) {
    let what = format!("GET http://{addr}{path}");
    let status = match status_of(addr, path).await {
        Ok(status) => status,
        Err(e) => return (false, format!("{what}: {e}")),
    };
    let ok = match expect {
        Some(range) => range.contains(status),
        None => (200..400).contains(&status),
    };
    let detail = match (ok, expect) {
        (true, _) => format!("HTTP {status} from {what}"),
        (false, Some(range)) => format!("HTTP {status} from {what}; expected {range}"),
        (false, None) => format!("HTTP {status} from {what}; expected 2xx or 3xx"),
    };
    (ok, detail)
}

async fn status_of(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: hoist-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    while !head.contains(&b'\n') && head.len() < MAX_STATUS_LINE {
        let n = stream.read(&mut chunk).await.map_err(|e| format!("receive: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    parse_status_line(&head)
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status_line(head: &[u8]) -> Result<u16, String> {
    if head.is_empty() {
        return Err("connection closed before a response".to_string());
    }
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = String::from_utf8_lossy(&head[..line_end]);
    let line = line.trim_end();
    let mut parts = line.splitn(3, ' ');
    match (parts.next(), parts.next().and_then(|code| code.parse::<u16>().ok())) {
        (Some(version), Some(status)) if version.starts_with("HTTP/1.") && (100..=599).contains(&status) => Ok(status),
        _ => Err(format!("not an HTTP/1.x response: {:?}", truncate(line, 80))),
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 204 No Content\r\n"), Ok(204));
        assert_eq!(parse_status_line(b"HTTP/1.0 503\r\n"), Ok(503));
        assert!(parse_status_line(b"SSH-2.0-OpenSSH_9.6\r\n").is_err());
        assert!(parse_status_line(b"HTTP/1.1 99 Low\r\n").is_err());
        assert!(parse_status_line(b"").is_err());
    }
}
