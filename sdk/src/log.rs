//! Structured logging into the host's trace and the rollout's audit trail.
//!
//! In a component these call the `hoist:plugin/log` import; natively they
//! are captured per thread for [`testing::logs`](crate::testing::logs).

pub use crate::bindings::base::hoist::plugin::log::Level;

/// Log `message` at `level`.
pub fn log(level: Level, message: &str) {
    imp::log(level, message);
}

#[cfg(target_family = "wasm")]
use crate::bindings::base::hoist::plugin::log as imp;
#[cfg(not(target_family = "wasm"))]
use crate::testing::fake_host as imp;

/// Log at trace level.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Log at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Log at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Log at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Log at error level.
pub fn error(message: &str) {
    log(Level::Error, message);
}
