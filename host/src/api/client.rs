//! The CLI's side of the API.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::ErrorBody;

/// `/v1/SEG/SEG…` with every segment percent-encoded, so a name can never
/// change the path it is put in (names are validated before this too).
pub fn path(segments: &[&str]) -> String {
    let mut out = String::from("/v1");
    for segment in segments {
        out.push('/');
        for b in segment.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

pub struct Client {
    base: String,
    token: Option<String>,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> Self {
        let http = HttpClient::builder(TokioExecutor::new()).build_http();
        Self { base: base.trim_end_matches('/').to_string(), token, http }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut req = Request::builder().method(method).uri(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        let resp = self.http.request(req).await.map_err(|e| {
            anyhow::anyhow!("cannot reach the control plane at {}: is `hoist serve` running? ({e})", self.base)
        })?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|e| e.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            anyhow::bail!("{message} (HTTP {status})");
        }
        Ok((status, bytes))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let (_, bytes) = self.call(Method::GET, path, None).await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// POSTs `body`; the answer's JSON, or `None` for an empty answer.
    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> anyhow::Result<Option<T>> {
        let (_, bytes) = self.call(Method::POST, path, Some(serde_json::to_vec(body)?)).await?;
        if bytes.is_empty() {
            return Ok(None);
        }
        Ok(Some(serde_json::from_slice(&bytes)?))
    }
}
