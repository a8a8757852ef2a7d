//! `builtin:approval-gate` — hold matching deployments for an operator's
//! approval.
//!
//! Config (JSON object, kebab-case, all keys optional):
//!
//! - `when-labels`: map of label → value; the gate applies when the
//!   request's labels match all of them (default: empty, always applies).
//! - `reason`: what the operator is shown (default "manual approval
//!   required").
//!
//! Verdict: `require-approval(reason)` when the gate applies, else `allow`.

use std::collections::BTreeMap;

use hoist_sdk::admission::{AdmissionPolicy, AdmissionVerdict, DeployRequest};
use hoist_sdk::types::PluginError;
use serde::Deserialize;

/// See the crate documentation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub when_labels: BTreeMap<String, String>,
    #[serde(default = "default_reason")]
    pub reason: String,
}

fn default_reason() -> String {
    "manual approval required".to_owned()
}

/// The approval-gate policy.
pub struct ApprovalGate;

impl AdmissionPolicy for ApprovalGate {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn admit(request: DeployRequest) -> Result<AdmissionVerdict, PluginError> {
        let config: Config = hoist_sdk::config::parse(&request.config)?;
        let applies = config.when_labels.iter().all(|(k, v)| request.labels.iter().any(|(lk, lv)| lk == k && lv == v));
        Ok(if applies { AdmissionVerdict::RequireApproval(config.reason) } else { AdmissionVerdict::Allow })
    }
}

hoist_sdk::export_admission_policy!(ApprovalGate);
