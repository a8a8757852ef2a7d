//! `builtin:blue-green` — a full-size preview of the candidate beside the
//! stable revision, then an atomic switch of all traffic.
//!
//! Config (JSON object, kebab-case, all keys optional):
//!
//! - `auto-promote` (default `true`): switch by itself once the preview is
//!   ready (and analysed); `false` waits for an operator `promote`.
//! - `auto-promotion-delay-ms` (default 0): with `auto-promote`, how long
//!   the ready preview is held before the switch.
//! - `pre-promotion-analysis-ms` (default 0 = none): analyse the preview
//!   this long before the switch; a failure rolls back.
//! - `post-promotion-analysis-ms` (default 0 = none): analyse the candidate
//!   this long after the switch; a failure rolls back (instantly: the old
//!   revision is still at full size).
//! - `scale-down-delay-ms` (default 30000): how long the old revision is
//!   kept at full size after the switch (and its analysis).
//! - `progress-deadline-ms` (default 600000): roll back when the preview
//!   is not fully ready this long after it was started.
//!
//! Operator commands: `abort` rolls back at any point before `complete`;
//! `promote` (or `skip-step`) finishes the current phase — the manual gate,
//! the auto-promotion delay, an analysis, or the scale-down delay — and,
//! given while the preview is still starting, approves the switch in
//! advance; `promote-full` skips every analysis and gate still ahead.
//! Traffic never moves to a candidate that is not fully ready. An
//! inconclusive analysis waits for an operator (`promote` continues).

mod config;
mod decide;

use hoist_sdk::strategy::{Context, Decision, Strategy};
use hoist_sdk::types::PluginError;

pub use config::Config;

/// The blue-green strategy.
pub struct BlueGreen;

impl Strategy for BlueGreen {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn decide(ctx: Context) -> Result<Decision, PluginError> {
        decide::decide(&ctx)
    }
}

hoist_sdk::export_strategy!(BlueGreen);
