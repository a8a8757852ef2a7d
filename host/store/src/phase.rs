//! Where a rollout is in its life: [`Phase`], stored by name.

use serde::{Deserialize, Serialize};

/// Where a rollout is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Admission policies are being asked.
    Admission,
    /// An admission policy or the strategy asked for an operator's approval.
    AwaitingApproval,
    /// The strategy is driving it.
    Running,
    /// An operator paused it.
    Paused,
    /// The candidate is the new stable revision.
    Completed,
    /// Traffic and replicas went back to the stable revision.
    RolledBack,
    /// An operator stopped it.
    Aborted,
    /// It could not go on (plugin error, deadline…); see `reason`.
    Failed,
}

impl Phase {
    /// All phases, in life order.
    pub const ALL: [Phase; 8] = [
        Phase::Admission,
        Phase::AwaitingApproval,
        Phase::Running,
        Phase::Paused,
        Phase::Completed,
        Phase::RolledBack,
        Phase::Aborted,
        Phase::Failed,
    ];

    /// True once the rollout has ended; a terminal rollout is never written again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Completed | Phase::RolledBack | Phase::Aborted | Phase::Failed)
    }

    /// The stored (and shown) name: `awaiting-approval`, `rolled-back`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Admission => "admission",
            Phase::AwaitingApproval => "awaiting-approval",
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Completed => "completed",
            Phase::RolledBack => "rolled-back",
            Phase::Aborted => "aborted",
            Phase::Failed => "failed",
        }
    }

    /// The phase named `s`, as written by [`Phase::as_str`].
    pub fn parse(s: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
