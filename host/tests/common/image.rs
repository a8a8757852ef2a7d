//! The demo image `hoist-demo:e2e` built locally for end-to-end tests (no
//! registry): the demo service linked statically, `FROM scratch`
//! (`tests/docker/Dockerfile`, as `cargo xtask images` does). Fails, never
//! skips, when the engine is unreachable.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const IMAGE: &str = "hoist-demo:e2e";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("the docker CLI is not installed")
}

/// Panics with the engine's address and error when it cannot be reached.
pub fn require_engine() {
    let info = docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        info.status.success(),
        "the Docker engine is unreachable (DOCKER_HOST={:?}): {}",
        std::env::var("DOCKER_HOST").ok(),
        String::from_utf8_lossy(&info.stderr)
    );
}

/// Builds `hoist-demo:e2e` (cargo and docker skip what is up to date).
pub fn build_image() {
    require_engine();
    let target = "x86_64-unknown-linux-gnu";
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "-p", "hoist-demo-service", "--target", target])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "static demo build failed: {}", String::from_utf8_lossy(&out.stderr));
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("target").join(target).join("release/hoist-demo"), context.path().join("hoist-demo"))
        .unwrap();
    let dockerfile = root().join("tests/docker/Dockerfile");
    let out = docker(&[
        "build",
        "-q",
        "-t",
        IMAGE,
        "-f",
        &dockerfile.display().to_string(),
        &context.path().display().to_string(),
    ]);
    assert!(out.status.success(), "docker build failed: {}", String::from_utf8_lossy(&out.stderr));
}
