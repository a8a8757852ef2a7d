//! `hoist serve` end to end on real processes: a blue-green switch under
//! continuous load loses no request, and a control plane killed with -9
//! mid-rollout resumes on restart — adopting the instances it had started,
//! with no duplicate and no orphan.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const HOIST: &str = env!("CARGO_BIN_EXE_hoist");

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

struct Plane {
    dir: PathBuf,
    registry: PathBuf,
    cache: PathBuf,
    child: Option<Child>,
}

impl Plane {
    fn new(dir: &Path, strategy: &str, config: &str) -> Self {
        let registry = dir.join("registry.toml");
        std::fs::write(
            &registry,
            format!(
                r#"version = 1
[plugins.{strategy}]
kind = "strategy"
source = "builtin:{strategy}"
config = {config}

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
config = {{ stop-grace-ms = 3000 }}

[environments.test]
platform = "local-process"
strategy = "{strategy}"
"#
            ),
        )
        .unwrap();
        let mut plane = Self { dir: dir.to_path_buf(), registry, cache: dir.join("cache"), child: None };
        plane.start();
        plane
    }

    fn start(&mut self) {
        let _ = std::fs::remove_file(self.dir.join("state/serve.addr"));
        let port = free_port();
        let child = Command::new(HOIST)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(self.common())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.dir.join("state/serve.addr").exists() {
            assert!(Instant::now() < deadline, "hoist serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn common(&self) -> Vec<String> {
        vec![
            "--registry".into(),
            self.registry.display().to_string(),
            "--state".into(),
            self.dir.join("state").display().to_string(),
            "--cache-dir".into(),
            self.cache.display().to_string(),
        ]
    }

    fn hoist(&self, args: &[&str]) -> std::process::Output {
        Command::new(HOIST).args(self.common()).args(args).output().unwrap()
    }

    fn deploy(&self, version: &str, marker: &str, router: u16, wait: bool, startup_ms: u32) -> String {
        let mut args =
            vec!["deploy", "web", "--env", "test", "--version", version, "--replicas", "3", "--probe-path", "/healthz"];
        let router = format!("127.0.0.1:{router}");
        args.extend(["--router", &router]);
        if wait {
            args.push("--wait");
        }
        let startup = startup_ms.to_string();
        let version_arg = format!("{version}-{marker}");
        args.extend(["--", HOIST, "demo-service", "--version", &version_arg, "--startup-ms", &startup]);
        let out = self.hoist(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "deploy {version}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Pids of demo instances whose command line carries `marker`.
fn instances(marker: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&cmd);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().and_then(|r| r.split_whitespace().next()) == Some("Z");
        if cmd.contains("demo-service") && cmd.contains(marker) && !zombie {
            pids.push(pid);
        }
    }
    pids
}

fn cleanup(marker: &str) {
    for pid in instances(marker) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
}

/// One GET through the router; the body on 200.
fn get(port: u16) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).map_err(|e| e.to_string())?;
    let status = buf.get(9..12).and_then(|c| c.parse().ok()).ok_or_else(|| format!("bad response: {buf:?}"))?;
    Ok((status, buf.rsplit("\r\n\r\n").next().unwrap_or("").to_string()))
}

struct LoadCount {
    ok: AtomicU64,
    failed: AtomicU64,
}

fn load(port: u16, running: Arc<AtomicBool>, count: Arc<LoadCount>) -> Vec<std::thread::JoinHandle<()>> {
    (0..3)
        .map(|_| {
            let (running, count) = (running.clone(), count.clone());
            std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    match get(port) {
                        Ok((200, _)) => count.ok.fetch_add(1, Ordering::Relaxed),
                        _ => count.failed.fetch_add(1, Ordering::Relaxed),
                    };
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        })
        .collect()
}

#[test]
fn a_blue_green_switch_under_load_fails_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("bg{}", std::process::id());
    let plane = Plane::new(dir.path(), "blue-green", "{ auto-promote = true, scale-down-delay-ms = 1000 }");
    let router = free_port();
    plane.deploy("v1", &marker, router, true, 200);
    let running = Arc::new(AtomicBool::new(true));
    let count = Arc::new(LoadCount { ok: AtomicU64::new(0), failed: AtomicU64::new(0) });
    let threads = load(router, running.clone(), count.clone());
    std::thread::sleep(Duration::from_millis(500));
    let out = plane.deploy("v2", &marker, router, true, 500);
    std::thread::sleep(Duration::from_millis(500));
    running.store(false, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let (ok, failed) = (count.ok.load(Ordering::Relaxed), count.failed.load(Ordering::Relaxed));
    let body = get(router).unwrap().1;
    cleanup(&marker);
    assert!(out.contains("completed"), "{out}");
    assert!(body.contains(&format!("v2-{marker}")), "{body}");
    assert!(ok > 200, "too little load to judge: {ok}");
    assert_eq!(failed, 0, "{failed} of {} requests failed during the switch", ok + failed);
}

#[test]
fn a_control_plane_killed_mid_rollout_resumes_and_adopts_its_instances() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("k9{}", std::process::id());
    let mut plane = Plane::new(dir.path(), "rolling", r#"{ max-surge = 1, max-unavailable = 0 }"#);
    let router = free_port();
    plane.deploy("v1", &marker, router, true, 200);
    assert_eq!(instances(&marker).len(), 3);
    plane.deploy("v2", &marker, router, false, 1500);
    std::thread::sleep(Duration::from_millis(2500));
    plane.kill9();
    let during = instances(&marker).len();
    assert!(during >= 3, "instances must outlive the control plane: {during}");
    plane.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = plane.hoist(&["status", "web", "--env", "test", "--output", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if v["rollout"]["phase"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "rollout did not resume: {v}");
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_millis(500));
    let pids = instances(&marker);
    let v1 = pids.iter().filter(|p| cmdline(**p).contains(&format!("v1-{marker}"))).count();
    let v2 = pids.iter().filter(|p| cmdline(**p).contains(&format!("v2-{marker}"))).count();
    let body = get(router).unwrap().1;
    cleanup(&marker);
    assert_eq!((v1, v2), (0, 3), "exactly the new revision's 3 instances remain");
    assert!(body.contains(&format!("v2-{marker}")), "{body}");
}

fn cmdline(pid: u32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default()).replace('\0', " ")
}

#[test]
fn recreate_replaces_every_instance_and_leaves_none_of_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("rc{}", std::process::id());
    let plane = Plane::new(dir.path(), "recreate", "{}");
    let router = free_port();
    plane.deploy("v1", &marker, router, true, 100);
    let out = plane.deploy("v2", &marker, router, true, 100);
    let pids = instances(&marker);
    let old = pids.iter().filter(|p| cmdline(**p).contains(&format!("v1-{marker}"))).count();
    let new = pids.iter().filter(|p| cmdline(**p).contains(&format!("v2-{marker}"))).count();
    let body = get(router).unwrap().1;
    cleanup(&marker);
    assert!(out.contains("completed"), "{out}");
    assert_eq!((old, new), (0, 3));
    assert!(body.contains(&format!("v2-{marker}")), "{body}");
}

#[test]
fn a_restarted_control_plane_gives_a_service_at_rest_its_front_door_back() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("ar{}", std::process::id());
    let mut plane = Plane::new(dir.path(), "rolling", r#"{ max-surge = 1, max-unavailable = 0 }"#);
    let router = free_port();
    plane.deploy("v1", &marker, router, true, 0);
    assert_eq!(get(router).map(|r| r.0), Ok(200));
    plane.kill9();
    assert!(get(router).is_err(), "the router died with the control plane");
    plane.start();
    // No rollout is in flight: the at-rest watcher brings the front door
    // back on the current revision and routes to its adopted instances.
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        match get(router) {
            Ok((200, body)) => break body,
            other => assert!(Instant::now() < deadline, "no front door after the restart: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let left = instances(&marker).len();
    cleanup(&marker);
    assert!(body.contains(&format!("v1-{marker}")), "{body}");
    assert_eq!(left, 3, "the same 3 instances, adopted, none started again");
}
