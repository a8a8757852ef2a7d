//! The API's accept loop: at most [`MAX_CONNECTIONS`] at once (more are
//! closed at accept, so a flood of idle sockets cannot take the control
//! plane's file descriptors), a deadline for a request's headers and one
//! for the whole request, body included; bodies are capped by the router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connections served at once; the CLI opens one per call.
pub const MAX_CONNECTIONS: usize = 256;
/// Time a client has to send a request's headers (idle keep-alive included).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a request has from its first byte to its answer, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body.
pub const MAX_BODY: usize = 1 << 20;

pub async fn serve(listener: TcpListener, app: Router, stop: impl std::future::Future<Output = ()>) {
    let app = app.layer(axum::extract::DefaultBodyLimit::max(MAX_BODY)).layer(axum::middleware::from_fn(deadline));
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, "API connection refused: {MAX_CONNECTIONS} are open");
                        drop(stream);
                        continue;
                    };
                    let service = TowerToHyperService::new(app.clone());
                    let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(%peer, error = %e, "API connection ended");
                        }
                        drop(permit);
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "API accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn deadline(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(response) => response,
        Err(_) => super::server::ApiError(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            format!("the request took longer than {} s (body included)", REQUEST_TIMEOUT.as_secs()),
        )
        .into_response(),
    }
}
