//! Health probes for Hoist's rollout engine.
//!
//! - [`ProbeSpec`] (`spec.rs`): what to check — HTTP GET, TCP connect or a
//!   command — and the interval, timeout, thresholds, initial delay and
//!   healthy deadline; strict serde form, kebab-case.
//! - [`probe_once`] (`check.rs`, `http.rs`, `exec.rs`): one check, one
//!   [`ProbeResult`]. HTTP is plain HTTP/1.1 over TCP, no TLS.
//! - [`Prober`] (`prober.rs`): many targets, each probed in its own tokio
//!   task, with consecutive-success/failure thresholds (`health.rs`) and a
//!   deadline to become ready.

mod check;
pub mod duration;
mod exec;
mod health;
mod http;
mod prober;
mod spec;

pub use check::{ProbeResult, probe_once};
pub use health::TargetHealth;
pub use prober::{AddError, Prober};
pub use spec::{ProbeKind, ProbeSpec, SpecError, StatusRange};
