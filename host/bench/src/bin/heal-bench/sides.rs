//! The three sides of the heal benchmark, each one service of one
//! container of the demo image with the same healthcheck, set up before
//! the clock runs and removed when dropped (also on error).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::IMAGE;
use hoist_bench::stack_serve::Serve;

/// The demo image with its check as the image's own HEALTHCHECK (exec
/// form: the image has no shell for `docker run --health-cmd`).
pub const HEALTHY_IMAGE: &str = "hoist-demo:healbench";

/// Builds [`HEALTHY_IMAGE`] from `IMAGE` (a Dockerfile on stdin, no context).
pub fn build_image() -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut child = Command::new("docker")
        .args(["build", "-q", "-t", HEALTHY_IMAGE, "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running docker build")?;
    let dockerfile = format!(
        "FROM {IMAGE}\nHEALTHCHECK --interval=100ms --timeout=1s --start-period=30s CMD [\"/hoist-demo\", \"check\"]\n"
    );
    child.stdin.take().context("docker build's stdin")?.write_all(dockerfile.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("docker build {HEALTHY_IMAGE}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

pub fn docker(args: &[&str]) -> anyhow::Result<Output> {
    Command::new("docker").args(args).output().context("running the docker CLI")
}

pub struct Side {
    pub name: &'static str,
    /// Containers with this label are the side's.
    label: String,
    cleanup: Vec<Vec<String>>,
    serve: Option<(Serve, tempfile::TempDir)>,
}

impl Side {
    /// Hoist: one Compose service deployed as a stack on `builtin:docker`,
    /// replaced at rest by its control plane.
    pub fn hoist(hoist: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("healbench"))?;
        let file = dir.path().join("healbench").join("docker-compose.yml");
        std::fs::write(&file, format!("services:\n  healbench:\n    image: {HEALTHY_IMAGE}\n"))?;
        let state = tempfile::tempdir()?;
        let serve = Serve::start(hoist, state.path())?;
        serve.deploy(&file)?;
        let side = Self {
            name: "hoist",
            label: "hoist.service=healbench".into(),
            cleanup: vec![vec!["network".into(), "rm".into(), "hoist-healbench-bench".into()]],
            serve: Some((serve, dir)),
        };
        Ok(side)
    }

    /// The engine's own restart policy.
    pub fn restart_always() -> anyhow::Result<Self> {
        let name = format!("healbench-always-{}", std::process::id());
        run(&[
            "run",
            "-d",
            "--name",
            &name,
            "--restart",
            "always",
            "--label",
            "hoist.bench=heal-always",
            HEALTHY_IMAGE,
        ])?;
        let side = Self {
            name: "restart_always",
            label: "hoist.bench=heal-always".into(),
            cleanup: vec![vec!["rm".into(), "-f".into(), name]],
            serve: None,
        };
        side.wait_healthy()?;
        Ok(side)
    }

    /// A Swarm service of one replica (the engine must be a manager: see
    /// [`Swarm::join`]).
    pub fn swarm() -> anyhow::Result<Self> {
        let name = format!("healbench-swarm-{}", std::process::id());
        run(&[
            "service",
            "create",
            "-d",
            "--name",
            &name,
            "--restart-condition",
            "any",
            "--restart-delay",
            "0s",
            "--container-label",
            "hoist.bench=heal-swarm",
            HEALTHY_IMAGE,
        ])?;
        let cleanup = vec![vec!["service".into(), "rm".into(), name]];
        let side = Self { name: "swarm", label: "hoist.bench=heal-swarm".into(), cleanup, serve: None };
        side.wait_healthy()?;
        Ok(side)
    }

    /// The side's healthy container, as (id, start time), if any.
    pub fn healthy(&self) -> anyhow::Result<Option<(String, String)>> {
        let out = docker(&["ps", "-q", "--filter", &format!("label={}", self.label), "--filter", "health=healthy"])?;
        let Some(id) = String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_owned) else {
            return Ok(None);
        };
        let started = docker(&["inspect", "-f", "{{.State.StartedAt}}", &id])?;
        Ok(Some((id, String::from_utf8_lossy(&started.stdout).trim().to_owned())))
    }

    fn wait_healthy(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.healthy()?.is_none() {
            if Instant::now() > deadline {
                bail!("{}: not healthy 60 s after setup", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

/// A single-node swarm for the run: initialised if the engine is in none,
/// and left on drop only then.
pub struct Swarm {
    initialised: bool,
}

impl Swarm {
    pub fn join() -> anyhow::Result<Self> {
        let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])?;
        let initialised = String::from_utf8_lossy(&state.stdout).trim() != "active";
        if initialised {
            run(&["swarm", "init", "--advertise-addr", "127.0.0.1"])?;
        }
        Ok(Self { initialised })
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        if self.initialised {
            let _ = docker(&["swarm", "leave", "--force"]);
        }
    }
}

fn run(args: &[&str]) -> anyhow::Result<()> {
    let out = docker(args)?;
    if !out.status.success() {
        bail!("docker {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

impl Drop for Side {
    fn drop(&mut self) {
        if let Some((serve, _)) = self.serve.take() {
            drop(serve);
            if let Ok(out) = docker(&["ps", "-aq", "--filter", &format!("label={}", self.label)]) {
                for id in String::from_utf8_lossy(&out.stdout).lines() {
                    let _ = docker(&["rm", "-f", id]);
                }
            }
        }
        for args in &self.cleanup {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = docker(&args);
        }
    }
}
