//! The Docker engine through its CLI, for setup, inspection and cleanup.

use std::process::{Command, Output};

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("the docker CLI is not installed")
}

/// Panics with the engine's address and error when it cannot be reached:
/// a Docker test fails, never skips, without an engine.
pub fn require_engine() {
    let info = docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        info.status.success(),
        "the Docker engine is unreachable (DOCKER_HOST={:?}); start it or point DOCKER_HOST at one: {}",
        std::env::var("DOCKER_HOST").ok(),
        String::from_utf8_lossy(&info.stderr)
    );
}
