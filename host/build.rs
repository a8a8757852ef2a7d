//! Builds the first-party plugins (`plugins/`, target wasm32-wasip2) so the
//! `hoist` binary can embed them as `builtin:NAME`: a user of the binary needs
//! no separate plugin build. Set `HOIST_PREBUILT_PLUGINS=DIR` to embed
//! already-built `.wasm` files instead. Which plugins are builtins is
//! `plugins/builtins.toml`; this script turns it into the `BUILTINS` table.

#[path = "build/builtin_list.rs"]
mod builtin_list;

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=HOIST_PREBUILT_PLUGINS");
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let root = root()?;
    let plugins = root.join("plugins");
    watch(&plugins.join("builtins.toml"));
    watch(&plugins.join("Cargo.toml"));
    let builtins = builtin_list::read(&plugins)?;
    let wasm_dir = match std::env::var_os("HOIST_PREBUILT_PLUGINS") {
        Some(dir) => PathBuf::from(dir),
        None => build_plugins(&root)?,
    };
    for builtin in &builtins {
        let file = wasm_dir.join(builtin.wasm_file());
        if !file.is_file() {
            return Err(format!("builtin plugin {} is missing; build the plugins workspace first", file.display()));
        }
        watch(&file);
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("cargo set no OUT_DIR")?).join("builtins.rs");
    std::fs::write(&out, builtin_list::table(&builtins, &wasm_dir))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// The repository root, above `host/`.
fn root() -> Result<PathBuf, String> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    Ok(manifest_dir.parent().ok_or("host/ has no parent directory")?.to_path_buf())
}

fn build_plugins(root: &Path) -> Result<PathBuf, String> {
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
