//! `hoist:plugin/log`: plugin log lines go to the host's trace (tagged with
//! the plugin's name) and are kept, bounded, for the call's report.

use crate::runtime::bindings::base::hoist::plugin::log::{Host, Level};
use crate::runtime::host_state::HostState;

impl Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let name = match level {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
        self.push_log(name, message);
    }
}
