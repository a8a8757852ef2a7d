//! The front door: one listener, its accept loop, the current routing table,
//! and the handles the engine uses (table swaps, drain checks, snapshots).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::metrics::{InFlight, Metrics, RevisionMetrics, Snapshot};
use crate::pool::Pool;
use crate::table::{RevisionRoute, Table, TableError};

/// Why the router could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("Router::bind must be called from within a tokio runtime")]
    NoRuntime,
}

pub(crate) struct Shared {
    pub(crate) table: ArcSwap<Table>,
    pub(crate) metrics: Metrics,
    pub(crate) pool: Arc<Pool>,
}

/// Where one attempt goes, and whose counters it moves.
pub(crate) struct Target {
    pub(crate) backend: SocketAddr,
    pub(crate) metrics: Arc<RevisionMetrics>,
}

impl Shared {
    /// Picks a backend from the current table (avoiding `failed`) and counts
    /// the request in flight on its revision. The count is taken before a
    /// second look at the table: if a swap slipped in between, the pick is
    /// redone on the new table, so `drained` never misses a request that is
    /// about to reach a revision the engine just took out.
    pub(crate) fn acquire(&self, failed: Option<SocketAddr>) -> Option<(Target, InFlight)> {
        let mut attempts = 0;
        loop {
            let table = self.table.load_full();
            let pick = match failed {
                None => table.pick(),
                Some(failed) => table.pick_other(failed),
            }?;
            let metrics = Arc::clone(&table.route(pick.route).metrics);
            let in_flight = metrics.start();
            attempts += 1;
            if attempts >= 8 || Arc::ptr_eq(&table, &self.table.load()) {
                return Some((Target { backend: pick.backend, metrics }, in_flight));
            }
            in_flight.abandon();
        }
    }
}

/// A weighted HTTP/1.1 reverse proxy for one service. Starts with an empty
/// table (every request gets 503) until [`Router::set_table`].
pub struct Router {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Router {
    /// Listens on `addr` (port 0 picks one) and serves on tasks of the
    /// current tokio runtime.
    pub fn bind(addr: SocketAddr) -> Result<Router, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let _entered = runtime.enter();
        let bind_err = |source| Error::Bind { addr, source };
        let std_listener = std::net::TcpListener::bind(addr).map_err(bind_err)?;
        std_listener.set_nonblocking(true).map_err(bind_err)?;
        let listener = TcpListener::from_std(std_listener).map_err(bind_err)?;
        let local_addr = listener.local_addr().map_err(bind_err)?;
        let shared = Arc::new(Shared {
            table: ArcSwap::from_pointee(Table::empty()),
            metrics: Metrics::default(),
            pool: Arc::new(Pool::default()),
        });
        let (stop, stopped) = oneshot::channel();
        let task = runtime.spawn(serve(listener, Arc::clone(&shared), stopped));
        tracing::info!(%local_addr, "router listening");
        Ok(Router { shared, local_addr, stop: Some(stop), task: Some(task) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Replaces the whole routing table at once. Requests already in flight
    /// finish on the backend they have; new requests use the new table. An
    /// invalid table is refused and the current one stays.
    pub fn set_table(&self, routes: Vec<RevisionRoute>) -> Result<(), TableError> {
        let table = Table::build(routes, &self.shared.metrics)?;
        let names: std::collections::HashSet<SocketAddr> = table.backends().collect();
        self.shared.table.store(Arc::new(table));
        self.shared.pool.retain(|addr| names.contains(addr));
        Ok(())
    }

    /// Requests in flight on `revision` (0 for a revision never routed to).
    pub fn in_flight(&self, revision: &str) -> u64 {
        self.shared.metrics.get(revision).map_or(0, |m| m.in_flight())
    }

    /// True when the current table sends `revision` no new requests (weight 0,
    /// no backends, or absent) and none is in flight: its instances may stop.
    pub fn drained(&self, revision: &str) -> bool {
        !self.shared.table.load().routable(revision) && self.in_flight(revision) == 0
    }

    /// Waits until [`Router::drained`] holds for `revision`, or `timeout`
    /// passes; returns whether it drained.
    pub async fn wait_drained(&self, revision: &str, timeout: Duration) -> bool {
        match self.shared.metrics.get(revision) {
            None => !self.shared.table.load().routable(revision),
            Some(m) => m.wait_idle(timeout, || self.shared.table.load().routable(revision)).await,
        }
    }

    /// Cumulative per-revision counters; windows come from [`Snapshot::since`].
    pub fn snapshot(&self) -> Snapshot {
        self.shared.metrics.snapshot()
    }

    /// The metrics in Prometheus text format, as served at
    /// [`crate::METRICS_PATH`].
    pub fn prometheus(&self) -> String {
        crate::prometheus::render(&self.snapshot())
    }

    /// Stops accepting, lets in-flight requests finish (idle keep-alive
    /// connections close), then returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        // Without an explicit shutdown, still stop accepting.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    let graceful = GracefulShutdown::new();
    let http = hyper::server::conn::http1::Builder::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, client)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = Arc::clone(&shared);
                    let service = service_fn(move |request| crate::proxy::handle(Arc::clone(&shared), client, request));
                    let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(%client, error = %e, "client connection ended");
                        }
                    });
                }
                Err(e) => {
                    // Out of descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(listener);
    graceful.shutdown().await;
}
