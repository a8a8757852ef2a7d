//! Local processes, for platform plugins granted `capabilities = ["process"]`.
//!
//! In a component these call the `hoist:plugin/process` import (and the
//! component then imports it); natively they act on the per-thread
//! [`testing::FakeProcesses`](crate::testing::FakeProcesses) table.

pub use crate::bindings::platform::hoist::plugin::process::{ProcessError, ProcessInfo, ProcessState, SpawnRequest};

/// Start a process; the host owns it and it outlives the call.
pub fn spawn(request: &SpawnRequest) -> Result<ProcessInfo, ProcessError> {
    imp::spawn(request)
}

/// SIGTERM, then SIGKILL after `grace_ms`. Stopping a stopped process is fine.
pub fn stop(id: &str, grace_ms: u32) -> Result<(), ProcessError> {
    imp::stop(id, grace_ms)
}

/// Processes whose labels include every given pair.
pub fn find(selector: &[(String, String)]) -> Vec<ProcessInfo> {
    imp::find(selector)
}

#[cfg(target_family = "wasm")]
use crate::bindings::platform::hoist::plugin::process as imp;
#[cfg(not(target_family = "wasm"))]
use crate::testing::fake_host as imp;

/// A one-line description of `error` for messages.
pub fn describe(error: &ProcessError) -> String {
    match error {
        ProcessError::NotFound(s) => format!("program not found: {s}"),
        ProcessError::NoSuchProcess(s) => format!("no such process: {s}"),
        ProcessError::Limit(s) => format!("host limit reached: {s}"),
        ProcessError::Other(s) => s.clone(),
    }
}

/// The name of Linux signal `signal` (`SIGKILL` for 9).
pub fn signal_name(signal: i32) -> Option<&'static str> {
    // The host names signals with the same table (`host/src/exits.rs`);
    // `tests/tests/exit_words.rs` holds the two alike.
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(signal).ok().and_then(|n| n.checked_sub(1)).and_then(|i| NAMES.get(i)).copied()
}

/// How a process a signal ended reads (`ProcessState::Signaled`): `killed
/// by SIGKILL`, or `killed by signal N` for a signal without a name.
pub fn killed_by(signal: i32) -> String {
    match signal_name(signal) {
        Some(name) => format!("killed by {name}"),
        None => format!("killed by signal {signal}"),
    }
}
