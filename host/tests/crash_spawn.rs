//! `hoist serve` killed in the one window a saved process table cannot
//! cover — after spawning an instance, before saving the table — at a
//! fault-injection point, not by a timing bet. The next `hoist serve`
//! finds the instance by the token in its environment and adopts it: the
//! rollout completes with exactly the replicas asked for, none duplicated,
//! none orphaned.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use support::plane::{HOIST, Plane, REGISTRY};
use support::procs::pids_with;

#[test]
fn a_host_killed_between_spawn_and_save_adopts_the_instance_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("registry.toml"), REGISTRY).unwrap();
    let marker = format!("crash-spawn-{}", std::process::id());
    let mut plane = Plane::restart_with_env(dir.path(), &[], &[("HOIST_FAULT_ABORT_AFTER_SPAWN", "1")]);
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
        "--",
        HOIST,
        "demo-service",
        "--version",
        &marker,
    ]);
    assert!(ok, "{out}");
    let status = plane.wait_exit(Duration::from_secs(30)).expect("the host aborts at the fault point");
    assert!(!status.success());
    let spawned = pids_with(&marker);
    assert_eq!(spawned.len(), 1, "one instance was spawned before the abort: {spawned:?}");
    let table = std::fs::read_to_string(dir.path().join("state/processes.json")).unwrap_or_default();
    assert!(!table.contains(&format!("\"pid\":{}", spawned[0])), "and the table never saw it: {table}");

    let mut plane = Plane::restart(dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, s) = plane.hoist(&["status", "web", "--env", "test", "--output", "json"]);
        if s.contains("\"completed\"") {
            break;
        }
        assert!(Instant::now() < deadline, "the rollout did not complete after the restart: {s}\n{}", plane.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    let running = pids_with(&marker);
    assert_eq!(running.len(), 3, "exactly the 3 replicas, none duplicated: {running:?}");
    assert!(running.contains(&spawned[0]), "the unsaved instance was adopted, not replaced: {running:?}");
    let table = std::fs::read_to_string(dir.path().join("state/processes.json")).unwrap();
    for pid in &running {
        assert!(table.contains(&format!("\"pid\":{pid}")), "{pid} is in the table: {table}");
    }
    plane.stop_instances();
}
