//! What crosses the API, both ways.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerbBody {
    pub operator: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// A kept revision; default: the revision before the current one.
    #[serde(default)]
    pub to: Option<String>,
    pub operator: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatusView {
    pub service: String,
    pub environment: String,
    pub current: Option<hoist_store::Revision>,
    /// The newest rollout, active or not.
    pub rollout: Option<hoist_store::Rollout>,
    /// Instances/ready per revision and weights, as observed now.
    pub observed: serde_json::Value,
    /// Why the platform could not be observed now, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_error: Option<String>,
    /// Why the latest rollout cannot take its next step, when Hoist itself
    /// keeps failing to (its state store's disk full, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stuck: Option<String>,
    /// Replacements of exited instances while the service is at rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healing: Option<crate::engine::heal::HealState>,
    /// The latest rollout's analysis: in progress, held, or how it ended,
    /// with each analysis template's measurements so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<crate::engine::measure::AnalysisStatus>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackDeployBody {
    pub definition: hoist_stack::StackDef,
    pub environment: String,
    pub requested_by: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleBody {
    pub replicas: u32,
    pub operator: String,
    #[serde(default)]
    pub reason: String,
}
