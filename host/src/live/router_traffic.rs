//! The traffic and metrics ports backed by Hoist's router: one weighted
//! reverse proxy per service (its front door), whose routing table is the
//! strategy's weights over the addresses of each revision's READY instances,
//! and whose per-revision counters feed the health policies.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hoist_router::{RevisionRoute, Router, Snapshot};

use crate::engine::ports::{BoxFuture, Metrics, Traffic};
use crate::runtime::bindings::base::hoist::plugin::types::{Instance, InstanceState, Weight};
use crate::runtime::bindings::health::exports::hoist::plugin::health::RevisionMetrics;

/// Snapshots kept per service for metric windows (one per engine step).
const HISTORY: usize = 4096;
/// Longest wait for a removed revision's in-flight requests.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

struct Front {
    router: Arc<Router>,
    weights: Vec<Weight>,
    backends: BTreeMap<String, Vec<SocketAddr>>,
    history: VecDeque<(u64, Snapshot)>,
}

#[derive(Default)]
pub struct RouterTraffic {
    fronts: Mutex<BTreeMap<(String, String), Front>>,
}

impl RouterTraffic {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Front>> {
        self.fronts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The router of a service, if it has one.
    pub fn router(&self, service: &str, environment: &str) -> Option<Arc<Router>> {
        self.lock().get(&(service.to_string(), environment.to_string())).map(|f| f.router.clone())
    }
}

/// The table the router serves: the strategy's weights when it set any,
/// else a split by ready instances (a rolling update's natural spread).
fn table(front: &Front) -> Vec<RevisionRoute> {
    let mut routes: Vec<RevisionRoute> = if front.weights.is_empty() {
        let total: usize = front.backends.values().map(Vec::len).sum();
        let mut given = 0u8;
        let mut routes: Vec<RevisionRoute> = front
            .backends
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|(rev, b)| {
                let w = ((b.len() * 100) / total.max(1)) as u8;
                given += w;
                RevisionRoute { revision: rev.clone(), weight: w, backends: b.clone() }
            })
            .collect();
        if let Some(first) = routes.first_mut() {
            first.weight += 100 - given.min(100);
        }
        routes
    } else {
        front
            .weights
            .iter()
            .map(|w| RevisionRoute {
                revision: w.revision.clone(),
                weight: w.percent,
                backends: front.backends.get(&w.revision).cloned().unwrap_or_default(),
            })
            .collect()
    };
    routes.sort_by(|a, b| a.revision.cmp(&b.revision));
    routes
}

fn apply(front: &Front) -> Result<(), String> {
    let routes = table(front);
    if routes.is_empty() {
        return Ok(());
    }
    front.router.set_table(routes).map_err(|e| format!("router refused the table: {e}"))
}

impl Traffic for RouterTraffic {
    fn attach(&self, service: &str, environment: &str, listen: &str) -> Result<(), String> {
        let addr: SocketAddr = listen
            .parse()
            .map_err(|e| format!("service `{service}`: router address `{listen}` is not host:port ({e})"))?;
        let mut fronts = self.lock();
        let key = (service.to_string(), environment.to_string());
        if let Some(front) = fronts.get(&key) {
            let bound = front.router.local_addr();
            // Same address (or port 0, "any port", against what it got).
            if bound == addr || (addr.port() == 0 && bound.ip() == addr.ip()) {
                return Ok(());
            }
            // Moving a live front door would drop its clients mid-rollout.
            return Err(format!(
                "service `{service}` in `{environment}` already has its front door on {bound}; a deploy cannot move it \
                 to {addr}: deploy with --router {bound}, or without --router"
            ));
        }
        let router =
            Router::bind(addr).map_err(|e| format!("service `{service}`: cannot start its router on {addr}: {e}"))?;
        tracing::info!(%service, %environment, addr = %router.local_addr(), "router listening");
        fronts.insert(
            key,
            Front {
                router: Arc::new(router),
                weights: Vec::new(),
                backends: BTreeMap::new(),
                history: VecDeque::new(),
            },
        );
        Ok(())
    }

