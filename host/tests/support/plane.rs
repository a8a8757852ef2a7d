//! `hoist serve` as a child process with its own registry, state and cache
//! in a directory; killed (SIGKILL) on drop, like a crash — the instances
//! it started outlive it by design (see [`guards`](super::guards)).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::ports::free_port;
use super::wait::eventually;

pub const HOIST: &str = env!("CARGO_BIN_EXE_hoist");

/// A registry with `rolling` on local processes, environment `test`.
pub const REGISTRY: &str = r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]

[environments.test]
platform = "local-process"
strategy = "rolling"
"#;

pub struct Plane {
    dir: PathBuf,
    child: Option<Child>,
}

impl Plane {
    /// Writes `registry` to `dir/registry.toml` and starts `hoist serve`.
    pub fn start(dir: &Path, registry: &str) -> Self {
        Self::start_with_env(dir, registry, &[])
    }

    /// [`Plane::start`] with environment variables for the server (`DOCKER_HOST`).
    pub fn start_with_env(dir: &Path, registry: &str, env: &[(&str, &str)]) -> Self {
        std::fs::write(dir.join("registry.toml"), registry).unwrap();
        Self::restart_with_env(dir, &[], env)
    }

    /// Starts `hoist serve` on the registry and state already in `dir`.
    pub fn restart(dir: &Path) -> Self {
        Self::restart_with(dir, &[])
    }

    /// [`Plane::restart`] with more `hoist serve` flags.
    pub fn restart_with(dir: &Path, flags: &[&str]) -> Self {
        Self::restart_with_env(dir, flags, &[])
    }

    /// [`Plane::restart_with`] with environment variables for the server.
    pub fn restart_with_env(dir: &Path, flags: &[&str], env: &[(&str, &str)]) -> Self {
        let _ = std::fs::remove_file(dir.join("state/serve.addr"));
        let mut plane = Self { dir: dir.to_path_buf(), child: None };
        let child = Command::new(HOIST)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
            .args(flags)
            .envs(env.iter().copied())
            .args(plane.common())
            .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        plane.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dir.join("state/serve.addr").exists() {
            assert!(Instant::now() < deadline, "hoist serve did not start: {}", plane.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        plane
    }

    /// A handle on the control plane already serving `dir`, for running
    /// `hoist` verbs from another thread; it does not own the server.
    pub fn attach(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), child: None }
    }

    /// The directory holding the registry, state and cache.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn common(&self) -> Vec<String> {
        let d = |p: &str| self.dir.join(p).display().to_string();
        vec!["--registry".into(), d("registry.toml"), "--state".into(), d("state"), "--cache-dir".into(), d("cache")]
    }

    /// Runs `hoist ARGS` against this control plane: its output, stdout
    /// and stderr apart.
    pub fn output(&self, args: &[&str]) -> Output {
        Command::new(HOIST).args(self.common()).args(args).output().unwrap()
    }

    /// Runs `hoist ARGS` against this control plane: (success, stdout + stderr).
    pub fn hoist(&self, args: &[&str]) -> (bool, String) {
        let out = self.output(args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// Runs `hoist ARGS`, which must succeed and print JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let (ok, out) = self.hoist(args);
        assert!(ok, "hoist {args:?}: {out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("hoist {args:?}: {e}: {out}"))
    }

    /// `hoist status SERVICE --env test --output json`.
    pub fn status(&self, service: &str) -> Value {
        let (ok, out) = self.hoist(&["status", service, "--env", "test", "--output", "json"]);
        assert!(ok, "hoist status: {out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("status is not JSON ({e}): {out}"))
    }

    /// The rollout as `hoist history --output json` lists it.
    pub fn rollout(&self, service: &str, id: &str) -> Value {
        let (ok, out) = self.hoist(&["history", service, "--env", "test", "--output", "json"]);
        assert!(ok, "hoist history: {out}");
        let history: Value = serde_json::from_str(&out).unwrap();
        history["rollouts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id}: {out}"))
    }

    /// Polls until the rollout has ended; returns it.
    pub fn wait_ended(&self, service: &str, id: &str, secs: u64) -> Value {
        let ended = ["completed", "rolled-back", "aborted", "failed"];
        eventually(secs, &format!("rollout {id} to end"), || {
            let r = self.rollout(service, id);
            ended.contains(&r["phase"].as_str().unwrap_or("")).then_some(r)
        })
    }

    /// `hoist log ROLLOUT` (text).
    pub fn log_of(&self, id: &str) -> String {
        self.hoist(&["log", id]).1
    }

    /// Kills the server with SIGKILL and reaps it, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// Waits for the server to exit on its own; its exit status.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The serving process's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Kills every instance in the control plane's process table.
    pub fn stop_instances(&mut self) {
        let table = std::fs::read_to_string(self.dir.join("state/processes.json")).unwrap_or_default();
        let rows: Vec<Value> = serde_json::from_str(&table).unwrap_or_default();
        for pid in rows.iter().filter_map(|r| r["pid"].as_i64()) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }

    /// What `hoist serve` wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
