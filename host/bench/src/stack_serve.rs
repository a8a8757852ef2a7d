//! The Hoist side of the stack and heal benchmarks: a `hoist serve` over a
//! Docker environment, started before the clock runs, and `hoist stack
//! deploy FILE --wait` timed from a clean engine to every service healthy.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

const REGISTRY: &str = r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"

[plugins.docker]
kind = "platform"
source = "builtin:docker"
capabilities = ["docker"]
config = { stop-timeout-secs = 1 }

[environments.bench]
platform = "docker"
strategy = "rolling"
"#;

/// A running `hoist serve`; dropping it stops it.
pub struct Serve {
    hoist: PathBuf,
    dir: PathBuf,
    child: Child,
}

impl Serve {
    /// Starts `hoist serve` with its state in `dir` and waits until it
    /// listens (not part of any measurement).
    pub fn start(hoist: &Path, dir: &Path) -> anyhow::Result<Self> {
        std::fs::write(dir.join("registry.toml"), REGISTRY)?;
        let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let log = std::fs::File::create(dir.join("serve.log"))?;
        let child = Command::new(hoist)
            .args(["serve", "--listen", &listen.to_string()])
            .args(common(dir))
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} serve", hoist.display()))?;
        let serve = Self { hoist: hoist.to_path_buf(), dir: dir.to_path_buf(), child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dir.join("state/serve.addr").exists() {
            if Instant::now() > deadline {
                bail!("hoist serve did not start within 60 s; see {}", dir.join("serve.log").display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(serve)
    }

    /// `hoist stack deploy FILE --env bench --wait`, timed.
    pub fn deploy(&self, file: &Path) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let out = Command::new(&self.hoist)
            .args(common(&self.dir))
            .args(["stack", "deploy"])
            .arg(file)
            .args(["--env", "bench", "--wait"])
            .output()?;
        let took = started.elapsed();
        if !out.status.success() {
            bail!(
                "hoist stack deploy did not complete: {}{}\nsee {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.dir.join("serve.log").display()
            );
        }
        Ok(took)
    }

    /// `hoist stack status NAME --env bench --output json`.
    pub fn status(&self, stack: &str) -> anyhow::Result<serde_json::Value> {
        let out = Command::new(&self.hoist)
            .args(common(&self.dir))
            .args(["stack", "status", stack, "--env", "bench", "--output", "json"])
            .output()?;
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("hoist stack status: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn common(dir: &Path) -> Vec<String> {
    let d = |p: &str| dir.join(p).display().to_string();
    vec!["--registry".into(), d("registry.toml"), "--state".into(), d("state"), "--cache-dir".into(), d("cache")]
}
