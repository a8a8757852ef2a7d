//! Desired state held at rest, on real processes: an instance `kill -9`ed
//! after its rollout completed is replaced and serves again, recorded in the
//! service's log and counted by `hoist status`; a service whose new
//! instances keep crashing is restarted with growing gaps and shown as
//! crash-looping, then recovers once it can run again; a control plane
//! restarted while one backs off keeps the backoff (no restart storm).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use support::plane::{HOIST, Plane};
use support::procs::pids_with;

const REGISTRY: &str = r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
config = { stop-grace-ms = 1000 }

[environments.test]
platform = "local-process"
strategy = "rolling"
"#;

fn kill9(pid: i32) {
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

#[test]
fn an_instance_killed_at_rest_is_replaced_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut plane = Plane::start(dir.path(), REGISTRY);
    let marker = format!("heal-{}", std::process::id());
    let (ok, out) = plane.hoist(&[
        "deploy",
        "web",
        "--env",
        "test",
        "--version",
        "v1",
        "--replicas",
        "3",
        "--probe-path",
        "/healthz",
        "--wait",
        "--",
        HOIST,
        "demo-service",
        "--version",
        &marker,
    ]);
    assert!(ok, "{out}");
    let before = pids_with(&marker);
    assert_eq!(before.len(), 3, "{before:?}");
    kill9(before[1]);
    let took = wait_for("a replacement runs", Duration::from_secs(20), || {
        let now = pids_with(&marker);
        now.len() == 3 && !now.contains(&before[1])
    });
    eprintln!("replaced in {took:?}");
    let (ok, status) = plane.hoist(&["status", "web", "--env", "test", "--output", "json"]);
    assert!(ok, "{status}");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["healing"]["restarts"], 1, "{status}");
    assert_eq!(status["healing"]["last_exit"], "killed by SIGKILL", "{status}");
    let (ok, log) = plane.hoist(&["log", "web", "--env", "test"]);
    assert!(ok, "{log}");
    assert!(log.contains("heal") && log.contains("killed by SIGKILL") && log.contains("replacing"), "{log}");
    // Its replacement serves: the readiness count comes back to 3.
    wait_for("3 ready again", Duration::from_secs(20), || {
        let (_, s) = plane.hoist(&["status", "web", "--env", "test", "--output", "json"]);
        let s: serde_json::Value = serde_json::from_str(&s).unwrap_or_default();
        s["observed"]["revisions"]["r1"]["ready"] == 3
    });
    plane.stop_instances();
}

