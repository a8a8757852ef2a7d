//! A live `hoist serve` with one service on a strategy that panics (Rust's
//! default hook, as people write plugins) and another on a good strategy,
//! rolling out at the same time: the good one completes, the bad one ends
//! rolled back with the panic in its decision log, and the operator verbs
//! still answer for it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::guards::Processes;
use support::plane::{HOIST, Plane};
use support::procs::pids_with;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"))
}

fn registry() -> String {
    let panicky = fixture("fixture_panic");
    let digest = hoist_registry::Digest::of_file(&panicky).expect("fixture_panic is built").to_hex();
    format!(
        r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"
config = {{ max-surge = 1, max-unavailable = 0 }}

[plugins.panicky]
kind = "strategy"
source = {path:?}
sha256 = "{digest}"

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
config = {{ stop-grace-ms = 2000 }}

[environments.test]
platform = "local-process"
strategy = "rolling"
"#,
        path = panicky.display().to_string()
    )
}

fn deploy(plane: &Plane, service: &str, strategy: &str, marker: &str, wait: bool) -> (bool, String) {
    let version = format!("{service}-{marker}");
    let mut args =
        vec!["deploy", service, "--env", "test", "--version", "v1", "--replicas", "2", "--strategy", strategy];
    args.extend(["--probe-path", "/healthz"]);
    if wait {
        args.push("--wait");
    }
    args.extend(["--", HOIST, "demo-service", "--version", &version, "--startup-ms", "300"]);
    plane.hoist(&args)
}

fn rollout_id(out: &str) -> String {
    out.split_whitespace()
        .skip_while(|w| *w != "rollout")
        .nth(1)
        .unwrap_or_else(|| panic!("no rollout id in {out}"))
        .to_string()
}

fn status(plane: &Plane, service: &str) -> serde_json::Value {
    let (ok, out) = plane.hoist(&["status", service, "--env", "test", "--output", "json"]);
    assert!(ok, "status {service}: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("status {service}: {e}: {out}"))
}

fn running_instances(marker: &str) -> usize {
    pids_with(marker).len()
}

#[test]
fn a_panicking_strategy_fails_only_its_own_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let plane = Plane::start(dir.path(), &registry());
    let marker = format!("hostile-{}", std::process::id());
    let _cleanup = Processes(marker.clone());

    let (ok, bad) = deploy(&plane, "bad", "panicky", &marker, false);
    assert!(ok, "the bad deploy is accepted: {bad}");
    let bad_id = rollout_id(&bad);
    let good = {
        let plane_dir = dir.path().to_path_buf();
        let marker = marker.clone();
        std::thread::spawn(move || {
            let plane = Plane::attach(&plane_dir);
            deploy(&plane, "good", "rolling", &marker, true)
        })
    };
    let (ok, aborted) = plane.hoist(&["abort", &bad_id, "--reason", "panicking strategy"]);
    assert!(ok, "abort answers for the bad rollout: {aborted}");

    let (ok, good_out) = good.join().unwrap();
    assert!(ok, "the good rollout completes while the bad one fails: {good_out}\n{}", plane.log());
    assert_eq!(status(&plane, "good")["rollout"]["phase"], "completed");

    let deadline = Instant::now() + Duration::from_secs(60);
    let phase = loop {
        let s = status(&plane, "bad");
        let phase = s["rollout"]["phase"].as_str().unwrap_or_default().to_string();
        if ["aborted", "rolled-back", "failed"].contains(&phase.as_str()) {
            break phase;
        }
        assert!(Instant::now() < deadline, "the bad rollout did not end: {s}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(phase == "aborted" || phase == "rolled-back", "the bad rollout is rolled back, not left failed: {phase}");

    let (ok, log) = plane.hoist(&["log", &bad_id]);
    assert!(ok, "{log}");
    assert!(
        log.contains("plugin `panicky` panicked: fixture panicked on purpose"),
        "the panic is in the decision log: {log}"
    );
    assert!(log.contains("abort"), "the abort is in the decision log: {log}");

    // Nothing of the bad service keeps running; the good one's 2 serve.
    let deadline = Instant::now() + Duration::from_secs(20);
    while running_instances(&format!("bad-{marker}")) > 0 {
        assert!(Instant::now() < deadline, "the bad rollout left instances running");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(running_instances(&format!("good-{marker}")), 2);
}
