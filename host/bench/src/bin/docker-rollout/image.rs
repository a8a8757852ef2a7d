//! `hoist-demo:bench`: the static demo service `FROM scratch` with a
//! HEALTHCHECK (the demo binary checks its own `/healthz`: the image has no
//! shell). Its own tag, so a concurrent rebuild of `hoist-demo:e2e` from
//! another checkout cannot change what is measured.

use std::path::Path;

use anyhow::Context as _;

use crate::docker::docker;

pub const IMAGE: &str = "hoist-demo:bench";

pub fn build(root: &Path, demo: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        demo.is_file(),
        "{} is missing: build it with `RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p \
         hoist-demo-service --target x86_64-unknown-linux-gnu` (cargo xtask bench does)",
        demo.display()
    );
    let context = tempfile::tempdir()?;
    std::fs::copy(demo, context.path().join("hoist-demo")).with_context(|| format!("copying {}", demo.display()))?;
    let base =
        std::fs::read_to_string(root.join("tests/docker/Dockerfile")).context("reading tests/docker/Dockerfile")?;
    let dockerfile = format!(
        "{base}\n# --start-period: failures while the service starts do not count.\nHEALTHCHECK --interval=500ms --timeout=2s \
         --start-period=60s --retries=3 CMD [\"/hoist-demo\", \"--check-health\"]\n"
    );
    std::fs::write(context.path().join("Dockerfile"), dockerfile)?;
    docker(&["build", "-q", "-t", IMAGE, &context.path().display().to_string()])?;
    Ok(())
}