#[test]
fn a_crash_loop_backs_off_with_growing_gaps_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut plane = Plane::start(dir.path(), REGISTRY);
    let marker = format!("crashloop-{}", std::process::id());
    let flag = dir.path().join("broken");
    // Runs the demo service unless the flag file exists, then exits 3.
    let script = format!("if [ -e {} ]; then exit 3; fi; exec {HOIST} demo-service --version {marker}", flag.display());
    let (ok, out) = plane.hoist(&[
        "deploy",
        "db",
        "--env",
        "test",
        "--version",
        "v1",
        "--replicas",
        "1",
        "--probe-path",
        "/healthz",
        "--wait",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert!(ok, "{out}");
    let first = pids_with(&marker);
    assert_eq!(first.len(), 1);
    std::fs::write(&flag, "").unwrap();
    kill9(first[0]);

    // At least four replacements, each one after a longer wait.
    let heals = |plane: &Plane| -> Vec<u64> {
        let (_, log) = plane.hoist(&["log", "db", "--env", "test", "--output", "json"]);
        let records: Vec<serde_json::Value> = serde_json::from_str(&log).unwrap_or_default();
        records.iter().filter(|r| r["kind"] == "heal").filter_map(|r| r["at_ms"].as_u64()).collect()
    };
    wait_for("four replacements", Duration::from_secs(40), || heals(&plane).len() >= 4);
    let at = heals(&plane);
    let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.windows(2).all(|g| g[1] > g[0]), "each wait is longer than the last: {gaps:?}");
    let (_, status) = plane.hoist(&["status", "db", "--env", "test"]);
    assert!(status.contains("CRASH-LOOPING") && status.contains("exit code 3"), "{status}");

    std::fs::remove_file(&flag).unwrap();
    wait_for("the service runs again", Duration::from_secs(60), || pids_with(&marker).len() == 1);
    plane.stop_instances();
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn a_restarted_control_plane_keeps_the_backoff_of_a_crash_loop() {
    let dir = tempfile::tempdir().unwrap();
    let mut plane = Plane::start(dir.path(), REGISTRY);
    let marker = format!("restartloop-{}", std::process::id());
    let flag = dir.path().join("broken");
    let script = format!("if [ -e {} ]; then exit 3; fi; exec {HOIST} demo-service --version {marker}", flag.display());
    let (ok, out) = plane.hoist(&[
        "deploy",
        "db",
        "--env",
        "test",
        "--version",
        "v1",
        "--probe-path",
        "/healthz",
        "--wait",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert!(ok, "{out}");
    let first = pids_with(&marker);
    assert_eq!(first.len(), 1);
    std::fs::write(&flag, "").unwrap();
    kill9(first[0]);

    let heals = |plane: &Plane| -> Vec<serde_json::Value> {
        let (_, log) = plane.hoist(&["log", "db", "--env", "test", "--output", "json"]);
        let records: Vec<serde_json::Value> = serde_json::from_str(&log).unwrap_or_default();
        records.into_iter().filter(|r| r["kind"] == "heal").collect()
    };
    // The fourth replacement waits 8 s for the fifth.
    let mut last = serde_json::Value::Null;
    wait_for("a backoff of 4 s or more", Duration::from_secs(40), || {
        last = heals(&plane).pop().unwrap_or_default();
        last["input"]["attempts"].as_u64() >= Some(4)
    });
    let (at, due) = (last["at_ms"].as_u64().unwrap(), last["input"]["next_at_ms"].as_u64().unwrap());
    assert!(due - at >= 4_000, "{last}");

    plane.kill9();
    let plane = Plane::restart(dir.path());
    let up = now_ms();
    assert!(up + 1_000 < due, "the control plane took too long to restart for this test ({} ms left)", due - up);
    std::thread::sleep(Duration::from_millis(1_000));
    let storm: Vec<u64> =
        heals(&plane).iter().filter_map(|r| r["at_ms"].as_u64()).filter(|t| (up..up + 1_000).contains(t)).collect();
    assert!(storm.is_empty(), "replacements in the first second after the restart: {storm:?}");

    let mut after = Vec::new();
    wait_for("the next replacement", Duration::from_secs(30), || {
        after = heals(&plane).into_iter().filter(|r| r["at_ms"].as_u64() > Some(at)).collect();
        !after.is_empty()
    });
    let next = &after[0];
    assert!(next["at_ms"].as_u64().unwrap() >= due, "not before the backoff said ({due}): {next}");
    assert_eq!(next["input"]["attempts"].as_u64().unwrap(), last["input"]["attempts"].as_u64().unwrap() + 1, "{next}");
    assert_eq!(next["input"]["restarts"].as_u64().unwrap(), last["input"]["restarts"].as_u64().unwrap() + 1, "{next}");
    eprintln!(
        "backoff {} ms; restarted control plane replaced {} ms after the last replacement",
        due - at,
        next["at_ms"].as_u64().unwrap() - at
    );
    let (_, status) = plane.hoist(&["status", "db", "--env", "test"]);
    assert!(status.contains("CRASH-LOOPING"), "{status}");
    let mut plane = plane;
    plane.kill9();
    plane.stop_instances();
}

#[test]
fn scale_up_and_down_at_rest_with_traffic_flowing_fails_no_request() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let mut plane = Plane::start(dir.path(), REGISTRY);
    let marker = format!("scale-{}", std::process::id());
    let front = support::ports::free_port();
    let router = format!("127.0.0.1:{front}");
    let (ok, out) = plane.hoist(&[
        "deploy",
        "web",
        "--env",
        "test",
        "--version",
        "v1",
        "--replicas",
        "2",
        "--probe-path",
        "/healthz",
        "--router",
        &router,
        "--wait",
        "--",
        HOIST,
        "demo-service",
        "--version",
        &marker,
    ]);
    assert!(ok, "{out}");
    let running = Arc::new(AtomicBool::new(true));
    let (served, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = {
        let (running, served, failed) = (running.clone(), served.clone(), failed.clone());
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                match support::http::get(front) {
                    Ok((200, _)) => served.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    let ready_count = |plane: &Plane| -> u64 {
        let (_, s) = plane.hoist(&["status", "web", "--env", "test", "--output", "json"]);
        let s: serde_json::Value = serde_json::from_str(&s).unwrap_or_default();
        s["observed"]["revisions"]["r1"]["ready"].as_u64().unwrap_or(0)
    };

    let (ok, out) = plane.hoist(&["scale", "web", "--env", "test", "--replicas", "4", "--reason", "traffic peak"]);
    assert!(ok, "{out}");
    assert!(out.contains("2 → 4 replicas of r1"), "{out}");
    wait_for("4 ready", Duration::from_secs(30), || ready_count(&plane) == 4 && pids_with(&marker).len() == 4);
    let (ok, out) = plane.hoist(&["scale", "web", "--env", "test", "--replicas", "1"]);
    assert!(ok, "{out}");
    wait_for("1 left", Duration::from_secs(30), || pids_with(&marker).len() == 1 && ready_count(&plane) == 1);
    std::thread::sleep(Duration::from_secs(2));
    running.store(false, Ordering::Relaxed);
    load.join().unwrap();
    assert!(served.load(Ordering::Relaxed) > 50, "traffic flowed");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request failed while scaling ({} served)",
        served.load(Ordering::Relaxed)
    );

    // Held: the healer keeps the scaled count, not the deployed one.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(pids_with(&marker).len(), 1);
    let (_, log) = plane.hoist(&["log", "web", "--env", "test"]);
    assert!(log.contains("scale") && log.contains("traffic peak"), "{log}");
    let (_, history) = plane.hoist(&["history", "web", "--env", "test"]);
    assert!(history.contains("kept revisions: r1 (v1)"), "no new revision: {history}");

    // A scale while a rollout is in flight is refused, naming it.
    let (ok, _) = plane.hoist(&[
        "deploy",
        "web",
        "--env",
        "test",
        "--version",
        "v2",
        "--replicas",
        "1",
        "--probe-path",
        "/healthz",
        "--",
        HOIST,
        "demo-service",
        "--version",
        &marker,
        "--startup-ms",
        "3000",
    ]);
    assert!(ok);
    let (ok, out) = plane.hoist(&["scale", "web", "--env", "test", "--replicas", "3"]);
    assert!(!ok && out.contains("web.test.2"), "{out}");
    plane.stop_instances();
}
