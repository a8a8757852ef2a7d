//! `builtin:canary` — shift traffic to the candidate in steps, analysing
//! each, then promote.
//!
//! Config (JSON object, kebab-case). Exactly one of two forms; an empty
//! config is the compact form with its defaults.
//!
//! **Explicit steps** (Argo Rollouts-like): `steps`, a list of
//! - `{"set-weight": 10}` — scale the candidate for 10 % and send it 10 %
//!   of the traffic once those instances are ready;
//! - `{"pause": {"duration-ms": 60000}}` — hold for a while (`promote` or
//!   `skip-step` ends it early); `{"pause": {}}` holds until `promote`;
//! - `{"analysis": {"duration-ms": 30000}}` — run the environment's health
//!   policies on the candidate; optional `success-threshold` (passing runs
//!   needed, default 1) and `failure-threshold` (failed runs before rolling
//!   back, default 1).
//!
//! `set-weight` values are 0..=100 and may not decrease.
//!
//! **Compact** (Flagger-like): `initial-weight` (default 10), `step-weight`
//! (default 25), `max-weight` (default 100), `step-duration-ms` (analysis
//! length per step, default 60000), `max-steps` (optional cap on the number
//! of weights), `success-threshold` (default 1), `failure-threshold`
//! (default 1). It expands to: set-weight initial → analysis → set-weight
//! initial + step → analysis … up to max-weight → promote.
//!
//! Both forms: `progress-deadline-ms` (default 600000) rolls back when the
//! candidate instances a step needs are not ready within it.
//!
//! Replicas: the candidate runs `max(1, ceil(replicas × weight / 100))`
//! instances; the stable revision stays at full size until promotion.
//! Promotion: candidate → replicas, wait until ready, 100 % to the
//! candidate, stable → 0, complete. A first deployment just scales up.
//!
//! Operator commands: `abort` rolls back; `promote` ends the current pause
//! or analysis (including one that came back inconclusive); `skip-step`
//! moves to the next step whatever the current one is; `promote-full` goes
//! straight to promotion. Weights only rise until a rollback.

mod config;
mod decide;

use hoist_sdk::strategy::{Context, Decision, Strategy};
use hoist_sdk::types::PluginError;

pub use config::{Config, PlanStep};
pub use decide::canary_replicas;

/// The canary strategy.
pub struct Canary;

impl Strategy for Canary {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn decide(ctx: Context) -> Result<Decision, PluginError> {
        decide::decide(&ctx)
    }
}

hoist_sdk::export_strategy!(Canary);
