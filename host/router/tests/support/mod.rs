//! Real HTTP servers and clients on 127.0.0.1 for the router's tests.

// Test-only helpers: a failed setup should fail the test loudly.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

/// A backend instance: answers with its name. Paths: `/slow` sleeps 300 ms,
/// `/fail` answers 500 after 50 ms, `/echo` echoes the body and reports
/// what it saw in `seen-*` headers.
pub struct Backend {
    pub addr: SocketAddr,
    accept: JoinHandle<()>,
    killed: Arc<AtomicBool>,
}

impl Backend {
    pub async fn start(name: &'static str) -> Backend {
        let listener = TcpListener::bind(SocketAddr::from(LOOPBACK)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let killed = Arc::new(AtomicBool::new(false));
        let dying = Arc::clone(&killed);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let dying = Arc::clone(&dying);
                let service = service_fn(move |req| respond(name, Arc::clone(&dying), req));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Backend { addr, accept, killed }
    }

    /// The instance dies: its listener is dropped (new connects are refused)
    /// and open connections close after their current response.
    pub async fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.accept.abort();
        // The aborted task drops its listener the next time it is polled.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn respond(
    name: &'static str,
    dying: Arc<AtomicBool>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let mut response = match path.as_str() {
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Response::new(Full::new(Bytes::from(name)))
        }
        "/fail" => {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut r = Response::new(Full::new(Bytes::from(name)));
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
        "/echo" => {
            let seen = |h: &str| req.headers().get(h).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
            let xff = seen("x-forwarded-for");
            let custom = seen("x-hop");
            let keep_alive = seen("keep-alive");
            let query = req.uri().query().unwrap_or("").to_owned();
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let mut r = Response::new(Full::new(body));
            let h = r.headers_mut();
            h.insert("seen-xff", xff.parse().unwrap());
            h.insert("seen-x-hop", custom.parse().unwrap());
            h.insert("seen-keep-alive", keep_alive.parse().unwrap());
            h.insert("seen-query", query.parse().unwrap_or_else(|_| "?".parse().unwrap()));
            h.insert("connection", "x-backend-hop".parse().unwrap());
            h.insert("x-backend-hop", "1".parse().unwrap());
            r
        }
        _ => Response::new(Full::new(Bytes::from(name))),
    };
    if dying.load(Ordering::SeqCst) {
        response.headers_mut().insert("connection", "close".parse().unwrap());
    }
    Ok(response)
}

/// A keep-alive HTTP/1.1 client connection that reconnects after errors.
pub struct Client {
    target: SocketAddr,
    sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Client {
    pub fn new(target: SocketAddr) -> Client {
        Client { target, sender: None }
    }

    pub async fn get(&mut self, path: &str) -> Result<Reply, String> {
        self.send(Request::get(path).header("host", "svc").body(Full::default()).unwrap()).await
    }

    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Reply, String> {
        let result = self.try_send(req).await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn try_send(&mut self, req: Request<Full<Bytes>>) -> Result<Reply, String> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(self.target).await.map_err(|e| format!("connect: {e}"))?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            tokio::spawn(conn);
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().ok_or("no connection")?;
        sender.ready().await.map_err(|e| format!("ready: {e}"))?;
        let response = sender.send_request(req).await.map_err(|e| format!("send: {e}"))?;
        let status = response.status().as_u16();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
        Ok(Reply { status, headers: parts.headers, body: String::from_utf8_lossy(&body).into_owned() })
    }
}