    fn detach(&self, service: &str, environment: &str) {
        // Dropping the last handle on the router stops its listener.
        if self.lock().remove(&(service.to_string(), environment.to_string())).is_some() {
            tracing::info!(%service, %environment, "router closed: the service is gone");
        }
    }

    fn set_weights(&self, service: &str, environment: &str, weights: &[Weight]) -> Result<(), String> {
        let mut fronts = self.lock();
        let Some(front) = fronts.get_mut(&(service.to_string(), environment.to_string())) else {
            return Ok(());
        };
        front.weights = weights.to_vec();
        apply(front)
    }

    fn weights(&self, service: &str, environment: &str) -> Vec<Weight> {
        self.lock().get(&(service.to_string(), environment.to_string())).map(|f| f.weights.clone()).unwrap_or_default()
    }

    fn observe(&self, service: &str, environment: &str, instances: &[Instance], now_ms: u64) {
        let mut fronts = self.lock();
        let Some(front) = fronts.get_mut(&(service.to_string(), environment.to_string())) else {
            return;
        };
        let mut backends: BTreeMap<String, Vec<SocketAddr>> = BTreeMap::new();
        for i in instances {
            if matches!(i.state, InstanceState::Ready)
                && let Some(addr) = i.address.as_deref().and_then(|a| a.parse().ok())
            {
                backends.entry(i.revision.clone()).or_default().push(addr);
            }
        }
        if backends != front.backends {
            front.backends = backends;
            if let Err(err) = apply(front) {
                tracing::warn!(%service, "{err}");
            }
        }
        front.history.push_back((now_ms, front.router.snapshot()));
        while front.history.len() > HISTORY {
            front.history.pop_front();
        }
    }

    fn drain<'a>(&'a self, service: &'a str, environment: &'a str, revision: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let router = self.router(service, environment);
            if let Some(router) = router
                && !router.wait_drained(revision, DRAIN_TIMEOUT).await
            {
                tracing::warn!(%service, %revision, "requests still in flight after {DRAIN_TIMEOUT:?}; stopping anyway");
            }
        })
    }
}

impl Metrics for RouterTraffic {
    fn window(&self, service: &str, environment: &str, revision: &str, from_ms: u64, _to_ms: u64) -> RevisionMetrics {
        let fronts = self.lock();
        let mut m = RevisionMetrics {
            revision: revision.to_string(),
            requests: 0,
            errors: 0,
            connection_errors: 0,
            latency_p50_ms: None,
            latency_p95_ms: None,
            latency_p99_ms: None,
            ready_instances: 0,
            desired_instances: 0,
            probe_failures: 0,
            custom: vec![],
            extensions: vec![],
        };
        let Some(front) = fronts.get(&(service.to_string(), environment.to_string())) else {
            return m;
        };
        let now = front.router.snapshot();
        let start = front
            .history
            .iter()
            .rev()
            .find(|(t, _)| *t <= from_ms)
            .or_else(|| front.history.front())
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        if let Some(stats) = now.since(&start).get(revision) {
            m.requests = stats.requests;
            m.errors = stats.errors_5xx;
            m.connection_errors = stats.connection_errors;
            if stats.requests > 0 {
                m.latency_p50_ms = Some(stats.p50_ms);
                m.latency_p95_ms = Some(stats.p95_ms);
                m.latency_p99_ms = Some(stats.p99_ms);
            }
        }
        m.ready_instances = front.backends.get(revision).map_or(0, |b| b.len() as u32);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_detached_service_gives_its_port_back() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let traffic = RouterTraffic::new();
        traffic.attach("web", "prod", &format!("127.0.0.1:{port}")).unwrap();
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_err(), "the router holds the port");
        traffic.detach("web", "prod");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "the port was never released");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // And a new deploy may take it again.
        traffic.attach("web", "prod", &format!("127.0.0.1:{port}")).unwrap();
    }
}
