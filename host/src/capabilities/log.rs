//! `hoist:plugin/log`: plugin log lines go to the host's trace (tagged with
//! the plugin's name) and are kept, bounded, for the call's report.
//! Always granted.

use wasmtime::component::HasSelf;

use crate::runtime::bindings::base::hoist::plugin::log::{self as wit, Host, Level};
use crate::runtime::host_state::HostState;
use crate::runtime::kinds::Capability;

use super::{Unit, Worlds};

/// Longest log line kept; longer ones are truncated.
pub const MAX_LOG_LINE: usize = 4 * 1024;
/// Log lines kept per call; later ones are counted and dropped.
pub const MAX_LOG_LINES: usize = 256;

pub(super) const UNIT: Unit = Unit {
    capability: Capability::Log,
    worlds: Worlds::Every,
    link: |linker| wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s),
    // Its per-call state, the call's log, is every store's (`LogBook`).
    lend: |_, _, _| {},
};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// The lines one call logged, bounded.
#[derive(Default)]
pub struct LogBook {
    pub(crate) lines: Vec<LogLine>,
    pub(crate) dropped: u32,
}

impl LogBook {
    pub fn push(&mut self, level: &'static str, mut message: String) {
        if self.lines.len() >= MAX_LOG_LINES {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" …(truncated)");
        }
        self.lines.push(LogLine { level, message });
    }
}

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
        self.log.push(name, message);
    }
}
