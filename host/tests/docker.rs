//! `hoist serve` end to end on the real Docker engine (no registry: the
//! demo image is built locally in setup). A canary of a bad v2 behind the
//! router is rolled back; afterwards only v1's containers remain, and none
//! once v1 is removed. Every test container is removed at the end, also on
//! failure. An unreachable engine fails the test with a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const HOIST: &str = env!("CARGO_BIN_EXE_hoist");
const IMAGE: &str = "hoist-demo:e2e";

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().expect("the docker CLI is not installed")
}

/// Fails (never skips) when the engine is unreachable; builds the image.
fn build_image() {
    let info = docker(&["version", "--format", "{{.Server.Version}}"]);
    assert!(
        info.status.success(),
        "the Docker engine is unreachable (DOCKER_HOST={:?}): {}",
        std::env::var("DOCKER_HOST").ok(),
        String::from_utf8_lossy(&info.stderr)
    );
    let target = "x86_64-unknown-linux-gnu";
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "-p", "hoist-demo-service", "--target", target])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "static demo build failed: {}", String::from_utf8_lossy(&out.stderr));
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("target").join(target).join("release/hoist-demo"), context.path().join("hoist-demo"))
        .unwrap();
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
    assert!(out.status.success(), "docker build failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Container names of a service (all states).
fn containers(service: &str) -> Vec<String> {
    let out = docker(&["ps", "-a", "--filter", &format!("label=hoist.service={service}"), "--format", "{{.Names}}"]);
    assert!(out.status.success(), "docker ps: {}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// Removes every container of the service, also when the test fails.
struct Cleanup(String);

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

struct Plane {
    dir: PathBuf,
    child: Option<Child>,
}

impl Plane {
    fn start(dir: &Path) -> Self {
        std::fs::write(
            dir.join("registry.toml"),
            r#"version = 1
[plugins.canary]
kind = "strategy"
source = "builtin:canary"
config = { initial-weight = 30, step-weight = 30, max-weight = 60, step-duration-ms = 4000, failure-threshold = 1 }

[plugins.threshold]
kind = "health-policy"
source = "builtin:threshold"
config = { max-error-rate = 0.05, min-requests = 20 }

[plugins.docker]
kind = "platform"
source = "builtin:docker"
capabilities = ["docker"]
config = { stop-timeout-secs = 2 }

[environments.test]
platform = "docker"
strategy = "canary"
health-policies = ["threshold"]
"#,
        )
        .unwrap();
        let mut plane = Self { dir: dir.to_path_buf(), child: None };
        let port = free_port();
        let child = Command::new(HOIST)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(plane.common())
            .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        plane.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dir.join("state/serve.addr").exists() {
            assert!(Instant::now() < deadline, "hoist serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        plane
    }

    fn common(&self) -> Vec<String> {
        let d = |p: &str| self.dir.join(p).display().to_string();
        vec!["--registry".into(), d("registry.toml"), "--state".into(), d("state"), "--cache-dir".into(), d("cache")]
    }

    fn hoist(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(HOIST).args(self.common()).args(args).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    fn log(&self) -> String {
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

fn get(port: u16) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.get(9..12).and_then(|c| c.parse().ok())
}

#[test]
fn a_bad_canary_on_docker_is_rolled_back_and_leaves_only_v1() {
    build_image();
    let service = format!("dk{}x{}", std::process::id(), Instant::now().elapsed().subsec_nanos() % 1000);
    let cleanup = Cleanup(service.clone());
    let dir = tempfile::tempdir().unwrap();
    let plane = Plane::start(dir.path());
    let router = free_port();
    let router_addr = format!("127.0.0.1:{router}");
    let deploy = |plane: &Plane, version: &str, extra: &[&str]| {
        let mut args = vec![
            "deploy", &service, "--env", "test", "--version", version, "--replicas", "2", "--image", IMAGE, "--port",
            "8080", "--probe-path", "/healthz", "--router", &router_addr, "--wait", "--set-env",
        ];
        let version_env = format!("DEMO_VERSION={version}");
        args.push(&version_env);
        args.extend(extra);
        plane.hoist(&args)
    };

    let (ok, out) = deploy(&plane, "v1", &[]);
    assert!(ok, "v1 did not complete: {out}\n{}", plane.log());
    let v1 = containers(&service);
    assert_eq!(v1.len(), 2, "{v1:?}");
    assert!(v1.iter().all(|n| n.starts_with(&format!("hoist-{service}-test-"))), "{v1:?}");
    assert_eq!(get(router), Some(200), "v1 serves through the router");

    // A control plane killed with -9 and restarted adopts v1's containers by
    // label: no duplicate, no orphan.
    drop(plane);
    let _ = std::fs::remove_file(dir.path().join("state/serve.addr"));
    let plane = Plane::start(dir.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, status) = plane.hoist(&["status", &service, "--env", "test"]);
        if status.contains(r#""ready":2"#) {
            break;
        }
        assert!(Instant::now() < deadline, "v1 not adopted after a restart: {status}\n{}", plane.log());
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(containers(&service), v1, "the restarted control plane adopted, not duplicated");

    // Load through the router while the bad v2 is canaried.
    let running = Arc::new(AtomicBool::new(true));
    let load = {
        let running = running.clone();
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                let _ = get(router);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let (ok, out) = deploy(&plane, "v2", &["--set-env", "DEMO_ERROR_RATE=0.5"]);
    running.store(false, Ordering::Relaxed);
    load.join().unwrap();
    assert!(!ok, "a bad v2 must not complete: {out}");
    assert!(out.contains("rolled-back") || out.contains("rolled back"), "v2 not rolled back: {out}\n{}", plane.log());
    let after = containers(&service);
    assert_eq!(after, v1, "only v1's containers remain after the rollback");
    assert_eq!(get(router), Some(200), "v1 still serves");

    // Ports are only on loopback.
    let ports = docker(&["ps", "--filter", &format!("label=hoist.service={service}"), "--format", "{{.Ports}}"]);
    let ports = String::from_utf8_lossy(&ports.stdout).into_owned();
    assert!(ports.lines().all(|l| l.starts_with("127.0.0.1:")), "{ports}");

    // A missing image is refused with a readable message (recorded on the
    // rollout, retried) and leaves no container behind; abort restores v1.
    let (ok, out) = plane.hoist(&[
        "deploy", &service, "--env", "test", "--version", "v3", "--image", "hoist-demo:absent", "--port", "8080",
        "--router", &router_addr,
    ]);
    assert!(ok, "{out}");
    let rollout = out.split_whitespace().nth(1).unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, log) = plane.hoist(&["log", &rollout]);
        if log.contains("image `hoist-demo:absent` is not present on the engine and no registry is configured") {
            break;
        }
        assert!(Instant::now() < deadline, "no readable missing-image error: {log}\n{}", plane.log());
        std::thread::sleep(Duration::from_millis(500));
    }
    let (ok, out) = plane.hoist(&["abort", &rollout, "--reason", "test"]);
    assert!(ok, "{out}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, status) = plane.hoist(&["status", &service, "--env", "test"]);
        if status.contains("aborted") {
            break;
        }
        assert!(Instant::now() < deadline, "abort did not end the rollout: {status}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(containers(&service), v1, "only v1's containers remain after the abort");
    assert_eq!(get(router), Some(200), "v1 still serves");

    // Cleanup removes every container of the service.
    drop(plane);
    drop(cleanup);
    assert_eq!(containers(&service), Vec::<String>::new());
}
