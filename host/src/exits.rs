//! How an instance ended, in the words every platform uses for an exited
//! instance (`InstanceState::Exited`): `exit code N` for a process that
//! exited by itself, `killed by SIGNAME` for one a signal ended, and for a
//! container `exit code N (why)` when the engine knows why — the memory
//! limit (`OOM-killed`) or a signal (`128 + N`). The text always starts
//! with `exit code N` when there is a code, which jobs and restart
//! policies read back with [`exit_code`].
//!
//! The `local-process` plugin names signals with the SDK's copy of the
//! table (`hoist_sdk::process::killed_by`; a wasm guest cannot call this
//! one); `tests/tests/exit_words.rs` holds the two alike.

/// The name of Linux signal `signal` (`SIGKILL` for 9).
pub fn signal_name(signal: i32) -> Option<&'static str> {
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

/// `killed by SIGKILL`, or `killed by signal N` for a signal without a name.
pub fn killed_by(signal: i32) -> String {
    match signal_name(signal) {
        Some(name) => format!("killed by {name}"),
        None => format!("killed by signal {signal}"),
    }
}

/// How a container that exited with `code` ended; `oom_killed` when the
/// engine says the kernel killed it at its memory limit. A shell (and the
/// engine) reports a process a signal ended as `128 + N`.
pub fn container_exit(code: i64, oom_killed: bool) -> String {
    if oom_killed {
        return format!("exit code {code} (OOM-killed: memory limit reached)");
    }
    match code {
        129..=159 => format!("exit code {code} ({})", killed_by(i32::try_from(code - 128).unwrap_or_default())),
        _ => format!("exit code {code}"),
    }
}

/// The exit code in `how` (`exit code 137 (killed by SIGKILL)` → 137);
/// `None` for an end without one (`killed by SIGTERM`, `gone from the platform`).
pub fn exit_code(how: &str) -> Option<i64> {
    how.strip_prefix("exit code ")?.split(' ').next()?.parse().ok()
}

/// Whether `how` says the instance exited by itself with code 0.
pub fn succeeded(how: &str) -> bool {
    exit_code(how) == Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oom_kill_a_signal_and_an_exit_read_apart() {
        assert_eq!(container_exit(137, true), "exit code 137 (OOM-killed: memory limit reached)");
        assert_eq!(container_exit(137, false), "exit code 137 (killed by SIGKILL)");
        assert_eq!(container_exit(143, false), "exit code 143 (killed by SIGTERM)");
        assert_eq!(container_exit(159, false), "exit code 159 (killed by SIGSYS)");
        assert_eq!(container_exit(3, false), "exit code 3");
        assert_eq!(container_exit(0, false), "exit code 0");
        assert_eq!(container_exit(128, false), "exit code 128");
        assert_eq!(container_exit(160, false), "exit code 160");
        assert_eq!(killed_by(9), "killed by SIGKILL");
        assert_eq!(killed_by(40), "killed by signal 40");
        assert_eq!(killed_by(0), "killed by signal 0");
    }

    #[test]
    fn the_code_is_read_back_whatever_follows_it() {
        assert_eq!(exit_code("exit code 137 (OOM-killed: memory limit reached)"), Some(137));
        assert_eq!(exit_code("exit code 3"), Some(3));
        assert_eq!(exit_code("killed by SIGKILL"), None);
        assert_eq!(exit_code("gone from the platform"), None);
        assert!(succeeded("exit code 0"));
        assert!(!succeeded("exit code 0x"));
        assert!(!succeeded("exit code 137 (killed by SIGKILL)"));
        assert!(!succeeded("exited"));
    }
}
