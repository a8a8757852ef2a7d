//! # hoist-sdk
//!
//! Everything a Hoist plugin author needs: the contract types
//! (`hoist:plugin@0.1.0`), one trait and one export macro per world, the
//! host capabilities (`log`, `clock`, `process`), config and state helpers,
//! and — on native targets — a [`testing`] module that runs plugin logic
//! without wasm.
//!
//! | world | trait | macro |
//! |---|---|---|
//! | `strategy-plugin` | [`strategy::Strategy`] | [`export_strategy!`] |
//! | `health-policy-plugin` | [`health::HealthPolicy`] | [`export_health_policy!`] |
//! | `admission-policy-plugin` | [`admission::AdmissionPolicy`] | [`export_admission_policy!`] |
//! | `platform-plugin` | [`platform::Platform`] | [`export_platform!`] |
//! | `metrics-provider-plugin` | [`metrics::MetricsProvider`] | [`export_metrics_provider!`] |
//!
//! The WIT files in `wit/` document every type; the Rust names are the WIT
//! names in `UpperCamelCase` / `snake_case`.
//!
//! ## A complete strategy plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "all-at-once"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib", "rlib"] # cdylib: the component; rlib: native tests
//!
//! [dependencies]
//! hoist-sdk = { path = "../../sdk" }
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! use hoist_sdk::prelude::*;
//! use serde::Deserialize;
//!
//! /// Config: `pause-ms` (default 0), how long to hold before switching traffic.
//! #[derive(Deserialize, Default)]
//! #[serde(rename_all = "kebab-case", deny_unknown_fields)]
//! struct Config {
//!     #[serde(default)]
//!     pause_ms: u64,
//! }
//!
//! /// Start every candidate instance, switch all traffic, retire the stable.
//! pub struct AllAtOnce;
//!
//! impl Strategy for AllAtOnce {
//!     fn decide(ctx: Context) -> Result<Decision, PluginError> {
//!         let config: Config = hoist_sdk::config::parse(&ctx.config)?;
//!         let candidate = ctx.candidate.id.clone();
//!         if ctx.observed.command == Some(OperatorCommand::Abort) {
//!             return Ok(decision(vec![Action::Rollback("aborted by operator".into())], "aborted"));
//!         }
//!         let ready = ctx
//!             .observed
//!             .instances
//!             .iter()
//!             .filter(|i| i.revision == candidate && i.state == InstanceState::Ready)
//!             .count() as u32;
//!         if ready < ctx.replicas {
//!             hoist_sdk::log::info(&format!("{candidate}: {ready}/{} ready", ctx.replicas));
//!             let actions = vec![
//!                 Action::Scale(ScaleTo { revision: candidate.clone(), replicas: ctx.replicas }),
//!                 Action::Wait(WaitFor::Ready(ReadyTarget { revision: candidate.clone(), count: ctx.replicas })),
//!             ];
//!             return Ok(decision(actions, &format!("{candidate} {ready}/{} ready", ctx.replicas)));
//!         }
//!         let mut actions = vec![Action::SetWeights(vec![Weight { revision: candidate.clone(), percent: 100 }])];
//!         if let Some(stable) = &ctx.stable {
//!             actions.push(Action::Scale(ScaleTo { revision: stable.id.clone(), replicas: 0 }));
//!         }
//!         if config.pause_ms > 0 && ctx.now_ms < ctx.started_at_ms + config.pause_ms {
//!             actions.push(Action::Wait(WaitFor::Duration(config.pause_ms)));
//!         } else {
//!             actions.push(Action::Complete);
//!         }
//!         Ok(decision(actions, &format!("{candidate} serving")))
//!     }
//! }
//!
//! fn decision(actions: Vec<Action>, status: &str) -> Decision {
//!     Decision { state: Vec::new(), actions, status: status.to_owned() }
//! }
//!
//! hoist_sdk::export_strategy!(AllAtOnce);
//!
//! // A native test (put it in `#[cfg(test)] mod tests`):
//! # fn main() {
//! use hoist_sdk::testing::{Outcome, StrategyHarness};
//! let run = StrategyHarness::new(3).ready_after_ms(2_000).run::<AllAtOnce>();
//! assert_eq!(run.outcome, Outcome::Complete);
//! let last = run.last().map(|s| s.applied.clone()).unwrap_or_default();
//! assert_eq!(last.replicas_of("r2"), 3);
//! assert_eq!(last.replicas_of("r1"), 0);
//! # }
//! ```
//!
//! Build the component (from the plugins workspace):
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2
//! # -> target/wasm32-wasip2/release/all_at_once.wasm
//! wasm-tools component wit target/wasm32-wasip2/release/all_at_once.wasm  # check its imports
//! ```
//!
//! Test it natively, no wasm involved: `cargo test`.
//!
//! ## How it works
//!
//! The export macros expand to the wit-bindgen export glue on
//! `target_family = "wasm"` and to a trait check elsewhere. The capability
//! functions ([`log`], [`clock`], [`process`]) call the component's imports
//! in wasm and the [`testing`] fakes natively. A component imports only the
//! capabilities it calls: a strategy that never calls [`process::spawn`]
//! does not import `hoist:plugin/process`.

extern crate self as hoist_sdk;

#[doc(hidden)]
pub mod bindings;

pub mod admission;
pub mod clock;
pub mod config;
pub mod docker;
pub mod health;
pub mod http;
pub mod log;
pub mod metrics;
pub mod platform;
pub mod process;
pub mod state;
pub mod strategy;
pub mod types;

#[cfg(not(target_family = "wasm"))]
pub mod testing;

/// The names most plugins use.
pub mod prelude {
    pub use crate::admission::{AdmissionPolicy, AdmissionVerdict, DeployRequest};
    pub use crate::health::{AnalysisInput, Evaluation, HealthPolicy, RevisionMetrics};
    pub use crate::metrics::{MetricError, MetricQuery, MetricsProvider, Sample, SampleValue, Series};
    pub use crate::platform::{Platform, PlatformError, RevisionSpec};
    pub use crate::strategy::{
        Action, AnalysisRequest, AnalysisResult, Context, Decision, Observation, OperatorCommand, ReadyTarget, ScaleTo,
        Strategy, WaitFor,
    };
    pub use crate::types::{Instance, InstanceState, PluginError, Revision, Verdict, Weight};
}
