//! The routing table: which revisions take new requests, in what shares, on
//! which backends. A table is immutable once built; the router swaps whole
//! tables, so a request sees exactly one table.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::metrics::{Metrics, RevisionMetrics};

/// One revision's entry in a routing table: its share of new requests and the
/// addresses of its READY instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRoute {
    /// The revision id, as the engine names it (`r2`).
    pub revision: String,
    /// Share of new requests, 0..=100; the weights of a table sum to 100.
    pub weight: u8,
    /// The revision's READY instances.
    pub backends: Vec<SocketAddr>,
}

/// Why a routing table was refused. The current table stays in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("revision `{revision}` has weight {weight}; weights are 0..=100")]
    WeightOutOfRange { revision: String, weight: u8 },
    #[error("the weights of the table sum to {sum}; they must sum to 100 (or the table must be empty)")]
    WeightSum { sum: u32 },
    #[error("revision `{revision}` appears twice in the table; give each revision one entry")]
    DuplicateRevision { revision: String },
    #[error("a revision in the table has an empty id; name every revision")]
    EmptyRevision,
}

/// A revision as the proxy sees it: the route plus its live counters.
pub(crate) struct Route {
    pub(crate) revision: String,
    pub(crate) weight: u8,
    pub(crate) backends: Vec<SocketAddr>,
    pub(crate) metrics: Arc<RevisionMetrics>,
    next_backend: AtomicUsize,
}

/// Where one attempt of a request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pick {
    pub(crate) route: usize,
    pub(crate) backend: SocketAddr,
}

pub(crate) struct Table {
    routes: Vec<Route>,
    /// Route indices in smooth weighted round-robin order; one full cycle has
    /// as many slots as the effective weights sum to, so shares are exact over
    /// every cycle.
    schedule: Vec<usize>,
    next: AtomicUsize,
}

impl Table {
    pub(crate) fn empty() -> Table {
        Table { routes: Vec::new(), schedule: Vec::new(), next: AtomicUsize::new(0) }
    }

    pub(crate) fn build(routes: Vec<RevisionRoute>, metrics: &Metrics) -> Result<Table, TableError> {
        let mut seen = HashSet::new();
        let mut sum = 0u32;
        for r in &routes {
            if r.revision.is_empty() {
                return Err(TableError::EmptyRevision);
            }
            if r.weight > 100 {
                return Err(TableError::WeightOutOfRange { revision: r.revision.clone(), weight: r.weight });
            }
            if !seen.insert(r.revision.as_str()) {
                return Err(TableError::DuplicateRevision { revision: r.revision.clone() });
            }
            sum += u32::from(r.weight);
        }
        if !routes.is_empty() && sum != 100 {
            return Err(TableError::WeightSum { sum });
        }
        let routes: Vec<Route> = routes
            .into_iter()
            .map(|r| Route {
                metrics: metrics.revision(&r.revision),
                revision: r.revision,
                weight: r.weight,
                backends: r.backends,
                next_backend: AtomicUsize::new(0),
            })
            .collect();
        // A revision with weight but no backends gives its share to the
        // others, in proportion to their weights.
        let effective: Vec<u32> =
            routes.iter().map(|r| if r.backends.is_empty() { 0 } else { u32::from(r.weight) }).collect();
        let schedule = smooth_weighted_order(&effective);
        Ok(Table { routes, schedule, next: AtomicUsize::new(0) })
    }

    pub(crate) fn route(&self, index: usize) -> &Route {
        &self.routes[index]
    }

    /// Whether new requests can go to `revision` under this table.
    pub(crate) fn routable(&self, revision: &str) -> bool {
        self.routes.iter().enumerate().any(|(i, r)| r.revision == revision && self.schedule.contains(&i))
    }

    pub(crate) fn backends(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.routes.iter().flat_map(|r| r.backends.iter().copied())
    }

    /// The next revision by weight, then its next backend round-robin.
    /// `None` when no revision with weight has a backend.
    pub(crate) fn pick(&self) -> Option<Pick> {
        if self.schedule.is_empty() {
            return None;
        }
        let slot = self.next.fetch_add(1, Ordering::Relaxed) % self.schedule.len();
        let route = self.schedule[slot];
        let r = &self.routes[route];
        let b = r.next_backend.fetch_add(1, Ordering::Relaxed) % r.backends.len();
        Some(Pick { route, backend: r.backends[b] })
    }

