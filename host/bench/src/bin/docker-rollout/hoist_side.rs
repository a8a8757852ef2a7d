//! Hoist's side: `hoist serve` with the `rolling` strategy (max-surge the
//! batch, max-unavailable 0: start-first batches) on `builtin:docker`; the
//! HEALTHCHECK gates readiness (no Hoist probe, so both sides wait for the
//! same signal). Containers are removed at the end, also on error.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::Shape;
use crate::docker::remove_containers;
use crate::image::IMAGE;

/// Durations of one rollout: by the rollout's own timestamps (request to
/// completion) and as the `--wait`ing CLI saw them (it polls every 500 ms
/// and returns once the old revision's containers are removed too).
pub struct Took {
    pub rollout: Duration,
    pub cli: Duration,
}

/// The registry, rolling in batches of `BATCH`.
const REGISTRY: &str = r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"
config = { max-surge = BATCH, max-unavailable = 0 }

[plugins.docker]
kind = "platform"
source = "builtin:docker"
capabilities = ["docker"]
config = { stop-timeout-secs = 2 }

[environments.bench]
platform = "docker"
strategy = "rolling"
"#;

/// A control plane serving one service of `shape.replicas` containers (v1
/// after setup).
pub struct Serve {
    shape: Shape,
    hoist: PathBuf,
    dir: tempfile::TempDir,
    child: Child,
    service: String,
    router: String,
}

impl Serve {
    /// Starts `hoist serve` and deploys v1 (not timed).
    pub fn start(hoist: &Path, shape: Shape) -> anyhow::Result<Self> {
        let service = format!("hoistbench{}", std::process::id());
        let router = format!("127.0.0.1:{}", std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port());
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("registry.toml"), REGISTRY.replace("BATCH", &shape.batch.to_string()))?;
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        let log = std::fs::File::create(dir.path().join("serve.log"))?;
        let mut serve = Command::new(hoist);
        serve.args(["serve", "--listen", &format!("127.0.0.1:{port}")]).args(common(dir.path())).stderr(log);
        let child = serve.spawn().with_context(|| format!("starting {} serve", hoist.display()))?;
        let serve = Self { shape, hoist: hoist.to_path_buf(), dir, child, service, router };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !serve.dir.path().join("state/serve.addr").exists() {
            if Instant::now() > deadline {
                bail!("hoist serve did not start: {}", serve.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        serve.update("v1").context("deploying v1 (setup)")?;
        Ok(serve)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// Runs `hoist ARGS`; its output, or an error with the control plane's log.
    fn hoist(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(&self.hoist).args(common(self.dir.path())).args(args).output()?;
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            bail!("hoist {} failed: {text}\n{}", args.join(" "), self.log());
        }
        Ok(text)
    }

    /// A rolling update to `version`.
    pub fn update(&self, version: &str) -> anyhow::Result<Took> {
        let started = Instant::now();
        let startup = format!("DEMO_STARTUP_MS={}", self.shape.startup_ms);
        let version_env = format!("DEMO_VERSION={version}");
        let replicas = self.shape.replicas.to_string();
        let out = self.hoist(&[
            "deploy",
            &self.service,
            "--env",
            "bench",
            "--version",
            version,
            "--replicas",
            &replicas,
            "--image",
            IMAGE,
            "--port",
            "8080",
            "--router",
            &self.router,
            "--set-env",
            &startup,
            "--set-env",
            &version_env,
            "--wait",
        ])?;
        let cli = started.elapsed();
        Ok(Took { rollout: self.took(&out)?, cli })
    }

    /// `hoist rollback` to the previous revision.
    pub fn rollback(&self) -> anyhow::Result<Took> {
        let started = Instant::now();
        let out = self.hoist(&["rollback", &self.service, "--env", "bench", "--wait", "--reason", "bench"])?;
        let cli = started.elapsed();
        Ok(Took { rollout: self.took(&out)?, cli })
    }

    /// How long the rollout `--wait` reported took, by its own timestamps.
    fn took(&self, out: &str) -> anyhow::Result<Duration> {
        let id = out
            .lines()
            .filter_map(|l| l.strip_prefix("rollout "))
            .filter_map(|l| l.split_whitespace().next())
            .next_back()
            .with_context(|| format!("no `rollout ID` line in: {out}"))?;
        let history = self.hoist(&["history", &self.service, "--env", "bench", "--output", "json"])?;
        let history: serde_json::Value = serde_json::from_str(&history)?;
        let rollout = history["rollouts"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["id"] == id))
            .with_context(|| format!("rollout {id} is not in the history"))?;
        let ms = |key: &str| rollout[key].as_u64().with_context(|| format!("rollout {id} has no `{key}`"));
        Ok(Duration::from_millis(ms("updated_at_ms")?.saturating_sub(ms("started_at_ms")?)))
    }
}

fn common(dir: &Path) -> Vec<String> {
    let d = |p: &str| dir.join(p).display().to_string();
    vec!["--registry".into(), d("registry.toml"), "--state".into(), d("state"), "--cache-dir".into(), d("cache")]
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Err(e) = remove_containers(&format!("hoist.service={}", self.service)) {
            eprintln!("warning: {e}");
        }
    }
}
