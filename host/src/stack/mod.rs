//! Stack rollouts: the services of a stack updated in dependency order, each
//! by its own strategy through the engine; when one fails, the services this
//! stack rollout already updated are rolled back in reverse order.
//!
//! The coordinator's whole state is one JSON document in the store, saved
//! after every change, so a restarted control plane resumes a stack rollout
//! where it stood (the services' own rollouts resume in the engine).

mod job;
mod plan;
mod tick;

use std::collections::BTreeMap;

use hoist_stack::StackDef;
use hoist_store::StackRolloutRow;
use serde::{Deserialize, Serialize};

pub use plan::{StackError, deploy, rollback, teardown};
pub use tick::tick;

/// The stack rollout's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackPhase {
    /// Services are being updated in dependency order.
    Running,
    /// A service failed; the updated ones are being rolled back in reverse order.
    RollingBack,
    Completed,
    /// Every updated service is back on its previous revision.
    RolledBack,
    /// A rollback of a service failed too; see `reason` and each service.
    Failed,
}

impl StackPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            StackPhase::Running => "running",
            StackPhase::RollingBack => "rolling-back",
            StackPhase::Completed => "completed",
            StackPhase::RolledBack => "rolled-back",
            StackPhase::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, StackPhase::Completed | StackPhase::RolledBack | StackPhase::Failed)
    }
}

/// Where one service stands in the stack rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceState {
    /// Waiting for its dependencies' conditions.
    Pending,
    /// Same version and spec as what runs: left alone (counts as healthy).
    Unchanged,
    /// Its rollout is running.
    Deploying,
    /// Its rollout completed in this stack rollout.
    Updated,
    /// Its rollout ended without completing.
    Failed,
    /// Never started: the stack rollout failed first.
    Skipped,
    /// Its in-flight rollout was aborted because another service failed.
    Aborting,
    /// Being rolled back to its previous revision.
    Reverting,
    /// Back on its previous revision (or its rollout aborted before completing).
    Reverted,
    /// New in this stack rollout and removed again by its rollback.
    Removed,
    /// Its rollback failed; it needs an operator.
    RevertFailed,
}

/// One service of a stack rollout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceRun {
    pub state: ServiceState,
    pub version: String,
    /// The revision that was current before this stack rollout (what a
    /// rollback returns to); `None` if the service is new.
    pub previous: Option<String>,
    /// The service's rollout in this stack rollout.
    pub rollout: Option<String>,
    /// The revision it deployed (the rollout's candidate).
    pub candidate: Option<String>,
    /// The rollback's rollout, when it is rolled back.
    pub revert: Option<String>,
    pub started_at_ms: Option<u64>,
    /// When it met `healthy` (its rollout completed, or unchanged).
    pub ready_at_ms: Option<u64>,
    #[serde(default)]
    pub message: String,
}

impl ServiceRun {
    /// A service as a stack rollout plans it, before anything ran.
    pub fn planned(state: ServiceState, version: String, previous: Option<String>, candidate: Option<String>) -> Self {
        Self {
            state,
            version,
            previous,
            rollout: None,
            candidate,
            revert: None,
            started_at_ms: None,
            ready_at_ms: None,
            message: String::new(),
        }
    }
}

/// What a stack rollout does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackKind {
    Deploy,
    /// Rolls back what the stack rollout `of` updated.
    Rollback {
        of: String,
    },
    /// Removes every service of the stack, dependents first.
    Teardown,
}

/// A stack rollout: its definition and where each service stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StackRollout {
    pub id: String,
    pub stack: String,
    pub environment: String,
    pub kind: StackKind,
    pub phase: StackPhase,
    pub definition: StackDef,
    /// Dependencies before dependents.
    pub order: Vec<String>,
    pub services: BTreeMap<String, ServiceRun>,
    pub requested_by: String,
    pub reason: String,
    /// Why it failed or was rolled back.
    #[serde(default)]
    pub outcome: Option<String>,
    pub started_at_ms: u64,
    pub updated_at_ms: u64,
}

impl StackRollout {
    pub fn from_row(row: &StackRolloutRow) -> Result<Self, String> {
        serde_json::from_value(row.document.clone())
            .map_err(|e| format!("stack rollout `{}` in the store cannot be read: {e}", row.id))
    }

    pub fn to_row(&self) -> StackRolloutRow {
        StackRolloutRow {
            id: self.id.clone(),
            stack: self.stack.clone(),
            environment: self.environment.clone(),
            phase: self.phase.as_str().into(),
            active: !self.phase.is_terminal(),
            document: serde_json::to_value(self).unwrap_or_default(),
            started_at_ms: self.started_at_ms,
            updated_at_ms: self.updated_at_ms,
        }
    }
}
