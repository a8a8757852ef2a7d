//! The blue-green strategy's configuration.

use serde::Deserialize;

/// See the crate documentation for the meaning of each key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default = "yes")]
    pub auto_promote: bool,
    #[serde(default)]
    pub auto_promotion_delay_ms: u64,
    #[serde(default)]
    pub pre_promotion_analysis_ms: u64,
    #[serde(default)]
    pub post_promotion_analysis_ms: u64,
    #[serde(default = "thirty_seconds")]
    pub scale_down_delay_ms: u64,
    #[serde(default = "ten_minutes")]
    pub progress_deadline_ms: u64,
}

fn yes() -> bool {
    true
}

fn thirty_seconds() -> u64 {
    30_000
}

fn ten_minutes() -> u64 {
    600_000
}
