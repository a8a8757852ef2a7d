//! Guards that remove what a test started — processes, containers,
//! networks, volumes — when it ends, also when it fails. Declare a guard
//! before the [`Plane`](super::plane::Plane) so the control plane dies
//! first and cannot replace what the guard removes.

use super::engine::docker;
use super::procs::pids_with;

/// Kills (SIGKILL) every live process whose command line holds the marker:
/// instances outlive `hoist serve` by design.
pub struct Processes(pub String);

impl Drop for Processes {
    fn drop(&mut self) {
        for pid in pids_with(&self.0) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Removes every container of these services (`hoist.service` label).
pub struct Containers(pub Vec<String>);

impl Containers {
    pub fn of(service: &str) -> Self {
        Self(vec![service.to_owned()])
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        for service in &self.0 {
            let out = docker(&["ps", "-aq", "--filter", &format!("label=hoist.service={service}")]);
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids.iter().map(String::as_str));
                let _ = docker(&args);
            }
        }
    }
}

/// Removes every container of an environment (`hoist.environment` label):
/// for tests whose services carry real names (`postgres`), in an
/// environment of their own.
pub struct EnvironmentContainers(pub String);

impl Drop for EnvironmentContainers {
    fn drop(&mut self) {
        let out = docker(&["ps", "-aq", "--filter", &format!("label=hoist.environment={}", self.0)]);
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = docker(&args);
        }
    }
}

/// Removes a Docker network.
pub struct Network(pub String);

impl Drop for Network {
    fn drop(&mut self) {
        let _ = docker(&["network", "rm", &self.0]);
    }
}

/// Removes a named volume.
pub struct Volume(pub String);

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = docker(&["volume", "rm", "-f", &self.0]);
    }
}

/// Removes a Swarm test's services (then their containers) and its network.
pub struct SwarmServices {
    pub service: String,
    pub network: String,
}

impl Drop for SwarmServices {
    fn drop(&mut self) {
        super::swarm::remove_services(&format!("hoist.service={}", self.service));
        let _ = docker(&["network", "rm", &self.network]);
    }
}
