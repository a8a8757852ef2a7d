//! A tiny loopback HTTP server whose answers the test scripts, and helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server does with request number `n` (1-based).
pub enum Answer {
    Status(u16),
    /// Hold the connection open without answering.
    Hang,
    /// Send bytes that are not HTTP.
    Garbage,
}

pub struct TestServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicU64>,
}

impl TestServer {
    pub async fn start(answer: impl Fn(u64) -> Answer + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&requests);
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                let answer = Arc::clone(&answer);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    let reply = match answer(n) {
                        Answer::Status(s) => {
                            format!("HTTP/1.1 {s} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        }
                        Answer::Hang => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                        Answer::Garbage => "SSH-2.0-OpenSSH_9.6\r\n".to_string(),
                    };
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        TestServer { addr, requests }
    }

    /// HTTP requests answered (or hung) so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A loopback address nobody listens on.
pub fn refused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Poll `condition` every 5 ms until it holds; panics after `within`.
pub async fn eventually(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
