//! The swarm platform's configuration.

use hoist_sdk::platform::PlatformError;
use serde::Deserialize;

/// Config keys: `network` (default `hoist-swarm`), `stop-timeout-secs`
/// (default 10).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// The network every service is attached to and the router reaches
    /// tasks on; created as a swarm-scoped bridge when missing.
    #[serde(default = "default_network")]
    pub network: String,
    /// SIGTERM to SIGKILL when a task stops.
    #[serde(default = "ten_seconds")]
    pub stop_timeout_secs: u32,
}

pub const DEFAULT_NETWORK: &str = "hoist-swarm";

fn default_network() -> String {
    DEFAULT_NETWORK.to_owned()
}

fn ten_seconds() -> u32 {
    10
}

impl Config {
    /// Parse the platform's config JSON (empty = defaults).
    pub fn parse(json: &str) -> Result<Self, PlatformError> {
        let config: Self = hoist_sdk::config::parse(json).map_err(PlatformError::Plugin)?;
        if config.network.is_empty() {
            return Err(PlatformError::Plugin(hoist_sdk::types::PluginError::InvalidConfig(
                "`network` is empty; name a swarm network or leave it out for `hoist-swarm`".to_owned(),
            )));
        }
        Ok(config)
    }
}
