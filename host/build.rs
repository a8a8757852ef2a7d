//! Builds the first-party plugins (`plugins/`, target wasm32-wasip2) so the
//! `hoist` binary can embed them as `builtin:NAME`: a user of the binary needs
//! no separate plugin build. Set `HOIST_PREBUILT_PLUGINS=DIR` to embed
//! already-built `.wasm` files instead.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The wasm files embedded as builtins (crate names with `_`).
const BUILTINS: &[&str] = &[
    "rolling",
    "recreate",
    "blue_green",
    "canary",
    "threshold",
    "admission_rule",
    "approval_gate",
    "local_process",
    "docker_platform",
    "swarm_platform",
];

fn main() {
    println!("cargo:rerun-if-env-changed=HOIST_PREBUILT_PLUGINS");
    let out_dir = match std::env::var_os("HOIST_PREBUILT_PLUGINS") {
        Some(dir) => PathBuf::from(dir),
        None => match build_plugins() {
            Ok(dir) => dir,
            Err(message) => {
                eprintln!("error: {message}");
                std::process::exit(1);
            }
        },
    };
    for name in BUILTINS {
        let file = out_dir.join(format!("{name}.wasm"));
        if !file.is_file() {
            eprintln!("error: builtin plugin {} is missing; build the plugins workspace first", file.display());
            std::process::exit(1);
        }
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rustc-env=HOIST_PLUGINS_DIR={}", out_dir.display());
}

fn build_plugins() -> Result<PathBuf, String> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let root = manifest_dir.parent().ok_or("host/ has no parent directory")?.to_path_buf();
    let plugins = root.join("plugins");
    let target_dir = plugins.join("target");
    watch(&root.join("wit"));
    watch(&root.join("sdk"));
    for entry in std::fs::read_dir(&plugins).map_err(|e| format!("cannot read {}: {e}", plugins.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path != target_dir {
            watch(&path);
        }
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags and wrappers are for the host target, not wasm.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo to build the plugins: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the plugins in {} failed ({status}); if the wasm32-wasip2 target is missing, run \
             `rustup target add wasm32-wasip2`",
            plugins.display()
        ));
    }
    Ok(target_dir.join("wasm32-wasip2").join("release"))
}

fn watch(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}
