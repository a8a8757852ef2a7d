//! `builtin:recreate` — stop every old instance, then start the candidate.
//!
//! The service is down between the two: use it for revisions that must
//! never run side by side (schema migrations, singleton workers).
//!
//! Config (JSON object, kebab-case, all keys optional):
//!
//! - `progress-deadline-ms`: roll back when the candidate is not fully ready
//!   this long after it was started (default 600000).
//!
//! Sequence: every older revision → 0 instances; wait until none is left
//! (stopping ones included); candidate → `replicas`; wait until all are
//! ready; 100 % of traffic to the candidate; complete. A first deployment
//! (no old instances) starts at the second step. Operator commands: `abort`
//! rolls back; the others have nothing to skip and are ignored.

mod decide;

use hoist_sdk::strategy::{Context, Decision, Strategy};
use hoist_sdk::types::PluginError;

pub use decide::Config;

/// The recreate strategy.
pub struct Recreate;

impl Strategy for Recreate {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn decide(ctx: Context) -> Result<Decision, PluginError> {
        decide::decide(&ctx)
    }
}

hoist_sdk::export_strategy!(Recreate);
