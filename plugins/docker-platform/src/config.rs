//! The docker platform's configuration.

use hoist_sdk::platform::PlatformError;
use serde::Deserialize;

/// Config keys: `stop-timeout-secs` (default 10), `network` (optional).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default = "ten_seconds")]
    pub stop_timeout_secs: u32,
    #[serde(default)]
    pub network: Option<String>,
}

fn ten_seconds() -> u32 {
    10
}

impl Config {
    /// Parse the platform's config JSON (empty = defaults).
    pub fn parse(json: &str) -> Result<Self, PlatformError> {
        hoist_sdk::config::parse(json).map_err(PlatformError::Plugin)
    }
}
