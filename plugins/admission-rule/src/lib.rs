//! `builtin:admission-rule` — deny deployments by requester, labels or
//! change-freeze window.
//!
//! Config (JSON object, kebab-case, all keys optional):
//!
//! - `freeze-windows`: list of `{"from-ms", "to-ms", "reason"}` (UTC epoch
//!   milliseconds, `from-ms` inclusive, `to-ms` exclusive): deny inside.
//! - `deny-requesters`: list of requesters (`requested-by`) always denied.
//! - `allow-requesters`: when given, only these requesters are admitted.
//! - `deny-labels`: map of label → value; a request whose labels match all
//!   of them is denied (an empty map never matches).
//! - `reason`: text put in front of every deny reason (e.g. "see
//!   go/deploy-policy").
//!
//! Rules are checked in the order above; the first that matches denies,
//! and its reason says which rule it was. Otherwise: allow.

use std::collections::BTreeMap;

use hoist_sdk::admission::{AdmissionPolicy, AdmissionVerdict, DeployRequest};
use hoist_sdk::types::PluginError;
use serde::Deserialize;

/// See the crate documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub deny_requesters: Vec<String>,
    pub allow_requesters: Option<Vec<String>>,
    #[serde(default)]
    pub deny_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub freeze_windows: Vec<FreezeWindow>,
    pub reason: Option<String>,
}

/// A span of time in which nothing is deployed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FreezeWindow {
    pub from_ms: u64,
    pub to_ms: u64,
    #[serde(default)]
    pub reason: String,
}

/// The admission-rule policy.
pub struct AdmissionRule;

impl AdmissionPolicy for AdmissionRule {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn admit(request: DeployRequest) -> Result<AdmissionVerdict, PluginError> {
        let config: Config = hoist_sdk::config::parse(&request.config)?;
        for (i, w) in config.freeze_windows.iter().enumerate() {
            if w.from_ms >= w.to_ms {
                return Err(PluginError::InvalidConfig(format!(
                    "`freeze-windows[{i}]`: `from-ms` ({}) must be before `to-ms` ({})",
                    w.from_ms, w.to_ms
                )));
            }
        }
        Ok(match rule_matched(&config, &request) {
            Some(why) => AdmissionVerdict::Deny(match &config.reason {
                Some(prefix) if !prefix.is_empty() => format!("{prefix}: {why}"),
                _ => why,
            }),
            None => AdmissionVerdict::Allow,
        })
    }
}

/// Why the first matching rule denies `request`, if one does.
fn rule_matched(config: &Config, request: &DeployRequest) -> Option<String> {
    let now = request.now_ms;
    if let Some(w) = config.freeze_windows.iter().find(|w| w.from_ms <= now && now < w.to_ms) {
        let why = if w.reason.is_empty() { String::new() } else { format!(" ({})", w.reason) };
        return Some(format!(
            "change freeze{why}: deployments are frozen from {} to {} (epoch ms)",
            w.from_ms, w.to_ms
        ));
    }
    let who = request.requested_by.as_str();
    if config.deny_requesters.iter().any(|r| r == who) {
        return Some(format!("requester `{who}` is listed in deny-requesters"));
    }
    if let Some(allowed) = &config.allow_requesters
        && !allowed.iter().any(|r| r == who)
    {
        return Some(format!("requester `{who}` is not listed in allow-requesters"));
    }
    if !config.deny_labels.is_empty()
        && config.deny_labels.iter().all(|(k, v)| request.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    {
        let labels: Vec<String> = config.deny_labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        return Some(format!("labels {} match deny-labels", labels.join(", ")));
    }
    None
}

hoist_sdk::export_admission_policy!(AdmissionRule);
