//! The docker CLI, with errors that say what ran.

use std::process::Command;

use anyhow::{Context as _, bail};

/// Runs `docker ARGS`; its stdout, trimmed.
pub fn docker(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("docker").args(args).output().context("running the docker CLI (is it installed?)")?;
    if !out.status.success() {
        bail!("docker {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub fn require_engine() -> anyhow::Result<()> {
    docker(&["version", "--format", "{{.Server.Version}}"]).map(|_| ()).with_context(|| {
        format!(
            "the Docker engine is unreachable (DOCKER_HOST={:?})",
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
        )
    })
}

/// Removes every container with `label` (`key=value`), forcibly.
pub fn remove_containers(label: &str) -> anyhow::Result<()> {
    let ids = docker(&["ps", "-aq", "--filter", &format!("label={label}")])?;
    let ids: Vec<&str> = ids.lines().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(ids);
        docker(&args)?;
    }
    Ok(())
}
