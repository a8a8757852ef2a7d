//! `builtin:rolling` — a rolling update with Kubernetes Deployment semantics.
//!
//! Config (JSON object, kebab-case, all keys optional):
//!
//! - `max-surge`: instances above `replicas` allowed during the update; a
//!   count (`2`) or a percentage of `replicas` rounded up (`"25%"`, default).
//! - `max-unavailable`: instances below `replicas` that may be unavailable;
//!   a count or a percentage rounded down (default `"25%"`). When both
//!   resolve to 0, unavailable becomes 1.
//! - `min-ready-ms`: how long an instance must be ready to count as
//!   available (default 0).
//! - `progress-deadline-ms`: roll back when the candidate's available count
//!   has not grown for this long (default 600000).
//!
//! Every decision is computed from the observed instances, like the
//! Deployment controller: the candidate scales up while the total stays
//! within `replicas + surge`, older revisions scale down while the available
//! count stays at least `replicas - unavailable`. Traffic follows ready
//! instances. Operator commands: `abort` rolls back, `promote-full` jumps to
//! the full candidate size (ignoring surge) and retires the old revisions.

mod config;
mod decide;
mod observed;
mod weights;

pub use config::{Config, IntOrPercent};

use hoist_sdk::strategy::{Context, Decision, Strategy};
use hoist_sdk::types::PluginError;

/// The rolling strategy.
pub struct Rolling;

impl Strategy for Rolling {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn decide(ctx: Context) -> Result<Decision, PluginError> {
        decide::decide(&ctx)
    }
}

hoist_sdk::export_strategy!(Rolling);
