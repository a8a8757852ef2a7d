//! The threshold policy's configuration.

use hoist_sdk::types::PluginError;
use serde::Deserialize;

/// What to answer when there are fewer than `min-requests` requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoData {
    #[default]
    Inconclusive,
    Fail,
    Pass,
}

/// Config keys: `max-error-rate` (fraction 0..=1 of requests that are 5xx
/// or connection errors), `max-p95-ms`, `max-p99-ms`, `min-availability`
/// (fraction 0..=1 of desired instances ready), `min-requests` (default
/// 20), `consecutive-failures` (default 1), `no-data` ("inconclusive",
/// "fail" or "pass"; default "inconclusive"). Unset thresholds are not checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub max_error_rate: Option<f64>,
    #[serde(default)]
    pub max_p95_ms: Option<f64>,
    #[serde(default)]
    pub max_p99_ms: Option<f64>,
    #[serde(default)]
    pub min_availability: Option<f64>,
    #[serde(default = "twenty")]
    pub min_requests: u64,
    #[serde(default = "one")]
    pub consecutive_failures: u32,
    #[serde(default)]
    pub no_data: NoData,
}

fn twenty() -> u64 {
    20
}

fn one() -> u32 {
    1
}

impl Config {
    /// Parse and check ranges.
    pub fn parse(json: &str) -> Result<Self, PluginError> {
        let config: Self = hoist_sdk::config::parse(json)?;
        fraction("max-error-rate", config.max_error_rate)?;
        fraction("min-availability", config.min_availability)?;
        non_negative("max-p95-ms", config.max_p95_ms)?;
        non_negative("max-p99-ms", config.max_p99_ms)?;
        if config.consecutive_failures == 0 {
            return Err(PluginError::InvalidConfig("consecutive-failures must be at least 1".to_owned()));
        }
        Ok(config)
    }
}

fn fraction(field: &str, value: Option<f64>) -> Result<(), PluginError> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) => {
            Err(PluginError::InvalidConfig(format!("{field} is a fraction between 0 and 1 (0.05 = 5%), got {v}")))
        }
        _ => Ok(()),
    }
}

fn non_negative(field: &str, value: Option<f64>) -> Result<(), PluginError> {
    match value {
        Some(v) if v.is_nan() || v < 0.0 => {
            Err(PluginError::InvalidConfig(format!("{field} must be a non-negative number of milliseconds, got {v}")))
        }
        _ => Ok(()),
    }
}