    /// A pick for a retry: any backend other than `failed` of a revision that
    /// takes new requests, by weight first.
    pub(crate) fn pick_other(&self, failed: SocketAddr) -> Option<Pick> {
        if let Some(p) = self.pick()
            && p.backend != failed
        {
            return Some(p);
        }
        let mut ordered: Vec<usize> = (0..self.routes.len()).filter(|i| self.schedule.contains(i)).collect();
        ordered.sort_by_key(|&i| std::cmp::Reverse(self.routes[i].weight));
        for route in ordered {
            let r = &self.routes[route];
            let start = r.next_backend.fetch_add(1, Ordering::Relaxed);
            let n = r.backends.len();
            if let Some(backend) = (0..n).map(|k| r.backends[(start + k) % n]).find(|&b| b != failed) {
                return Some(Pick { route, backend });
            }
        }
        None
    }
}

/// Nginx's smooth weighted round-robin, unrolled into one cycle of
/// `sum(weights)` slots: each index appears exactly `weights[i]` times, spread
/// evenly.
fn smooth_weighted_order(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut order = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        let mut best: Option<usize> = None;
        for (i, &w) in weights.iter().enumerate() {
            current[i] += i64::from(w);
            if w > 0 && best.is_none_or(|b| current[i] > current[b]) {
                best = Some(i);
            }
        }
        if let Some(b) = best {
            current[b] -= total;
            order.push(b);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn route(revision: &str, weight: u8, ports: &[u16]) -> RevisionRoute {
        RevisionRoute { revision: revision.into(), weight, backends: ports.iter().map(|&p| addr(p)).collect() }
    }

    #[test]
    fn smooth_order_is_exact_and_interleaved() {
        let order = smooth_weighted_order(&[90, 10]);
        assert_eq!(order.len(), 100);
        assert_eq!(order.iter().filter(|&&i| i == 1).count(), 10);
        // The minority revision is spread out, not bunched at the end.
        let first = order.iter().position(|&i| i == 1);
        assert!(first.is_some_and(|p| p < 10), "{order:?}");
    }

    #[test]
    fn weightless_and_backendless_revisions_get_nothing() {
        let m = Metrics::default();
        let t = Table::build(
            vec![route("a", 60, &[]), route("b", 30, &[1]), route("c", 10, &[2]), route("d", 0, &[3])],
            &m,
        )
        .unwrap();
        let mut counts = [0; 4];
        for _ in 0..400 {
            counts[t.pick().unwrap().route] += 1;
        }
        assert_eq!(counts, [0, 300, 100, 0]);
        assert!(!t.routable("a") && t.routable("b") && !t.routable("d"));
    }

    #[test]
    fn backends_round_robin_within_a_revision() {
        let m = Metrics::default();
        let t = Table::build(vec![route("a", 100, &[1, 2, 3])], &m).unwrap();
        let ports: Vec<u16> = (0..6).map(|_| t.pick().unwrap().backend.port()).collect();
        assert_eq!(ports, [1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn pick_other_avoids_the_failed_backend() {
        let m = Metrics::default();
        let t = Table::build(vec![route("a", 100, &[1]), route("b", 0, &[2])], &m).unwrap();
        assert_eq!(t.pick_other(addr(1)), None, "weight-0 revisions take no retries");
        let t = Table::build(vec![route("a", 50, &[1]), route("b", 50, &[2])], &m).unwrap();
        for _ in 0..10 {
            assert_eq!(t.pick_other(addr(1)).unwrap().backend, addr(2));
        }
    }

    #[test]
    fn invalid_tables_are_refused() {
        let m = Metrics::default();
        let err = |routes| Table::build(routes, &m).err().unwrap();
        assert_eq!(err(vec![route("a", 50, &[1])]), TableError::WeightSum { sum: 50 });
        assert_eq!(
            err(vec![route("a", 101, &[1])]),
            TableError::WeightOutOfRange { revision: "a".into(), weight: 101 }
        );
        assert_eq!(
            err(vec![route("a", 50, &[1]), route("a", 50, &[1])]),
            TableError::DuplicateRevision { revision: "a".into() }
        );
        assert!(Table::build(vec![], &m).is_ok());
    }
}
