//! Per-revision counters and latency histograms, and the snapshots the
//! policies read windows from.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// Number of finite histogram buckets; one more counts everything above.
pub const BUCKETS: usize = 88;

/// Upper bounds of the finite buckets in nanoseconds: 20 µs × 2^(k/4), so
/// consecutive bounds are 19% apart and the last is about 72 s.
static BOUNDS_NS: LazyLock<Vec<u64>> =
    LazyLock::new(|| (0..BUCKETS).map(|k| (20_000.0 * 2f64.powf(k as f64 / 4.0)).round() as u64).collect());

/// Upper bounds of the finite buckets, in seconds (`le` in Prometheus terms).
pub fn bucket_bounds_seconds() -> impl Iterator<Item = f64> {
    BOUNDS_NS.iter().map(|&ns| ns as f64 / 1e9)
}

/// Live counters of one revision; shared by every table that names it.
pub(crate) struct RevisionMetrics {
    requests: AtomicU64,
    errors_5xx: AtomicU64,
    connection_errors: AtomicU64,
    in_flight: AtomicU64,
    duration_sum_ns: AtomicU64,
    buckets: [AtomicU64; BUCKETS + 1],
    drained: Notify,
}

impl RevisionMetrics {
    fn new() -> RevisionMetrics {
        RevisionMetrics {
            requests: AtomicU64::new(0),
            errors_5xx: AtomicU64::new(0),
            connection_errors: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            duration_sum_ns: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            drained: Notify::new(),
        }
    }

    pub(crate) fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn connection_error(&self) {
        self.connection_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request in flight until the returned guard is finished or dropped.
    pub(crate) fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight { metrics: Arc::clone(self), started: Instant::now(), outcome: Outcome::Completed { is_5xx: false } }
    }

    fn record(&self, elapsed: Duration, is_5xx: bool) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_NS.partition_point(|&bound| bound < ns);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.duration_sum_ns.fetch_add(ns, Ordering::Relaxed);
        if is_5xx {
            self.errors_5xx.fetch_add(1, Ordering::Relaxed);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn end(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.drained.notify_waiters();
        }
    }

    /// Waits until no request is in flight, or `timeout`; true if drained.
    pub(crate) async fn wait_idle(&self, timeout: Duration, routable: impl Fn() -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight() == 0 && !routable() {
                return true;
            }
            // Also wake now and then: the table may have changed meanwhile.
            let wake = deadline.min(tokio::time::Instant::now() + Duration::from_millis(50));
            if tokio::time::timeout_at(wake, notified).await.is_err() && tokio::time::Instant::now() >= deadline {
                return self.in_flight() == 0 && !routable();
            }
        }
    }

    fn snapshot(&self) -> RevisionSnapshot {
        RevisionSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            errors_5xx: self.errors_5xx.load(Ordering::Relaxed),
            connection_errors: self.connection_errors.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            duration_sum_ns: self.duration_sum_ns.load(Ordering::Relaxed),
            buckets: self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
        }
    }
}

enum Outcome {
    Completed {
        is_5xx: bool,
    },
    /// Never reached a backend of this revision (retried elsewhere): not a request of it.
    Abandoned,
}

/// One request in flight on a revision. Dropping it records the request
/// (count, latency, 5xx) and ends its in-flight count.
pub(crate) struct InFlight {
    metrics: Arc<RevisionMetrics>,
    started: Instant,
    outcome: Outcome,
}

impl InFlight {
    pub(crate) fn set_status(&mut self, status: u16) {
        self.outcome = Outcome::Completed { is_5xx: (500..600).contains(&status) };
    }

    /// Ends the in-flight count without recording a request.
    pub(crate) fn abandon(mut self) {
        self.outcome = Outcome::Abandoned;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Outcome::Completed { is_5xx } = self.outcome {
            self.metrics.record(self.started.elapsed(), is_5xx);
        }
        self.metrics.end();
    }
}

/// All revisions' counters, by revision id. Revisions stay after they leave
/// the table, so windows over a rollout keep their history.
#[derive(Default)]
pub(crate) struct Metrics {
    revisions: RwLock<BTreeMap<String, Arc<RevisionMetrics>>>,
    unroutable: AtomicU64,
}

impl Metrics {
    pub(crate) fn revision(&self, revision: &str) -> Arc<RevisionMetrics> {
        if let Some(m) = self.revisions.read().unwrap_or_else(PoisonError::into_inner).get(revision) {
            return Arc::clone(m);
        }
        let mut map = self.revisions.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(revision.to_owned()).or_insert_with(|| Arc::new(RevisionMetrics::new())))
    }

    pub(crate) fn get(&self, revision: &str) -> Option<Arc<RevisionMetrics>> {
        self.revisions.read().unwrap_or_else(PoisonError::into_inner).get(revision).cloned()
    }

    pub(crate) fn unroutable(&self) {
        self.unroutable.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let map = self.revisions.read().unwrap_or_else(PoisonError::into_inner);
        Snapshot {
            revisions: map.iter().map(|(k, v)| (k.clone(), v.snapshot())).collect(),
            unroutable: self.unroutable.load(Ordering::Relaxed),
        }
    }
}

