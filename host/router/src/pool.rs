//! Keep-alive HTTP/1.1 connections to backends, and the one distinction the
//! retry rule needs: was the request sent, or not.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_IDLE_PER_BACKEND: usize = 512;

type Sender = SendRequest<Incoming>;

/// Why a request got no response from a backend.
pub(crate) enum SendError {
    /// No byte of the request reached the backend (refused, reset, timed
    /// out before sending); the request comes back for a retry.
    NotSent { request: Box<Request<Incoming>>, reason: String },
    /// The request was (at least partly) sent; it must not be retried.
    Sent(hyper::Error),
}

#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<HashMap<SocketAddr, Vec<Sender>>>,
}

impl Pool {
    fn checkout(&self, addr: SocketAddr) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let senders = idle.get_mut(&addr)?;
        while let Some(sender) = senders.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn checkin(&self, addr: SocketAddr, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let senders = idle.entry(addr).or_default();
        if senders.len() < MAX_IDLE_PER_BACKEND {
            senders.push(sender);
        }
    }

    /// Drops idle connections to backends no longer named by the table.
    pub(crate) fn retain(&self, keep: impl Fn(&SocketAddr) -> bool) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).retain(|addr, _| keep(addr));
    }

    /// Sends `request` to `addr` on an idle connection, or a new one.
    pub(crate) async fn send(
        self: &Arc<Self>,
        addr: SocketAddr,
        mut request: Request<Incoming>,
    ) -> Result<Response<PooledBody>, SendError> {
        // Idle connections first; one the backend closed meanwhile hands the
        // request back unsent, and the next one is tried.
        while let Some(mut sender) = self.checkout(addr) {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.try_send_request(request).await {
                Ok(response) => return Ok(self.wrap(addr, sender, response)),
                Err(mut e) => match e.take_message() {
                    Some(back) => request = back,
                    None => return Err(SendError::Sent(e.into_error())),
                },
            }
        }
        let mut sender = match connect(addr).await {
            Ok(sender) => sender,
            Err(reason) => return Err(SendError::NotSent { request: Box::new(request), reason }),
        };
        match sender.try_send_request(request).await {
            Ok(response) => Ok(self.wrap(addr, sender, response)),
            Err(mut e) => match e.take_message() {
                Some(request) => Err(SendError::NotSent { request: Box::new(request), reason: e.error().to_string() }),
                None => Err(SendError::Sent(e.into_error())),
            },
        }
    }

    fn wrap(self: &Arc<Self>, addr: SocketAddr, sender: Sender, response: Response<Incoming>) -> Response<PooledBody> {
        response.map(|inner| PooledBody { inner, ended: false, home: Some((Arc::clone(self), addr, sender)) })
    }
}

async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("connect to {addr} timed out after {CONNECT_TIMEOUT:?}"))?
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake with {addr}: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(%addr, error = %e, "backend connection ended");
        }
    });
    Ok(sender)
}

/// A backend's response body; once read to the end, its connection goes
/// back to the pool (a body dropped early closes the connection instead).
pub(crate) struct PooledBody {
    inner: Incoming,
    ended: bool,
    home: Option<(Arc<Pool>, SocketAddr, Sender)>,
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        if (self.ended || self.inner.is_end_stream())
            && let Some((pool, addr, sender)) = self.home.take()
        {
            pool.checkin(addr, sender);
        }
    }
}
