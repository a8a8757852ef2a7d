//! `hoist serve` end to end on real processes: a blue-green switch under
//! continuous load loses no request, and a control plane killed with -9
//! mid-rollout resumes on restart — adopting the instances it had started,
//! with no duplicate and no orphan — and a candidate killed during a long
//! canary step is seen at once (its exit wakes the driver; the watch is a
//! 10 s safety net).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::guards::Processes;
use support::http::get;
use support::load::Load;
use support::plane::{HOIST, Plane};
use support::ports::free_port;
use support::procs::{cmdline, pids_with};

/// `strategy` (configured with `config`) on local processes, environment `test`.
fn start(dir: &Path, strategy: &str, config: &str) -> Plane {
    let registry = format!(
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
    );
    Plane::start(dir, &registry)
}

/// `hoist deploy web` of 3 demo instances answering `VERSION-MARKER`; its stdout.
fn deploy(plane: &Plane, version: &str, marker: &str, router: u16, wait: bool, startup_ms: u32) -> String {
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
    let out = plane.output(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "deploy {version}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Pids of demo instances whose command line carries `marker`.
fn instances(marker: &str) -> Vec<i32> {
    pids_with(marker).into_iter().filter(|p| cmdline(*p).contains("demo-service")).collect()
}

#[test]
fn a_blue_green_switch_under_load_fails_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("bg{}", std::process::id());
    let _instances = Processes(marker.clone());
    let plane = start(dir.path(), "blue-green", "{ auto-promote = true, scale-down-delay-ms = 1000 }");
    let router = free_port();
    deploy(&plane, "v1", &marker, router, true, 200);
    let load = Load::start(router, 3);
    std::thread::sleep(Duration::from_millis(500));
    let out = deploy(&plane, "v2", &marker, router, true, 500);
    std::thread::sleep(Duration::from_millis(500));
    let (ok, failures) = load.stop();
    let body = get(router).unwrap().1;
    assert!(out.contains("completed"), "{out}");
    assert!(body.contains(&format!("v2-{marker}")), "{body}");
    assert!(ok > 200, "too little load to judge: {ok}");
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the switch: {:?}",
        failures.len(),
        ok + failures.len() as u64,
        &failures[..failures.len().min(5)]
    );
}

#[test]
fn a_candidate_killed_during_a_long_canary_step_is_seen_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("cw{}", std::process::id());
    let _instances = Processes(marker.clone());
    let canary = "{ initial-weight = 30, step-weight = 30, max-weight = 60, step-duration-ms = 60000 }";
    let plane = start(dir.path(), "canary", canary);
    let router = free_port();
    deploy(&plane, "v1", &marker, router, true, 0);
    let out = deploy(&plane, "v2", &marker, router, false, 0);
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    let v2 = format!("v2-{marker}");
    let candidate = support::wait::eventually(30, "a ready candidate", || {
        let s = plane.status("web");
        let ready = s["observed"]["revisions"]["r2"]["ready"].as_u64().unwrap_or(0) >= 1;
        ready.then(|| instances(&marker).into_iter().find(|p| cmdline(*p).contains(&v2))).flatten()
    });
    // Well into the step's 60 s wait, past any step the readiness caused.
    std::thread::sleep(Duration::from_millis(1_500));
    let killed = Instant::now();
    assert!(Command::new("kill").args(["-9", &candidate.to_string()]).status().unwrap().success());
    let seen = loop {
        if plane.log_of(&id).contains("of r2 has exited (killed by SIGKILL)") {
            break killed.elapsed();
        }
        assert!(killed.elapsed() < Duration::from_secs(20), "the exit is not in the log: {}", plane.log_of(&id));
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("candidate kill -9 during a canary step → recorded in {:.2} s", seen.as_secs_f64());
    assert!(seen < Duration::from_secs(3), "seen after {seen:?}: the exit event did not wake the driver");
    let (ok, out) = plane.hoist(&["abort", &id]);
    assert!(ok, "{out}");
}

#[test]
fn a_control_plane_killed_mid_rollout_resumes_and_adopts_its_instances() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("k9{}", std::process::id());
    let _instances = Processes(marker.clone());
    let mut plane = start(dir.path(), "rolling", r#"{ max-surge = 1, max-unavailable = 0 }"#);
    let router = free_port();
    deploy(&plane, "v1", &marker, router, true, 200);
    assert_eq!(instances(&marker).len(), 3);
    deploy(&plane, "v2", &marker, router, false, 1500);
    std::thread::sleep(Duration::from_millis(2500));
    plane.kill9();
    let during = instances(&marker).len();
    assert!(during >= 3, "instances must outlive the control plane: {during}");
    plane = Plane::restart(dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = plane.output(&["status", "web", "--env", "test", "--output", "json"]);
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
    assert_eq!((v1, v2), (0, 3), "exactly the new revision's 3 instances remain");
    assert!(body.contains(&format!("v2-{marker}")), "{body}");
}

#[test]
fn recreate_replaces_every_instance_and_leaves_none_of_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("rc{}", std::process::id());
    let _instances = Processes(marker.clone());
    let plane = start(dir.path(), "recreate", "{}");
    let router = free_port();
    deploy(&plane, "v1", &marker, router, true, 100);
    let out = deploy(&plane, "v2", &marker, router, true, 100);
    let pids = instances(&marker);
    let old = pids.iter().filter(|p| cmdline(**p).contains(&format!("v1-{marker}"))).count();
    let new = pids.iter().filter(|p| cmdline(**p).contains(&format!("v2-{marker}"))).count();
    let body = get(router).unwrap().1;
    assert!(out.contains("completed"), "{out}");
    assert_eq!((old, new), (0, 3));
    assert!(body.contains(&format!("v2-{marker}")), "{body}");
}

#[test]
fn a_restarted_control_plane_gives_a_service_at_rest_its_front_door_back() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("ar{}", std::process::id());
    let _instances = Processes(marker.clone());
    let mut plane = start(dir.path(), "rolling", r#"{ max-surge = 1, max-unavailable = 0 }"#);
    let router = free_port();
    deploy(&plane, "v1", &marker, router, true, 0);
    assert_eq!(get(router).map(|r| r.0), Ok(200));
    plane.kill9();
    assert!(get(router).is_err(), "the router died with the control plane");
    let _plane = Plane::restart(dir.path());
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
    assert!(body.contains(&format!("v1-{marker}")), "{body}");
    assert_eq!(left, 3, "the same 3 instances, adopted, none started again");
}
