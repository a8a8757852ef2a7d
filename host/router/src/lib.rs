//! Hoist's front door: a weighted HTTP/1.1 reverse proxy for one service.
//!
//! The engine gives the [`Router`] a routing table (per revision: a weight and
//! its READY instances); the router splits new requests by weight, never
//! drops one in flight when the table changes, retries a request once when a
//! backend refuses the connection, and counts requests, 5xx responses,
//! connection errors and latency per revision ([`Router::snapshot`],
//! Prometheus text at [`METRICS_PATH`]).

mod metrics;
mod pool;
pub mod prometheus;
mod proxy;
mod router;
mod table;

pub use metrics::{BUCKETS, RevisionSnapshot, RevisionStats, Snapshot, bucket_bounds_seconds};
pub use proxy::METRICS_PATH;
pub use router::{Error, Router};
pub use table::{RevisionRoute, TableError};
