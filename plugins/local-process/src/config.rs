//! The local-process platform's configuration.

use hoist_sdk::platform::PlatformError;
use serde::Deserialize;

/// Config key: `stop-grace-ms` (default 5000).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default = "five_seconds")]
    pub stop_grace_ms: u32,
}

fn five_seconds() -> u32 {
    5_000
}

impl Config {
    /// Parse the platform's config JSON (empty = defaults).
    pub fn parse(json: &str) -> Result<Self, PlatformError> {
        hoist_sdk::config::parse(json).map_err(PlatformError::Plugin)
    }
}
