//! What every Docker end-to-end test needs: the demo image built once, a
//! `hoist serve` on its own state, the containers of a service by label, a
//! guard that removes them even when the test fails, and load through the
//! router.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub const HOIST: &str = env!("CARGO_BIN_EXE_hoist");
pub const IMAGE: &str = "hoist-demo:e2e";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().expect("the docker CLI is not installed")
}

/// A service name no other test (nor a parallel run) uses.
pub fn service(tag: &str) -> String {
    format!("dk{tag}{}", std::process::id())
}

/// Fails (never skips) when the engine is unreachable; builds the image
/// once per test process (tests run in parallel threads).
pub fn build_image() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = BUILT.get_or_init(build) {
        panic!("{e}");
    }
}

fn build() -> Result<(), String> {
    let info = docker(&["version", "--format", "{{.Server.Version}}"]);
    if !info.status.success() {
        return Err(format!(
            "the Docker engine is unreachable (DOCKER_HOST={:?}): {}",
            std::env::var("DOCKER_HOST").ok(),
            String::from_utf8_lossy(&info.stderr)
        ));
    }
    let target = "x86_64-unknown-linux-gnu";
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "-p", "hoist-demo-service", "--target", target])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .current_dir(root())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("static demo build failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let context = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::copy(root().join("target").join(target).join("release/hoist-demo"), context.path().join("hoist-demo"))
        .map_err(|e| e.to_string())?;
    let dockerfile = root().join("tests/docker/Dockerfile");
    let out = docker(&[
        "build",
        "-q",
        "-t",
        IMAGE,
        "-f",
        &dockerfile.display().to_string(),
        &context.path().display().to_string(),
    ]);
    if !out.status.success() {
        return Err(format!("docker build failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

/// One container as `docker ps -a` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Container {
    pub name: String,
    pub revision: String,
    /// `running`, `exited`, `created`, …
    pub state: String,
    pub id: String,
}

/// Every container of a service (all states), by name.
pub fn containers_of(service: &str) -> Vec<Container> {
    let out = docker(&[
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        &format!("label=hoist.service={service}"),
        "--format",
        "{{.Names}}\t{{.Label \"hoist.revision\"}}\t{{.State}}\t{{.ID}}",
    ]);
    assert!(out.status.success(), "docker ps: {}", String::from_utf8_lossy(&out.stderr));
    let mut list: Vec<Container> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(Container {
                name: f.next()?.to_owned(),
                revision: f.next()?.to_owned(),
                state: f.next()?.to_owned(),
                id: f.next()?.to_owned(),
            })
        })
        .collect();
    list.sort();
    list
}

/// Container names of a service (all states).
pub fn containers(service: &str) -> Vec<String> {
    containers_of(service).into_iter().map(|c| c.name).collect()
}

/// (revision, state) of every container of a service, sorted.
pub fn revisions_and_states(service: &str) -> Vec<(String, String)> {
    containers_of(service).into_iter().map(|c| (c.revision, c.state)).collect()
}

/// Removes every container of the service, also when the test fails.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let out = docker(&["ps", "-aq", "--filter", &format!("label=hoist.service={}", self.0)]);
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = docker(&args);
        }
    }
}

/// A registry whose `test` environment runs `strategy` (configured with
/// `config`) on `builtin:docker`, with the threshold policy if `analysed`.
pub fn registry(strategy: &str, config: &str, analysed: bool) -> String {
    format!(
        r#"version = 1
[plugins.{strategy}]
kind = "strategy"
source = "builtin:{strategy}"
config = {config}

[plugins.threshold]
kind = "health-policy"
source = "builtin:threshold"
config = {{ max-error-rate = 0.05, min-requests = 20 }}

[plugins.docker]
kind = "platform"
source = "builtin:docker"
capabilities = ["docker"]
config = {{ stop-timeout-secs = 2 }}

[environments.test]
platform = "docker"
strategy = "{strategy}"
health-policies = [{}]
"#,
        if analysed { "\"threshold\"" } else { "" }
    )
}

/// A `hoist serve` on its own state directory; killed (-9) when dropped.
pub struct Plane {
    dir: PathBuf,
    child: Option<Child>,
}

impl Plane {
    pub fn start(dir: &Path, registry: &str) -> Self {
        Self::start_with(dir, registry, &[])
    }

