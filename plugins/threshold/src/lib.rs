//! `builtin:threshold` — a health policy with fixed thresholds.
//!
//! Config (JSON object, kebab-case, all keys optional):
//!
//! - `max-error-rate`: highest tolerated fraction of requests answered 5xx
//!   or not at all (`0.05` = 5 %).
//! - `max-p95-ms`, `max-p99-ms`: highest tolerated latency percentiles.
//! - `min-availability`: lowest tolerated fraction of desired instances ready.
//! - `min-requests` (default 20): below it the request-based checks have no
//!   data and the verdict follows `no-data`.
//! - `no-data`: `"inconclusive"` (default), `"fail"` or `"pass"`.
//! - `consecutive-failures` (default 1): failing evaluations in a row before
//!   the verdict is `fail`; earlier ones are `inconclusive`. A passing
//!   evaluation resets the count, which is kept in the policy's state.

mod config;
mod evaluate;

pub use config::{Config, NoData};

use hoist_sdk::health::{AnalysisInput, Evaluation, HealthPolicy};
use hoist_sdk::types::PluginError;

/// The threshold policy.
pub struct Threshold;

impl HealthPolicy for Threshold {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn evaluate(input: AnalysisInput) -> Result<Evaluation, PluginError> {
        evaluate::evaluate(&input)
    }
}

hoist_sdk::export_health_policy!(Threshold);
