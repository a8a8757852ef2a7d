//! A single-node swarm for a test: joined under a machine-wide lock (so
//! tests in other processes that need Swarm wait instead of initialising or
//! leaving it under each other), initialised with `docker swarm init
//! --advertise-addr 127.0.0.1` only when the engine is not in a swarm yet,
//! and left on drop only if this guard initialised it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::engine::docker;

/// Held by every Hoist test or bench that initialises or leaves a swarm.
const LOCK: &str = "/tmp/hoist-swarm.lock";

/// `active`, `inactive`, `pending`, ... of this engine's node.
fn node_state() -> String {
    let out = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
    assert!(
        out.status.success(),
        "the Docker engine is unreachable (DOCKER_HOST={:?}): {}",
        std::env::var("DOCKER_HOST").ok(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub struct Swarm {
    initialised: bool,
    _lock: File,
}

impl Swarm {
    /// Waits for the machine-wide lock, then makes sure the engine is a
    /// swarm manager.
    pub fn join() -> Self {
        let lock = File::create(LOCK).unwrap_or_else(|e| panic!("cannot create {LOCK}: {e}"));
        // SAFETY: flock on a descriptor this File owns; released when it closes.
        let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(locked, 0, "cannot lock {LOCK}: {}", std::io::Error::last_os_error());
        let state = node_state();
        let initialised = state != "active";
        if initialised {
            let out = docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
            assert!(out.status.success(), "docker swarm init: {}", String::from_utf8_lossy(&out.stderr));
        } else {
            let out = docker(&["info", "--format", "{{.Swarm.ControlAvailable}}"]);
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                "true",
                "this engine is in a swarm but not a manager; run the test on a manager node"
            );
        }
        Self { initialised, _lock: lock }
    }

    pub fn initialised(&self) -> bool {
        self.initialised
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        if self.initialised {
            let _ = docker(&["swarm", "leave", "--force"]);
        }
    }
}

/// Removes every service (and then container) carrying `label`
/// (`key=value`), waiting until Swarm has stopped their containers.
pub fn remove_services(label: &str) {
    let filter = format!("label={label}");
    let out = docker(&["service", "ls", "-q", "--filter", &filter]);
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    if !ids.is_empty() {
        let mut args = vec!["service", "rm"];
        args.extend(ids.iter().map(String::as_str));
        let _ = docker(&args);
    }
    // Swarm stops the tasks' containers after the service is gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = docker(&["ps", "-aq", "--filter", &filter]);
        let left: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let mut args = vec!["rm", "-f"];
            args.extend(left.iter().map(String::as_str));
            let _ = docker(&args);
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Names of the services carrying `label` (`key=value`), sorted.
pub fn services(label: &str) -> Vec<String> {
    let out = docker(&["service", "ls", "--filter", &format!("label={label}"), "--format", "{{.Name}}"]);
    assert!(out.status.success(), "docker service ls: {}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    names.sort();
    names
}
