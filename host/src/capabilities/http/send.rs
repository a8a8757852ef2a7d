//! One `send`: check, resolve, connect, request, bounded response, and
//! redirects followed only within the allow-list, all under one deadline.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Uri};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use super::allow::{AllowList, Target};
use super::{Access, limits};
use crate::runtime::bindings::platform::hoist::plugin::http::{HttpError, Request, Response};

/// Headers the host sets itself; a plugin may not.
const RESERVED: [&str; 6] = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te"];

/// Sends `request` for `access`'s plugin, giving up at `deadline`.
pub async fn send(access: &Access, request: Request, deadline: Instant) -> Result<Response, HttpError> {
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|_| HttpError::Other(format!("invalid HTTP method {:?}", request.method)))?;
    if request.body.len() > limits::REQUEST_BODY {
        return Err(HttpError::Other(format!(
            "request body of {} bytes is larger than the {} cap",
            request.body.len(),
            limits::human(limits::REQUEST_BODY)
        )));
    }
    let plugin = access.plugin.as_str();
    let headers = plugin_headers(&request.headers)?;
    let mut uri = parse_url(&request.url)?;
    let (mut method, mut body) = (method, Bytes::from(request.body));
    match tokio::time::timeout_at(deadline, async {
        for _hop in 0..=limits::REDIRECTS {
            let (target, entry) = admitted(plugin, access, &uri, None)?;
            let addr = resolve(&target).await?;
            let response = exchange(addr, &target, &entry, access, &method, &uri, &headers, body.clone()).await?;
            let Some(next) = redirect(&uri, &response)? else { return response_of(&uri, response).await };
            // 303, and 301/302 after a POST, become a GET without a body (as browsers do).
            let status = response.status().as_u16();
            if status == 303 || (matches!(status, 301 | 302) && method == Method::POST) {
                (method, body) = (Method::GET, Bytes::new());
            }
            admitted(plugin, access, &next, Some(&uri))?;
            uri = next;
        }
        Err(HttpError::Other(format!("{}: more than {} redirects; not followed", request.url, limits::REDIRECTS)))
    })
    .await
    {
        Ok(result) => result,
        Err(_) => Err(HttpError::Timeout),
    }
}

fn parse_url(url: &str) -> Result<Uri, HttpError> {
    if url.len() > limits::URL {
        return Err(HttpError::Other(format!("URL is longer than {} bytes", limits::URL)));
    }
    url.parse::<Uri>().map_err(|e| HttpError::Other(format!("invalid URL {url:?}: {e}")))
}

/// The target of `uri` and the entry that allows it, or `denied`.
fn admitted(plugin: &str, access: &Access, uri: &Uri, from: Option<&Uri>) -> Result<(Target, String), HttpError> {
    let target = Target::of(uri).map_err(HttpError::Other)?;
    match access.allow.entry_for(&target) {
        Some(entry) => Ok((target.clone(), entry.written.clone())),
        None => {
            let how = format!(
                "add \"{}\" to `allow-hosts` of [plugins.{plugin}] in the registry if the plugin should reach it",
                display_entry(&target)
            );
            Err(HttpError::Denied(match from {
                None => format!("host `{}` is not in plugin `{plugin}`'s `allow-hosts`; {how}", target.authority),
                Some(from) => format!(
                    "{from} redirects to host `{}`, which is not in plugin `{plugin}`'s `allow-hosts`; the redirect was not followed; {how}",
                    target.authority
                ),
            }))
        }
    }
}

fn display_entry(target: &Target) -> String {
    if target.port == 80 { target.host.clone() } else { format!("{}:{}", target.host, target.port) }
}

async fn resolve(target: &Target) -> Result<SocketAddr, HttpError> {
    if let Some(ip) = target.ip {
        return Ok(SocketAddr::new(ip, target.port));
    }
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| HttpError::Connect(format!("cannot resolve `{}`: {e}", target.host)))?
        .collect();
    AllowList::pick(target, &resolved).map_err(HttpError::Denied)
}

