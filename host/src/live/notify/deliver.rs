//! One notification POSTed to one webhook: a bounded request under a
//! per-attempt timeout, retried with exponential backoff.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use hyper_util::rt::TokioIo;

use hoist_registry::{SecretSource, WebhookUrl, notify::check_url};

use crate::capabilities::http::Target;

/// How a subscription's deliveries are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts per notification, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; each later wait doubles.
    pub first_backoff: Duration,
    /// The most one attempt may take, connecting included.
    pub timeout: Duration,
}

impl Default for Retry {
    /// 3 attempts, 0.5 s then 1 s apart, 5 s each: a dead receiver costs
    /// its subscription at most 16.5 s per notification, and nobody else anything.
    fn default() -> Self {
        Self { attempts: 3, first_backoff: Duration::from_millis(500), timeout: Duration::from_secs(5) }
    }
}

/// The most of a receiver's answer that is read (for the error message).
const ANSWER_CAP: usize = 4 << 10;
/// A URL file holds one line.
const URL_FILE_CAP: u64 = 4 << 10;

/// Delivers `body` to `url`, retrying per `retry`. Returns the number of
/// attempts taken, or the last attempt's error after all have failed.
pub async fn deliver(url: &WebhookUrl, body: &[u8], retry: Retry) -> Result<u32, String> {
    let mut last = String::new();
    let mut backoff = retry.first_backoff;
    for attempt in 1..=retry.attempts.max(1) {
        if attempt > 1 {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        let sent = async {
            let url = resolve_url(url)?;
            post(&url, Bytes::copy_from_slice(body)).await
        };
        match tokio::time::timeout(retry.timeout, sent).await {
            Ok(Ok(())) => return Ok(attempt),
            Ok(Err(err)) => last = err,
            Err(_) => last = format!("no answer within {} ms", retry.timeout.as_millis()),
        }
    }
    Err(format!("{} attempts failed, the last: {last}", retry.attempts.max(1)))
}

/// The URL, read now when it is a secret (so a rotated one is picked up).
/// Errors name where it should be, never what it is.
fn resolve_url(url: &WebhookUrl) -> Result<String, String> {
    let text = match url {
        WebhookUrl::Inline(url) => return Ok(url.clone()),
        WebhookUrl::Secret(SecretSource::Env(var)) => {
            std::env::var(var).map_err(|_| format!("environment variable `{var}` (`url-from`) is not set"))?
        }
        WebhookUrl::Secret(SecretSource::File(path)) => hoist_files::read_text(path, URL_FILE_CAP)
            .map_err(|e| format!("cannot read the URL file {} (`url-from`): {e}", path.display()))?
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
    };
    // Not quoted back: the URL may carry a token.
    check_url(&text).map_err(|_| format!("{url} is not an absolute http:// URL with a host; fix the secret"))?;
    Ok(text)
}

/// One POST; `Ok` on a 2xx answer.
async fn post(url: &str, body: Bytes) -> Result<(), String> {
    let uri: Uri = url.parse().map_err(|e| format!("invalid URL: {e}"))?;
    let target = Target::of(&uri)?;
    let stream = match target.ip {
        Some(ip) => tokio::net::TcpStream::connect((ip, target.port)).await,
        None => tokio::net::TcpStream::connect((target.host.as_str(), target.port)).await,
    }
    .map_err(|e| format!("cannot connect to {}: {e}", target.authority))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{}: {e}", target.authority))?;
    // The connection is this request's alone; it ends with the task.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let request = hyper::Request::post(path)
        .header("host", &target.authority)
        .header("content-type", "application/json")
        .header("user-agent", concat!("hoist/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(body))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| format!("{}: {e}", target.authority))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let answer = match Limited::new(response.into_body(), ANSWER_CAP).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).trim().chars().take(200).collect(),
        Err(_) => String::new(),
    };
    Err(if answer.is_empty() { format!("answered {status}") } else { format!("answered {status}: {answer}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_fails_every_attempt_quickly() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = WebhookUrl::Inline(format!("http://127.0.0.1:{port}/hook"));
        let retry = Retry { attempts: 2, first_backoff: Duration::from_millis(10), timeout: Duration::from_secs(1) };
        let err = deliver(&url, b"{}", retry).await.unwrap_err();
        assert!(err.starts_with("2 attempts failed") && err.contains("cannot connect"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_secret_names_where_it_should_be() {
        let url = WebhookUrl::Secret(SecretSource::Env("HOIST_TEST_NO_SUCH_URL_VAR".into()));
        let retry = Retry { attempts: 1, ..Retry::default() };
        let err = deliver(&url, b"{}", retry).await.unwrap_err();
        assert!(err.contains("HOIST_TEST_NO_SUCH_URL_VAR") && err.contains("not set"), "{err}");
    }
}
