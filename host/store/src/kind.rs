//! What a decision-log record is about: one closed list, stored as its
//! kebab-case name. A stored name outside the list is an error.

use serde::{Deserialize, Serialize};

use crate::Phase;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionKind {
    /// An admission policy's verdict on a deployment.
    Admit,
    /// A strategy's decision.
    Decide,
    /// A health policy's evaluation, or an analysis's combined verdict.
    Evaluate,
    /// One measurement of an analysis template's metric.
    Measure,
    /// A platform or traffic action the engine took (or failed to).
    Apply,
    /// An operator command.
    Operator,
    /// Traffic moved back to the stable revision.
    Rollback,
    /// The candidate became the stable revision.
    Complete,
    /// The rollout ended rolled back, aborted or failed (its phase).
    RolledBack,
    Aborted,
    Failed,
    /// Something went wrong inside Hoist or with the platform.
    Error,
    /// An instance of a running revision ended.
    Instance,
    /// A stack rollout's coordinator acted.
    Stack,
    /// An instance of a service at rest was replaced.
    Heal,
    /// An operator scaled a service at rest.
    Scale,
    /// A notification could not be delivered.
    Notify,
}

impl DecisionKind {
    pub const ALL: [DecisionKind; 17] = [
        Self::Admit,
        Self::Decide,
        Self::Evaluate,
        Self::Measure,
        Self::Apply,
        Self::Operator,
        Self::Rollback,
        Self::Complete,
        Self::RolledBack,
        Self::Aborted,
        Self::Failed,
        Self::Error,
        Self::Instance,
        Self::Stack,
        Self::Heal,
        Self::Scale,
        Self::Notify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admit => "admit",
            Self::Decide => "decide",
            Self::Evaluate => "evaluate",
            Self::Measure => "measure",
            Self::Apply => "apply",
            Self::Operator => "operator",
            Self::Rollback => "rollback",
            Self::Complete => "complete",
            Self::RolledBack => "rolled-back",
            Self::Aborted => "aborted",
            Self::Failed => "failed",
            Self::Error => "error",
            Self::Instance => "instance",
            Self::Stack => "stack",
            Self::Heal => "heal",
            Self::Scale => "scale",
            Self::Notify => "notify",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The record of a rollout ending in `phase`.
    pub fn ended(phase: Phase) -> Self {
        match phase {
            Phase::Aborted => Self::Aborted,
            Phase::Failed => Self::Failed,
            Phase::Completed => Self::Complete,
            _ => Self::RolledBack,
        }
    }
}

impl std::fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in DecisionKind::ALL {
            assert_eq!(DecisionKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
        assert_eq!(DecisionKind::parse("nonsense"), None);
    }
}
