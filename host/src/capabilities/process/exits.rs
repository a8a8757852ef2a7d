//! Exit notification for the process table: each tracked process is watched
//! through a pidfd (readable once the process exits, child or adopted), and
//! the listeners hear of an exit at once, so the rollout or the at-rest
//! reconciler acts without waiting for its next poll. The table still reaps
//! and reads the exit status itself; this only says "look now".

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Called with the labels of a process that exited.
pub type ExitListener = Arc<dyn Fn(&[(String, String)]) + Send + Sync>;

/// The listeners of one table.
#[derive(Clone, Default)]
pub(super) struct Exits {
    listeners: Arc<Mutex<Vec<ExitListener>>>,
    /// The runtime of the first listener, which watches every process: a
    /// spawn may run on another (a plugin call's), which would not outlive it.
    runtime: Arc<Mutex<Option<tokio::runtime::Handle>>>,
}

impl Exits {
    /// Adds a listener; call it inside the tokio runtime that is to watch.
    pub(super) fn listen(&self, listener: ExitListener) {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner()).push(listener);
        let mut runtime = self.runtime.lock().unwrap_or_else(|p| p.into_inner());
        if runtime.is_none() {
            *runtime = tokio::runtime::Handle::try_current().ok();
        }
    }

    /// Watches `pid` if someone listens; `expected` says, once it exited,
    /// whether the table stopped it (no one is told then).
    pub(super) fn watch(
        &self,
        pid: u32,
        labels: Vec<(String, String)>,
        expected: impl FnOnce() -> bool + Send + 'static,
    ) {
        let Some(runtime) = self.runtime.lock().unwrap_or_else(|p| p.into_inner()).clone() else { return };
        let Some(fd) = pidfd(pid) else { return };
        let listeners = self.listeners.clone();
        runtime.spawn(async move {
            // SAFETY: the AsyncFd owns `fd`, which stays open and the same
            // until it is dropped.
            let Ok(fd) = (unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }) else { return };
            if fd.readable().await.is_err() || expected() {
                return;
            }
            tracing::debug!(pid, "process exited");
            let listeners = listeners.lock().unwrap_or_else(|p| p.into_inner()).clone();
            for listener in listeners {
                listener(&labels);
            }
        });
    }
}

/// A pidfd for `pid` (Linux 5.3+); `None` where there is none, and then the
/// table's polling alone sees the exit.
fn pidfd(pid: u32) -> Option<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).ok().filter(|p| *p > 0)?;
    // SAFETY: pidfd_open(2) reads no memory of ours; it returns a new
    // descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = RawFd::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: `fd` was just opened for us and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}
