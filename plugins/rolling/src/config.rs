//! The rolling strategy's configuration and the Kubernetes fencepost rules.

use hoist_sdk::types::PluginError;
use serde::{Deserialize, Serialize};

/// A count of instances, or a percentage of the desired replicas ("25%").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrPercent {
    Count(u32),
    Percent(String),
}

impl IntOrPercent {
    /// Resolve against `replicas`, rounding a percentage up or down.
    pub fn resolve(&self, field: &str, replicas: u32, round_up: bool) -> Result<u32, PluginError> {
        match self {
            Self::Count(n) => Ok(*n),
            Self::Percent(text) => {
                let pct: u64 = text.trim().strip_suffix('%').and_then(|p| p.trim().parse().ok()).ok_or_else(|| {
                    PluginError::InvalidConfig(format!(
                        "{field}: `{text}` is neither a count nor a percentage like \"25%\""
                    ))
                })?;
                let scaled = pct * u64::from(replicas);
                let value = if round_up { scaled.div_ceil(100) } else { scaled / 100 };
                Ok(u32::try_from(value).unwrap_or(u32::MAX))
            }
        }
    }
}

/// Config keys (all optional): `max-surge`, `max-unavailable` (count or
/// percentage, default "25%"), `min-ready-ms` (default 0),
/// `progress-deadline-ms` (default 600000).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default = "quarter")]
    pub max_surge: IntOrPercent,
    #[serde(default = "quarter")]
    pub max_unavailable: IntOrPercent,
    #[serde(default)]
    pub min_ready_ms: u64,
    #[serde(default = "ten_minutes")]
    pub progress_deadline_ms: u64,
}

fn quarter() -> IntOrPercent {
    IntOrPercent::Percent("25%".to_owned())
}

fn ten_minutes() -> u64 {
    600_000
}

impl Config {
    /// `(max surge, max unavailable)` as instance counts for `replicas`:
    /// surge rounds up, unavailable rounds down, both zero makes
    /// unavailable 1 (Kubernetes' `ResolveFenceposts`), and unavailable
    /// never exceeds `replicas`.
    pub fn fenceposts(&self, replicas: u32) -> Result<(u32, u32), PluginError> {
        let surge = self.max_surge.resolve("max-surge", replicas, true)?;
        let mut unavailable = self.max_unavailable.resolve("max-unavailable", replicas, false)?;
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        Ok((surge, unavailable.min(replicas)))
    }
}
