//! The state store's disk fills up mid-rollout, for real (a small tmpfs
//! under the state directory, filled to ENOSPC): `deploy --wait` fails with
//! the store's error instead of hanging, `hoist status` says the rollout is
//! stuck and why, and once space is freed the rollout goes on to complete.
//! Needs root to mount the tmpfs; fails with that reason otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::plane::{HOIST, Plane};

const REGISTRY: &str = r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"
config = { max-surge = 1, max-unavailable = 0 }

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]

[environments.test]
platform = "local-process"
strategy = "rolling"
"#;

struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill it and needs root (CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(at.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros to `path` until the file system refuses more.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 << 10];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
}

fn deploy(plane: &Plane, version: &str, wait: bool) -> (bool, String) {
    deploy_service(plane, "web", version, wait)
}

fn deploy_service(plane: &Plane, service: &str, version: &str, wait: bool) -> (bool, String) {
    let mut args =
        vec!["deploy", service, "--env", "test", "--version", version, "--replicas", "2", "--probe-path", "/healthz"];
    if wait {
        args.push("--wait");
    }
    let marker = format!("{version}-diskfull-{}", std::process::id());
    args.extend(["--", HOIST, "demo-service", "--version", &marker, "--startup-ms", "1500"]);
    plane.hoist(&args)
}

#[test]
fn a_full_disk_fails_deploy_wait_with_the_stores_error_and_the_rollout_resumes_once_freed() {
    let dir = tempfile::tempdir().unwrap();
    let _mount = Mount::tmpfs(&dir.path().join("state"), "16m");
    let mut plane = Plane::start(dir.path(), REGISTRY);
    let (ok, out) = deploy(&plane, "v1", true);
    assert!(ok, "v1 deploys: {out}");

    // v2 rolls out while the disk fills under it.
    let waiter = {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let plane = Plane::attach(&dir);
            let started = Instant::now();
            (deploy(&plane, "v2", true), started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    let filler = dir.path().join("state/filler");
    fill(&filler);
    let ((ok, out), took) = waiter.join().unwrap();
    assert!(!ok, "a rollout whose steps cannot be stored does not complete: {out}");
    assert!(
        out.contains("cannot take its next step") && out.contains("database or disk is full"),
        "the store's own error: {out}"
    );
    assert!(took < Duration::from_secs(60), "deploy --wait failed promptly: {took:?}");

    // A new deploy on the full disk is refused with the same error.
    let (ok, out) = deploy_service(&plane, "api", "v1", true);
    assert!(!ok && out.contains("database or disk is full"), "{out}");

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, status) = plane.hoist(&["status", "web", "--env", "test"]);
        if status.contains("STUCK") {
            assert!(status.contains("database or disk is full"), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "status never said the rollout is stuck: {status}\n{}", plane.log());
        std::thread::sleep(Duration::from_millis(500));
    }

    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, status) = plane.hoist(&["status", "web", "--env", "test", "--output", "json"]);
        if status.contains("\"completed\"") {
            assert!(!status.contains("\"stuck\""), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rollout did not resume once space was freed: {status}\n{}",
            plane.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    plane.stop_instances();
}
