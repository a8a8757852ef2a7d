//! The demo image `hoist-demo:e2e`, built locally (no registry): the demo
//! service linked statically in `FROM scratch` (`tests/docker/Dockerfile`),
//! as `cargo xtask images` builds it — from this tree, so it has
//! `hoist-demo check`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::engine::{docker, require_engine};

pub const IMAGE: &str = "hoist-demo:e2e";

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Builds `hoist-demo:e2e` once per test process (tests run on parallel
/// threads; cargo and docker skip what is up to date). Fails, never
/// skips, when the engine is unreachable.
pub fn build_image() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    require_engine();
    if let Err(e) = BUILT.get_or_init(build) {
        panic!("{e}");
    }
}

fn build() -> Result<(), String> {
    let target = "x86_64-unknown-linux-gnu";
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "-p", "hoist-demo-service", "--target", target])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .current_dir(root())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("static demo build failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let context = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::copy(root().join("target").join(target).join("release/hoist-demo"), context.path().join("hoist-demo"))
        .map_err(|e| e.to_string())?;
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
    if !out.status.success() {
        return Err(format!("docker build failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// An image whose containers keep running and serve on 8080: the demo
/// image, built if needed (any local image would not do: one may exit at
/// once, e.g. `hoist-serve:e2e` with no arguments).
pub fn any_local_image() -> String {
    build_image();
    IMAGE.to_string()
}

pub const BUSYBOX: &str = "hoist-busybox:e2e";

/// Builds `hoist-busybox:e2e` once per test process: Debian's static
/// busybox (`apt-get install busybox-static`) `FROM scratch`
/// (`tests/docker/busybox.Dockerfile`), the stand-in for data services.
pub fn build_busybox() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    require_engine();
    if let Err(e) = BUILT.get_or_init(busybox) {
        panic!("{e}");
    }
}

fn busybox() -> Result<(), String> {
    let binary = Path::new("/bin/busybox");
    if !binary.exists() {
        return Err("/bin/busybox is missing: `apt-get install -y busybox-static` (see .ci/run)".into());
    }
    let context = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::copy(binary, context.path().join("busybox")).map_err(|e| e.to_string())?;
    let dockerfile = root().join("tests/docker/busybox.Dockerfile");
    let out = docker(&[
        "build",
        "-q",
        "-t",
        BUSYBOX,
        "-f",
        &dockerfile.display().to_string(),
        &context.path().display().to_string(),
    ]);
    if !out.status.success() {
        return Err(format!("docker build of {BUSYBOX} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}
