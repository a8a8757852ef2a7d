//! `hoist serve` as a child process with its own registry, state and cache
//! in a directory; killed (SIGKILL) on drop. Plus a tiny HTTP client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

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

/// Pids of the live (not zombie) processes whose command line holds
/// `marker`, sorted; `sh -c` wrappers are left out.
pub fn pids_with(marker: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let zombie = stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'));
        let cmd = String::from_utf8_lossy(&cmd);
        if !zombie && cmd.contains(marker) && !cmd.starts_with("sh\0") {
            pids.push(pid);
        }
    }
    pids.sort();
    pids
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

pub struct Plane {
    dir: PathBuf,
    child: Option<Child>,
}

impl Plane {
    /// Writes `registry` to `dir/registry.toml` and starts `hoist serve`.
    pub fn start(dir: &Path, registry: &str) -> Self {
        std::fs::write(dir.join("registry.toml"), registry).unwrap();
        Self::restart(dir)
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

    fn common(&self) -> Vec<String> {
        let d = |p: &str| self.dir.join(p).display().to_string();
        vec!["--registry".into(), d("registry.toml"), "--state".into(), d("state"), "--cache-dir".into(), d("cache")]
    }

    /// Runs `hoist ARGS` against this control plane: (success, stdout + stderr).
    pub fn hoist(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(HOIST).args(self.common()).args(args).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// Waits for the server to exit on its own; its exit status.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
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
        let rows: Vec<serde_json::Value> = serde_json::from_str(&table).unwrap_or_default();
        for pid in rows.iter().filter_map(|r| r["pid"].as_i64()) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }

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

/// `GET /` on 127.0.0.1:`port`: the status and body, or what failed.
pub fn get(port: u16) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").map_err(|e| format!("write: {e}"))?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).map_err(|e| format!("read: {e}"))?;
    let status = buf.get(9..12).and_then(|c| c.parse().ok()).ok_or_else(|| format!("not HTTP: {buf:?}"))?;
    let body = buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    Ok((status, body))
}
