//! One probe, start to verdict: [`probe_once`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::duration;
use crate::spec::{ProbeKind, ProbeSpec};
use crate::{exec, http};

/// The verdict of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub ok: bool,
    /// What was seen, for people: `HTTP 503 from GET http://127.0.0.1:8080/healthz`.
    pub detail: String,
    pub elapsed: Duration,
}

/// Run `spec`'s check once against `addr`, bounded by `spec.timeout`. Never
/// fails: an invalid spec, a refused connection or a timeout is a failed
/// probe whose `detail` says why.
pub async fn probe_once(spec: &ProbeSpec, addr: SocketAddr) -> ProbeResult {
    let started = Instant::now();
    let (ok, detail) = match spec.validate() {
        Err(e) => (false, format!("invalid probe: {e}")),
        Ok(()) => match &spec.kind {
            ProbeKind::Http { path, expect_status } => {
                bounded(spec.timeout, http::get(addr, path, *expect_status)).await
            }
            ProbeKind::Tcp => bounded(spec.timeout, tcp(addr)).await,
            // Exec enforces its own timeout: it must kill what it started.
            ProbeKind::Exec { command } => exec::run(command, addr, spec.timeout).await,
        },
    };
    ProbeResult { ok, detail, elapsed: started.elapsed() }
}

async fn bounded(timeout: Duration, check: impl Future<Output = (bool, String)>) -> (bool, String) {
    tokio::time::timeout(timeout, check)
        .await
        .unwrap_or_else(|_| (false, format!("timed out after {}", duration::format(timeout))))
}

async fn tcp(addr: SocketAddr) -> (bool, String) {
    match TcpStream::connect(addr).await {
        Ok(_) => (true, format!("TCP connect to {addr} accepted")),
        Err(e) => (false, format!("TCP connect to {addr}: {e}")),
    }
}
