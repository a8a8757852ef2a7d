//! The Docker side of the stack benchmark: the engine and image checks,
//! `docker compose up` with its wait for health, and teardown of only this
//! benchmark's containers and project.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

pub fn docker(args: &[&str]) -> anyhow::Result<Output> {
    Command::new("docker").args(args).output().context("running `docker`; is the Docker CLI installed?")
}

/// The engine answers and `image` has the demo's `check` command.
pub fn preflight(image: &str) -> anyhow::Result<()> {
    let out = docker(&["version", "--format", "{{.Server.Version}}"])?;
    if !out.status.success() {
        bail!(
            "the Docker engine is unreachable (DOCKER_HOST={:?}): {}",
            std::env::var("DOCKER_HOST").ok(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // `check` against a closed port exits 1; an image without it exits 2
    // (usage error) or cannot start.
    let out =
        docker(&["run", "--rm", "--label", "hoist.bench=stack", image, "check", "--port", "1", "--timeout-ms", "100"])?;
    if out.status.code() != Some(1) {
        bail!(
            "image `{image}` has no `hoist-demo check` (exit {:?}: {}); rebuild it with `cargo xtask images`",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Which Compose is installed: v2 (`docker compose`, has `up --wait`) or
/// v1 (`docker-compose`, which has no `--wait`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compose {
    V2,
    V1,
}

impl Compose {
    pub fn detect() -> anyhow::Result<(Self, String)> {
        if let Ok(out) = Command::new("docker").args(["compose", "version", "--short"]).output()
            && out.status.success()
        {
            return Ok((Compose::V2, format!("docker compose {}", String::from_utf8_lossy(&out.stdout).trim())));
        }
        match Command::new("docker-compose").args(["version", "--short"]).output() {
            Ok(out) if out.status.success() => {
                Ok((Compose::V1, format!("docker-compose {}", String::from_utf8_lossy(&out.stdout).trim())))
            }
            _ => bail!("neither `docker compose` nor `docker-compose` is installed; install the Compose plugin"),
        }
    }

    fn command(self, project: &str, file: &Path) -> Command {
        let mut c = match self {
            Compose::V2 => {
                let mut c = Command::new("docker");
                c.arg("compose");
                c
            }
            Compose::V1 => Command::new("docker-compose"),
        };
        c.args(["-p", project, "-f"]).arg(file);
        c
    }

    /// `up -d --wait`: returns once every service is healthy. Compose v1 has
    /// no `--wait`: `up -d` (which itself waits for `service_healthy`
    /// dependencies) and then the same wait `--wait` does — poll until
    /// every container of the project is healthy.
    pub fn up(self, project: &str, file: &Path, services: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut c = self.command(project, file);
        c.args(["up", "-d"]);
        if self == Compose::V2 {
            c.arg("--wait");
        }
        let out = c.output().context("running compose up")?;
        if !out.status.success() {
            bail!("compose up failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        if self == Compose::V1 {
            let deadline = Instant::now() + Duration::from_secs(120);
            while healthy(project)? < services {
                if Instant::now() > deadline {
                    bail!("compose project `{project}`: not every container healthy after 120 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(started.elapsed())
    }

    /// `down`: removes the project's containers and its network.
    pub fn down(self, project: &str, file: &Path) -> anyhow::Result<()> {
        let out = self.command(project, file).args(["down", "-t", "1"]).output().context("running compose down")?;
        if !out.status.success() {
            bail!("compose down failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }
}

fn healthy(project: &str) -> anyhow::Result<usize> {
    let out = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
        "--filter",
        "health=healthy",
    ])?;
    Ok(String::from_utf8_lossy(&out.stdout).lines().count())
}

/// Removes every container of these Hoist services (in any state).
pub fn remove_services(services: &[String]) -> anyhow::Result<()> {
    for s in services {
        let out = docker(&["ps", "-aq", "--filter", &format!("label=hoist.service={s}")])?;
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            docker(&args)?;
        }
    }
    Ok(())
}

/// How long the engine took from creating each service's container to
/// running it (`Created` → `State.StartedAt`), in ms: time no orchestrator
/// on this engine can save.
pub fn engine_start_ms(services: &[String]) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for s in services {
        let ids = docker(&["ps", "-q", "--filter", &format!("label=hoist.service={s}")])?;
        let Some(id) = String::from_utf8_lossy(&ids.stdout).lines().next().map(str::to_owned) else { continue };
        let times = docker(&["inspect", "-f", "{{.Created}} {{.State.StartedAt}}", &id])?;
        let text = String::from_utf8_lossy(&times.stdout).into_owned();
        let mut words = text.split_whitespace().map(seconds_of_day);
        if let (Some(Some(created)), Some(Some(started))) = (words.next(), words.next()) {
            // Across midnight the difference is negative by a day.
            let took = (started - created).rem_euclid(86_400.0);
            out.insert(s.clone(), (took * 1e3) as u64);
        }
    }
    Ok(out)
}

/// `2026-11-25T16:46:44.123456789Z` → seconds since midnight (UTC).
fn seconds_of_day(stamp: &str) -> Option<f64> {
    let time = stamp.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = time.split(':');
    let (h, m, s) =
        (parts.next()?.parse::<f64>().ok()?, parts.next()?.parse::<f64>().ok()?, parts.next()?.parse::<f64>().ok()?);
    Some(h * 3600.0 + m * 60.0 + s)
}
