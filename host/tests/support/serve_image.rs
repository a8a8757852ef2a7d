//! `hoist-serve:e2e`: this tree's `hoist` binary (debug info stripped)
//! with the shared libraries it links, in `FROM scratch` — so `hoist serve`
//! can run in a container, e.g. attached to a Swarm overlay. Built locally
//! from the test build; no registry is involved.

use std::process::Command;
use std::sync::OnceLock;

use super::engine::{docker, require_engine};
use super::plane::HOIST;

pub const SERVE_IMAGE: &str = "hoist-serve:e2e";

/// Builds the image once per test process.
pub fn build_serve_image() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    require_engine();
    if let Err(e) = BUILT.get_or_init(build) {
        panic!("{e}");
    }
}

fn build() -> Result<(), String> {
    let context = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = context.path();
    // Debug info stripped when binutils is there (a 10× smaller context);
    // the binary as it is otherwise.
    let stripped = Command::new("strip")
        .args(["--strip-debug", "-o"])
        .arg(root.join("hoist"))
        .arg(HOIST)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(HOIST, root.join("hoist")).map_err(|e| e.to_string())?;
    }
    // Every library `ldd` names, at its own path.
    let ldd = Command::new("ldd").arg(HOIST).output().map_err(|e| format!("running ldd: {e}"))?;
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next().filter(|p| p.starts_with('/')),
        };
        let Some(path) = path.filter(|p| p.starts_with('/')) else { continue };
        let to = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).map_err(|e| e.to_string())?;
        std::fs::copy(path, &to).map_err(|e| format!("copying {path}: {e}"))?;
    }
    std::fs::create_dir_all(root.join("tmp")).map_err(|e| e.to_string())?;
    std::fs::write(root.join("Dockerfile"), "FROM scratch\nCOPY . /\nENV TMPDIR=/tmp\nENTRYPOINT [\"/hoist\"]\n")
        .map_err(|e| e.to_string())?;
    let out = docker(&["build", "-q", "-t", SERVE_IMAGE, &root.display().to_string()]);
    if !out.status.success() {
        return Err(format!("docker build {SERVE_IMAGE}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}
