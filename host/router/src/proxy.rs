//! One request through the front door: pick a revision and backend, forward,
//! retry once if the connect failed, stream the response back.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};

use crate::metrics::InFlight;
use crate::pool::{PooledBody, SendError};
use crate::router::Shared;

/// The router's reserved path for its own metrics.
pub const METRICS_PATH: &str = "/_hoist/metrics";

/// A response body: streamed from a backend, or the router's own.
pub enum ProxyBody {
    Upstream { body: PooledBody, _in_flight: InFlight },
    Local(Full<Bytes>),
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            ProxyBody::Upstream { body, .. } => Pin::new(body).poll_frame(cx),
            ProxyBody::Local(full) => match Pin::new(full).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Upstream { body, .. } => body.is_end_stream(),
            ProxyBody::Local(full) => full.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Upstream { body, .. } => body.size_hint(),
            ProxyBody::Local(full) => full.size_hint(),
        }
    }
}

fn local(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::Local(Full::new(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(crate) async fn handle(
    shared: Arc<Shared>,
    client: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    if request.uri().path() == METRICS_PATH {
        let text = crate::prometheus::render(&shared.metrics.snapshot());
        return Ok(local(StatusCode::OK, "text/plain; version=0.0.4", text));
    }
    let request = prepare(request, client);

    let Some((pick, in_flight)) = shared.acquire(None) else {
        shared.metrics.unroutable();
        return Ok(local(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "hoist-router: no ready backend for this service (the routing table names no instance of a revision with weight > 0)\n",
        ));
    };
    let request = match forward(&shared, pick.backend, request, in_flight).await {
        Attempt::Done(response) => return Ok(response),
        Attempt::NotSent { request, in_flight } => {
            // Nothing reached the backend: one more try, elsewhere.
            pick.metrics.connection_error();
            in_flight.abandon();
            request
        }
    };
    let Some((retry, in_flight)) = shared.acquire(Some(pick.backend)) else {
        return Ok(bad_gateway(
            pick.metrics.start(),
            format!("could not connect to {}, and no other backend", pick.backend),
        ));
    };
    match forward(&shared, retry.backend, request, in_flight).await {
        Attempt::Done(response) => Ok(response),
        Attempt::NotSent { in_flight, .. } => {
            retry.metrics.connection_error();
            Ok(bad_gateway(in_flight, format!("could not connect to {} nor {}", pick.backend, retry.backend)))
        }
    }
}

enum Attempt {
    Done(Response<ProxyBody>),
    NotSent { request: Request<Incoming>, in_flight: InFlight },
}

async fn forward(
    shared: &Arc<Shared>,
    backend: SocketAddr,
    request: Request<Incoming>,
    mut in_flight: InFlight,
) -> Attempt {
    match shared.pool.send(backend, request).await {
        Ok(response) => {
            in_flight.set_status(response.status().as_u16());
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Attempt::Done(Response::from_parts(parts, ProxyBody::Upstream { body, _in_flight: in_flight }))
        }
        Err(SendError::NotSent { request, reason }) => {
            tracing::debug!(%backend, %reason, "backend not reached; retrying elsewhere");
            Attempt::NotSent { request: *request, in_flight }
        }
        Err(SendError::Sent(e)) => Attempt::Done(bad_gateway(in_flight, format!("backend {backend} failed: {e}"))),
    }
}

fn bad_gateway(mut in_flight: InFlight, reason: String) -> Response<ProxyBody> {
    tracing::warn!(%reason, "502 to client");
    in_flight.set_status(502);
    let response = local(StatusCode::BAD_GATEWAY, "text/plain", format!("hoist-router: {reason}\n"));
    drop(in_flight);
    response
}

/// Origin-form URI, hop-by-hop headers dropped, the client appended to
/// `x-forwarded-for`.
fn prepare(request: Request<Incoming>, client: SocketAddr) -> Request<Incoming> {
    let (mut parts, body) = request.into_parts();
    if parts.uri.authority().is_some() {
        // Absolute-form (proxy-style) request: keep its authority as the Host.
        if let Some(authority) = parts.uri.authority()
            && let Ok(host) = HeaderValue::from_str(authority.as_str())
        {
            parts.headers.insert(header::HOST, host);
        }
        let pq = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        if let Ok(uri) = Uri::builder().path_and_query(pq).build() {
            parts.uri = uri;
        }
    }
    strip_hop_by_hop(&mut parts.headers);
    let ip = client.ip().to_string();
    let forwarded = match parts.headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {ip}"),
        None => ip,
    };
    if let Ok(value) = HeaderValue::from_str(&forwarded) {
        parts.headers.insert(X_FORWARDED_FOR, value);
    }
    Request::from_parts(parts, body)
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

/// Removes the hop-by-hop headers of RFC 9110 §7.6.1 and those the
/// `Connection` header names. `transfer-encoding` is left to hyper, which
/// frames each hop itself.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}
