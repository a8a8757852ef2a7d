//! Run plugin logic natively, without wasm (compiled on non-wasm targets only).
//!
//! - [`logs`] / [`take_logs`]: what the plugin logged on this thread.
//! - [`set_now_ms`] / [`advance_ms`]: what [`clock::now_ms`](crate::clock::now_ms) returns.
//! - [`FakeProcesses`]: the process table behind [`process`](crate::process).
//! - [`FakeDocker`]: the containers, Swarm services and tasks behind [`docker`](crate::docker).
//! - [`set_http_handler`]: answers [`http::send`](crate::http::send).
//! - [`ContextBuilder`], [`ObservationBuilder`], [`AnalysisInputBuilder`],
//!   [`DeployRequestBuilder`],
//!   [`MetricsBuilder`]: inputs with sensible defaults.
//! - [`StrategyHarness`]: a whole rollout against a simulated platform.
//! - [`contract`]: the rules every strategy keeps, checked on such runs.
//!
//! All state is per thread, and cargo runs each test on its own thread.

mod builders;
mod capture;
pub mod contract;
mod docker;
pub(crate) mod fake_host;
mod harness;
mod http;
mod processes;
mod sim;
mod swarm;

pub use builders::{
    AnalysisInputBuilder, ContextBuilder, DeployRequestBuilder, MetricsBuilder, ObservationBuilder, instance,
    ready_instance, revision, weights,
};
pub use capture::{LogLine, advance_ms, clear_logs, logged, logs, set_now_ms, take_logs};
pub use docker::FakeDocker;
pub(crate) use docker::docker_fake;
pub use harness::{Outcome, READY_RECHECK_MS, Run, Snapshot, Step, StrategyHarness};
pub use http::set_http_handler;
pub use processes::FakeProcesses;
