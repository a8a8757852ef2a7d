//! The HTTP/1.1 server: accept loop, one task per connection, graceful drain.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::behaviour::Behaviour;

/// Bind `addr`, print `listening on ADDR` on stdout, serve until
/// `shutdown` resolves, then stop accepting and let in-flight requests finish
/// (for at most `drain_timeout`). Returns whether the drain completed in time.
pub async fn serve(
    addr: SocketAddr,
    behaviour: Behaviour,
    drain_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<bool> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {addr}")?;
        stdout.flush()?;
    }
    let behaviour = Arc::new(behaviour);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of descriptors and the like: back off, keep serving.
                        eprintln!("hoist-demo: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let behaviour = Arc::clone(&behaviour);
                let service = service_fn(move |req| answer(Arc::clone(&behaviour), req));
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        eprintln!("hoist-demo: connection error: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    eprintln!("hoist-demo: shutting down, draining in-flight requests");
    let drained = tokio::time::timeout(drain_timeout, graceful.shutdown()).await.is_ok();
    Ok(drained)
}

async fn answer(behaviour: Arc<Behaviour>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = behaviour.reply(req.method().as_str(), req.uri().path(), Instant::now());
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
