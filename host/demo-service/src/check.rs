//! `hoist-demo check`: the service's health check as a command, for images
//! with no shell and no curl (`FROM scratch`), so a Compose file or a
//! Dockerfile can say `test: ["CMD", "/hoist-demo", "check"]`. It GETs
//! `http://127.0.0.1:$PORT/healthz` and exits 0 on a 2xx answer, 1 on
//! anything else, within a one-second budget.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

/// The flags of `hoist-demo check`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "hoist-demo check",
    about = "GET http://HOST:PORT/PATH once; exit 0 on 2xx, 1 otherwise (a container health check)"
)]
pub struct CheckArgs {
    /// The port the service listens on (the service reads the same variable).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Where to connect. Not `HOST`: inside a container that is 0.0.0.0,
    /// the address the service binds, not one to connect to.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    #[arg(long, default_value = "/healthz")]
    pub path: String,

    /// The whole check (connect, send, answer) must fit in this budget.
    #[arg(long, default_value_t = 1_000)]
    pub timeout_ms: u64,
}

/// Runs `hoist-demo check` with these arguments (the first is the program
/// name): prints one line saying why, returns 0 when healthy.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match CheckArgs::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::new(args.host, args.port);
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    match probe(addr, &args.path, timeout) {
        Ok(status) if (200..300).contains(&status) => {
            println!("healthy: GET http://{addr}{} answered {status}", args.path);
            ExitCode::SUCCESS
        }
        Ok(status) => {
            eprintln!("unhealthy: GET http://{addr}{} answered {status}", args.path);
            ExitCode::FAILURE
        }
        Err(why) => {
            eprintln!("unhealthy: GET http://{addr}{}: {why}", args.path);
            ExitCode::FAILURE
        }
    }
}

/// One `GET path` over HTTP/1.0; the status code of the answer.
pub fn probe(addr: SocketAddr, path: &str, timeout: Duration) -> Result<u16, String> {
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {} ms", timeout.as_millis()))
    };
    let mut stream = TcpStream::connect_timeout(&addr, left()?).map_err(|e| format!("cannot connect: {e}"))?;
    stream.set_write_timeout(Some(left()?)).map_err(|e| e.to_string())?;
    // One write: a server that answers after its first read sees it all.
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| format!("cannot send the request: {e}"))?;
    // Only the status line is needed; read until it is complete.
    let mut head = Vec::new();
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") {
        stream.set_read_timeout(Some(left()?)).map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(format!("no answer within {} ms", timeout.as_millis()));
            }
            Err(e) => return Err(format!("cannot read the answer: {e}")),
        }
        if head.len() > 4096 {
            break;
        }
    }
    status_of(&head)
}

/// The code of an `HTTP/1.x NNN reason` status line.
fn status_of(head: &[u8]) -> Result<u16, String> {
    let line = String::from_utf8_lossy(head);
    let line = line.lines().next().unwrap_or_default();
    let mut words = line.split_whitespace();
    match (words.next(), words.next().and_then(|c| c.parse::<u16>().ok())) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => Ok(code),
        _ => Err(format!("not an HTTP answer: {:?}", line.chars().take(60).collect::<String>())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-connection server that answers `reply` (or nothing, and holds
    /// the connection, when `reply` is `None`).
    fn serve_once(reply: Option<&'static str>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            read_request(&mut conn);
            match reply {
                Some(text) => {
                    let _ = conn.write_all(text.as_bytes());
                }
                None => std::thread::sleep(Duration::from_secs(3)),
            }
        });
        addr
    }

    fn read_request(conn: &mut std::net::TcpStream) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_2xx_answer_is_its_status() {
        let addr = serve_once(Some("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"));
        assert_eq!(probe(addr, "/healthz", SECOND), Ok(204));
    }

    #[test]
    fn a_503_is_reported_as_such() {
        let addr = serve_once(Some("HTTP/1.1 503 Service Unavailable\r\n\r\n{\"status\":\"starting\"}"));
        assert_eq!(probe(addr, "/healthz", SECOND), Ok(503));
    }

    #[test]
    fn a_status_line_split_across_reads_is_read_whole() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            read_request(&mut conn);
            let _ = conn.write_all(b"HTTP/1.1 2");
            let _ = conn.flush();
            std::thread::sleep(Duration::from_millis(50));
            let _ = conn.write_all(b"00 OK\r\n\r\n");
        });
        assert_eq!(probe(addr, "/healthz", SECOND), Ok(200));
    }

    #[test]
    fn not_http_refused_and_silent_servers_fail() {
        let addr = serve_once(Some("SSH-2.0-OpenSSH\r\n"));
        assert!(probe(addr, "/", SECOND).unwrap_err().contains("not an HTTP answer"));

        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        assert!(probe(closed, "/", SECOND).unwrap_err().contains("cannot connect"));

        let addr = serve_once(None);
        let started = Instant::now();
        let err = probe(addr, "/", Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("no answer within 300 ms"), "{err}");
        assert!(started.elapsed() < Duration::from_millis(900), "{:?}", started.elapsed());
    }

    #[test]
    fn flags_default_to_port_8080_and_healthz() {
        let args = CheckArgs::try_parse_from(["check"]).unwrap();
        // PORT may be set in the test's environment; only the rest is fixed.
        assert_eq!(
            (args.host.to_string().as_str(), args.path.as_str(), args.timeout_ms),
            ("127.0.0.1", "/healthz", 1000)
        );
        let args = CheckArgs::try_parse_from(["check", "--port", "9", "--path", "/ready"]).unwrap();
        assert_eq!((args.port, args.path.as_str()), (9, "/ready"));
    }
}
