//! What the engine remembers of a rollout between steps, stored with the
//! rollout (its `intent`) in the same transaction as each decision, so a
//! restarted engine knows what it was doing and re-applies it.

use std::collections::BTreeMap;

use hoist_store::Phase;
use serde::{Deserialize, Serialize};

use super::measure::tally::MetricRun;
use crate::runtime::bindings::strategy::exports::hoist::plugin::strategy::OperatorCommand;

/// The engine's own per-rollout state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Memory {
    /// Replicas per revision the engine is making true.
    pub replicas: BTreeMap<String, u32>,
    /// Traffic split the engine is making true (empty: untouched).
    pub weights: Vec<(String, u8)>,
    /// When to decide next.
    pub wait: Wait,
    /// An analysis in progress.
    pub analysis: Option<PendingAnalysis>,
    /// The latest finished analysis, shown to the strategy.
    pub last_analysis: Option<FinishedAnalysis>,
    /// An operator command for the strategy, delivered with the next decision.
    pub command: Option<StrategyCommand>,
    /// Consecutive faults of the strategy plugin.
    pub faults: u32,
    /// Set once the rollout is being rolled back (by the host).
    pub rollback: Option<RollbackProgress>,
    /// The strategy said `complete`; the host is finishing it.
    #[serde(default)]
    pub completing: bool,
    /// Consecutive failed `ensure` calls that may heal by themselves.
    #[serde(default)]
    pub platform_failures: Option<FailureStreak>,
    /// Steps of this rollout that failed inside the host (a panic), contained
    /// by the driver's supervision.
    #[serde(default)]
    pub host_faults: u32,
    /// An inconclusive analysis the rollout is paused on, until an operator
    /// resumes (measure again), promotes (accept it) or aborts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<HeldAnalysis>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "for")]
pub enum Wait {
    /// Decide now.
    #[default]
    Now,
    /// Decide at this time.
    Until { at_ms: u64 },
    /// Decide when the revision has `count` ready instances.
    Ready { revision: String, count: u32, since_ms: u64 },
    /// Decide when an operator says so.
    Operator { reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PendingAnalysis {
    pub name: String,
    pub started_ms: u64,
    pub until_ms: u64,
    /// Each health policy's state within this analysis.
    #[serde(default)]
    pub policy_state: BTreeMap<String, Vec<u8>>,
    /// Each analysis template's run within this analysis, by metric name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, MetricRun>,
}

impl PendingAnalysis {
    /// A new analysis `name` over `duration_ms` from `now`; its metrics are
    /// started by the engine, which knows the environment's templates.
    pub fn new(name: &str, now: u64, duration_ms: u64) -> Self {
        Self {
            name: name.to_string(),
            started_ms: now,
            until_ms: now.saturating_add(duration_ms),
            policy_state: BTreeMap::new(),
            metrics: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FinishedAnalysis {
    pub name: String,
    pub verdict: AnalysisVerdict,
    pub reason: String,
    pub at_ms: u64,
    /// How each analysis template's run ended (or stood, for a dry-run one
    /// the analysis did not wait for).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, MetricRun>,
}

/// An inconclusive analysis held for an operator, with what it takes to
/// run it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HeldAnalysis {
    pub finished: FinishedAnalysis,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RollbackProgress {
    pub reason: String,
    pub started_ms: u64,
    /// Traffic is back on the stable revision.
    pub switched: bool,
    /// What the rollout ends as: rolled back, aborted or failed.
    pub outcome: Phase,
}

/// The operator commands a strategy acts on (abort, pause and resume are
/// the host's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyCommand {
    Promote,
    PromoteFull,
    SkipStep,
}

impl StrategyCommand {
    /// The contract's form, as the strategy sees it.
    pub fn to_wit(self) -> OperatorCommand {
        match self {
            Self::Promote => OperatorCommand::Promote,
            Self::PromoteFull => OperatorCommand::PromoteFull,
            Self::SkipStep => OperatorCommand::SkipStep,
        }
    }
}

/// How a finished analysis came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnalysisVerdict {
    Pass,
    Fail,
    Inconclusive,
}

/// A run of failed platform calls with no success in between.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FailureStreak {
    pub count: u32,
    pub since_ms: u64,
    pub last: String,
}

impl Memory {
    /// The intent stored with rollout `id`; null is a rollout that has not
    /// taken a step yet. Anything else that does not parse is an error.
    pub fn from_json(id: &str, value: &serde_json::Value) -> Result<Self, super::EngineError> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value.clone()).map_err(|e| super::EngineError::Unreadable {
            what: format!("the stored intent of rollout `{id}`"),
            reason: e.to_string(),
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