/// Cumulative counters of every revision the router has routed to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub revisions: BTreeMap<String, RevisionSnapshot>,
    /// Requests answered 503 because no revision had a backend.
    pub unroutable: u64,
}

/// Cumulative counters of one revision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RevisionSnapshot {
    /// Completed requests (the response was sent, or the client went away).
    pub requests: u64,
    /// Of those, responses with status 500..=599 (including the router's own 502s).
    pub errors_5xx: u64,
    /// Failed connects to this revision's backends (most were retried elsewhere).
    pub connection_errors: u64,
    /// Requests in flight when the snapshot was taken (a gauge, not a counter).
    pub in_flight: u64,
    pub duration_sum_ns: u64,
    /// Counts per bucket (not cumulative); see [`bucket_bounds_seconds`]; the
    /// last one counts everything above the last bound.
    pub buckets: Vec<u64>,
}

/// One revision's figures over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RevisionStats {
    pub requests: u64,
    pub errors_5xx: u64,
    pub connection_errors: u64,
    /// Latency percentiles in milliseconds, interpolated within the bucket
    /// (19% wide); 0 when the window holds no requests.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl Snapshot {
    /// Each revision's figures between `earlier` and `self` (a revision absent
    /// from `earlier` counts from zero).
    pub fn since(&self, earlier: &Snapshot) -> BTreeMap<String, RevisionStats> {
        let zero = RevisionSnapshot::default();
        self.revisions
            .iter()
            .map(|(rev, now)| (rev.clone(), now.delta(earlier.revisions.get(rev).unwrap_or(&zero))))
            .collect()
    }
}

impl RevisionSnapshot {
    /// Figures since the router started.
    pub fn stats(&self) -> RevisionStats {
        self.delta(&RevisionSnapshot::default())
    }

    fn delta(&self, earlier: &RevisionSnapshot) -> RevisionStats {
        let buckets: Vec<u64> = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, &n)| n.saturating_sub(earlier.buckets.get(i).copied().unwrap_or(0)))
            .collect();
        RevisionStats {
            requests: self.requests.saturating_sub(earlier.requests),
            errors_5xx: self.errors_5xx.saturating_sub(earlier.errors_5xx),
            connection_errors: self.connection_errors.saturating_sub(earlier.connection_errors),
            p50_ms: percentile_ms(&buckets, 0.50),
            p95_ms: percentile_ms(&buckets, 0.95),
            p99_ms: percentile_ms(&buckets, 0.99),
        }
    }
}

fn percentile_ms(buckets: &[u64], q: f64) -> f64 {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let rank = ((q * total as f64).ceil() as u64).max(1);
    let mut seen = 0u64;
    for (i, &n) in buckets.iter().enumerate() {
        if n > 0 && seen + n >= rank {
            let upper = BOUNDS_NS.get(i).or(BOUNDS_NS.last()).copied().unwrap_or(0) as f64;
            let lower = if i == 0 { 0.0 } else { BOUNDS_NS.get(i - 1).copied().unwrap_or(0) as f64 };
            let upper = upper.max(lower);
            let fraction = (rank - seen) as f64 / n as f64;
            return (lower + (upper - lower) * fraction) / 1e6;
        }
        seen += n;
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_land_in_the_right_bucket() {
        let m = Arc::new(RevisionMetrics::new());
        for _ in 0..90 {
            m.record(Duration::from_millis(1), false);
        }
        for _ in 0..10 {
            m.record(Duration::from_millis(100), true);
        }
        let s = m.snapshot().stats();
        assert_eq!((s.requests, s.errors_5xx), (100, 10));
        // Interpolated within a bucket: at most one bucket (19%) off.
        assert!((0.84..=1.19).contains(&s.p50_ms), "{s:?}");
        assert!((84.0..=119.0).contains(&s.p95_ms), "{s:?}");
        assert!((84.0..=119.0).contains(&s.p99_ms), "{s:?}");
    }

    #[test]
    fn since_is_the_window_delta() {
        let metrics = Metrics::default();
        let a = metrics.revision("a");
        for _ in 0..50 {
            a.record(Duration::from_millis(100), false);
        }
        let earlier = metrics.snapshot();
        for _ in 0..50 {
            a.record(Duration::from_millis(2), false);
        }
        metrics.revision("b").record(Duration::from_millis(3), true);
        let window = metrics.snapshot().since(&earlier);
        assert_eq!(window["a"].requests, 50);
        assert!(window["a"].p99_ms < 2.4, "old slow requests are outside the window: {:?}", window["a"]);
        assert_eq!((window["b"].requests, window["b"].errors_5xx), (1, 1));
    }

    #[test]
    fn guard_counts_in_flight_and_abandon_records_nothing() {
        let m = Arc::new(RevisionMetrics::new());
        let g = m.start();
        assert_eq!(m.in_flight(), 1);
        g.abandon();
        assert_eq!((m.in_flight(), m.snapshot().requests), (0, 0));
        let mut g = m.start();
        g.set_status(503);
        drop(g);
        assert_eq!((m.in_flight(), m.snapshot().requests, m.snapshot().errors_5xx), (0, 1, 1));
    }
}