    /// With extra environment variables for `hoist serve` (DOCKER_HOST).
    pub fn start_with(dir: &Path, registry: &str, env: &[(&str, &str)]) -> Self {
        std::fs::write(dir.join("registry.toml"), registry).unwrap();
        let mut plane = Self { dir: dir.to_path_buf(), child: None };
        let _ = std::fs::remove_file(dir.join("state/serve.addr"));
        let port = free_port();
        let child = Command::new(HOIST)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(plane.common())
            .envs(env.iter().copied())
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

    fn common(&self) -> Vec<String> {
        let d = |p: &str| self.dir.join(p).display().to_string();
        vec!["--registry".into(), d("registry.toml"), "--state".into(), d("state"), "--cache-dir".into(), d("cache")]
    }

    /// Runs a `hoist` command against this plane: (exit 0, stdout + stderr).
    pub fn hoist(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(HOIST).args(self.common()).args(args).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// `hoist deploy SERVICE --env test` of the demo image behind `router`,
    /// answering `{"version":VERSION}`.
    pub fn deploy(
        &self,
        service: &str,
        version: &str,
        replicas: u32,
        router: u16,
        wait: bool,
        extra: &[&str],
    ) -> (bool, String) {
        let (replicas, router, version_env) =
            (replicas.to_string(), format!("127.0.0.1:{router}"), format!("DEMO_VERSION={version}"));
        let mut args = vec![
            "deploy",
            service,
            "--env",
            "test",
            "--version",
            version,
            "--replicas",
            &replicas,
            "--image",
            IMAGE,
            "--port",
            "8080",
            "--probe-path",
            "/healthz",
            "--router",
            &router,
            "--set-env",
            &version_env,
        ];
        if wait {
            args.push("--wait");
        }
        args.extend(extra);
        self.hoist(&args)
    }

    /// Deploys without waiting; returns the rollout id.
    pub fn start_rollout(&self, service: &str, version: &str, replicas: u32, router: u16) -> String {
        let (ok, out) = self.deploy(service, version, replicas, router, false, &[]);
        assert!(ok, "{out}");
        out.split_whitespace().nth(1).unwrap().to_owned()
    }

    /// `hoist status --output json`.
    pub fn status(&self, service: &str) -> serde_json::Value {
        let (ok, out) = self.hoist(&["status", service, "--env", "test", "--output", "json"]);
        assert!(ok, "hoist status: {out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("status is not JSON ({e}): {out}"))
    }

    /// The rollout as `hoist history --output json` lists it.
    pub fn rollout(&self, service: &str, id: &str) -> serde_json::Value {
        let (ok, out) = self.hoist(&["history", service, "--env", "test", "--output", "json"]);
        assert!(ok, "hoist history: {out}");
        let history: serde_json::Value = serde_json::from_str(&out).unwrap();
        history["rollouts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id}: {out}"))
    }

    /// Polls until the rollout has ended; returns it.
    pub fn wait_ended(&self, service: &str, id: &str, secs: u64) -> serde_json::Value {
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

/// Polls `check` every 250 ms until it yields, for at most `secs`.
pub fn eventually<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// One GET / through the router: (status, body).
pub fn get(port: u16) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).map_err(|e| e.to_string())?;
    let status = buf.get(9..12).and_then(|c| c.parse().ok()).ok_or_else(|| format!("bad response: {buf:?}"))?;
    Ok((status, buf.rsplit("\r\n\r\n").next().unwrap_or("").to_string()))
}

/// Clients hitting the router without pause until stopped.
pub struct Load {
    running: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    pub fn start(port: u16, clients: usize) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let ok = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|_| {
                let (running, ok, failures) = (running.clone(), ok.clone(), failures.clone());
                std::thread::spawn(move || {
                    while running.load(Ordering::Relaxed) {
                        match get(port) {
                            Ok((200, _)) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok((status, body)) => failures.lock().unwrap().push(format!("{status} {body}")),
                            Err(e) => failures.lock().unwrap().push(e),
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        Self { running, ok, failures, threads }
    }

    /// Stops the clients: (requests answered 200, failures).
    pub fn stop(mut self) -> (u64, Vec<String>) {
        self.running.store(false, Ordering::Relaxed);
        for t in std::mem::take(&mut self.threads) {
            t.join().unwrap();
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.ok.load(Ordering::Relaxed), failures)
    }
}

impl Drop for Load {
    /// A failed test stops its clients too.
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
    }
}