fn plugin_headers(headers: &[(String, String)]) -> Result<Vec<(HeaderName, HeaderValue)>, HttpError> {
    if headers.len() > limits::HEADERS {
        return Err(HttpError::Other(format!(
            "{} request headers; at most {} are sent",
            headers.len(),
            limits::HEADERS
        )));
    }
    let total: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > limits::HEADER_BYTES {
        return Err(HttpError::Other(format!("request headers exceed {} bytes", limits::HEADER_BYTES)));
    }
    headers
        .iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::Other(format!("invalid header name {name:?}")))?;
            if RESERVED.contains(&name.as_str()) {
                return Err(HttpError::Other(format!("header `{name}` is set by the host; remove it")));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| HttpError::Other(format!("invalid value for header `{name}`")))?;
            Ok((name, value))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn exchange(
    addr: SocketAddr,
    target: &Target,
    entry: &str,
    access: &Access,
    method: &Method,
    uri: &Uri,
    headers: &[(HeaderName, HeaderValue)],
    body: Bytes,
) -> Result<hyper::Response<hyper::body::Incoming>, HttpError> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| HttpError::Connect(format!("cannot connect to {} ({addr}): {e}", target.authority)))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| HttpError::Connect(format!("{}: {e}", target.authority)))?;
    // The connection is this request's alone; it ends with the task.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut builder = hyper::Request::builder().method(method.clone()).uri(path).header("host", &target.authority);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let mut req = builder.body(Full::new(body)).map_err(|e| HttpError::Other(format!("request: {e}")))?;
    // Added last so it replaces any header of the plugin's with the same name.
    for (name, value) in access.credentials_for(entry)? {
        req.headers_mut().insert(name, value);
    }
    sender.send_request(req).await.map_err(|e| HttpError::Connect(format!("{}: {e}", target.authority)))
}

/// The next URL when `response` is a redirect with a `Location`.
fn redirect(from: &Uri, response: &hyper::Response<hyper::body::Incoming>) -> Result<Option<Uri>, HttpError> {
    if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(location) = response.headers().get(hyper::header::LOCATION) else { return Ok(None) };
    let location = location
        .to_str()
        .map_err(|_| HttpError::Other(format!("{from}: redirect with a non-ASCII Location; not followed")))?;
    let next = if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else if location.starts_with("//") {
        format!("http:{location}")
    } else {
        let base = from.authority().map(|a| a.as_str()).unwrap_or_default();
        let path = from.path();
        let dir = if location.starts_with('/') { "" } else { &path[..path.rfind('/').map_or(0, |i| i + 1)] };
        let dir = if dir.is_empty() && !location.starts_with('/') { "/" } else { dir };
        format!("http://{base}{dir}{location}")
    };
    parse_url(&next).map(Some)
}

async fn response_of(uri: &Uri, response: hyper::Response<hyper::body::Incoming>) -> Result<Response, HttpError> {
    let status = response.status().as_u16();
    let mut headers = Vec::new();
    let mut header_bytes = 0;
    for (name, value) in response.headers() {
        header_bytes += name.as_str().len() + value.len();
        if headers.len() >= limits::HEADERS || header_bytes > limits::HEADER_BYTES {
            return Err(HttpError::Other(format!(
                "{uri}: response headers exceed {} headers or {} bytes",
                limits::HEADERS,
                limits::HEADER_BYTES
            )));
        }
        headers.push((name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()));
    }
    let body = Limited::new(response.into_body(), limits::RESPONSE_BODY).collect().await.map_err(|e| {
        if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            HttpError::Other(format!(
                "{uri}: response body is larger than the {} cap; ask for less (a narrower query or a smaller page)",
                limits::human(limits::RESPONSE_BODY)
            ))
        } else {
            HttpError::Connect(format!("{uri}: reading the response: {e}"))
        }
    })?;
    Ok(Response { status, headers, body: body.to_bytes().to_vec() })
}

/// The time left for a request: its own timeout (0: none) within the call's.
pub fn deadline(timeout_ms: u32, call_ends: Instant) -> Instant {
    match timeout_ms {
        0 => call_ends,
        ms => call_ends.min(Instant::now() + Duration::from_millis(u64::from(ms))),
    }
}
