//! `hoist stack` end to end on real processes: a five-service stack starts
//! in dependency order; an update whose `worker` never becomes ready rolls
//! back exactly the services this stack rollout updated, dependents first,
//! and leaves the unchanged ones alone; `hoist stack rollback` returns the
//! last completed update.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::guards::Processes;
use support::plane::{HOIST, Plane};
use support::procs::pids_with;

const REGISTRY: &str = r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"
config = { max-surge = 1, max-unavailable = 0, progress-deadline-ms = 4000 }

[plugins.recreate]
kind = "strategy"
source = "builtin:recreate"

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
config = { stop-grace-ms = 2000 }

[environments.test]
platform = "local-process"
strategy = "rolling"
"#;

/// Writes the stack file `dir/name` for `versions` (service → (version,
/// startup ms)); every instance's command line carries `marker`.
fn stack_file(dir: &Path, marker: &str, name: &str, versions: &BTreeMap<&str, (&str, u32)>) -> PathBuf {
    let deps: BTreeMap<&str, &str> = [
        ("db", ""),
        ("cache", ""),
        ("api", "{ db = \"healthy\", cache = \"started\" }"),
        ("worker", "{ api = \"healthy\" }"),
        ("web", "{ api = \"healthy\" }"),
    ]
    .into_iter()
    .collect();
    let mut text = "version = 1\nname = \"shop\"\n".to_string();
    for (service, (version, startup)) in versions {
        let strategy = if *service == "cache" { "strategy = \"recreate\"\n" } else { "" };
        let depends = match deps[service] {
            "" => String::new(),
            d => format!("depends_on = {d}\n"),
        };
        text.push_str(&format!(
            "\n[services.{service}]\nversion = \"{version}\"\ncommand = [\"{HOIST}\", \"demo-service\", \"--version\", \"{service}-{version}-{marker}\", \"--startup-ms\", \"{startup}\"]\nprobe_path = \"/healthz\"\n{strategy}{depends}"
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn current(plane: &Plane, service: &str) -> String {
    let s = plane.json(&["status", service, "--env", "test", "--output", "json"]);
    s["current"]["version"].as_str().unwrap_or("none").to_string()
}

fn revisions(plane: &Plane, service: &str) -> usize {
    let h = plane.json(&["history", service, "--env", "test", "--output", "json"]);
    h["revisions"].as_array().map_or(0, Vec::len)
}

/// Live (non-zombie) processes whose command line contains `needle`.
fn processes(needle: &str) -> usize {
    pids_with(needle).len()
}

fn ms(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a time: {v}"))
}

#[test]
fn stack_starts_in_order_and_a_failure_rolls_back_exactly_what_was_updated() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("stk{}", std::process::id());
    let _instances = Processes(marker.clone());
    let plane = Plane::start(dir.path(), REGISTRY);

    // v1: everything new. cache is slow to become healthy, but api only
    // needs it started; db must be healthy first.
    let v1: BTreeMap<&str, (&str, u32)> =
        [("db", ("v1", 800)), ("cache", ("v1", 3000)), ("api", ("v1", 0)), ("worker", ("v1", 0)), ("web", ("v1", 0))]
            .into_iter()
            .collect();
    let file = stack_file(dir.path(), &marker, "v1.toml", &v1);
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test", "--wait"]);
    assert!(ok, "stack v1: {out}");
    let s = plane.json(&["stack", "status", "shop", "--env", "test", "--output", "json"]);
    assert_eq!(s["phase"], "completed", "{s:#}");
    let svc = |name: &str| s["services"][name].clone();
    // Nobody starts before its own dependencies meet their conditions...
    assert!(ms(&svc("api")["started_at_ms"]) >= ms(&svc("db")["ready_at_ms"]), "api before db healthy: {s:#}");
    assert!(ms(&svc("worker")["started_at_ms"]) >= ms(&svc("api")["ready_at_ms"]));
    assert!(ms(&svc("web")["started_at_ms"]) >= ms(&svc("api")["ready_at_ms"]));
    // ...and independent services start together, not in waves.
    assert!(ms(&svc("db")["started_at_ms"]).abs_diff(ms(&svc("cache")["started_at_ms"])) < 500, "{s:#}");
    // `cache = "started"`: api did not wait for cache to be healthy.
    assert!(ms(&svc("api")["started_at_ms"]) < ms(&svc("cache")["ready_at_ms"]), "{s:#}");
    for name in ["db", "cache", "api", "worker", "web"] {
        assert_eq!(current(&plane, name), "v1", "{name}");
    }

    // v2: db and cache unchanged; api and web good, worker never ready.
    let mut v2 = v1.clone();
    v2.insert("api", ("v2", 0));
    v2.insert("web", ("v2", 0));
    v2.insert("worker", ("v2", 600_000));
    let file = stack_file(dir.path(), &marker, "v2.toml", &v2);
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test", "--wait"]);
    assert!(!ok, "a stack rollout with a failing service must not exit 0: {out}");
    let s = plane.json(&["stack", "status", "shop", "--env", "test", "--output", "json"]);
    assert_eq!(s["phase"], "rolled-back", "{s:#}");
    let state = |name: &str| s["services"][name]["state"].as_str().unwrap().to_string();
    assert_eq!(state("db"), "unchanged");
    assert_eq!(state("cache"), "unchanged");
    assert_eq!(state("worker"), "failed", "worker's own rollout rolled it back");
    assert_eq!(state("api"), "reverted");
    assert_eq!(state("web"), "reverted");
    for name in ["db", "cache", "api", "worker", "web"] {
        assert_eq!(current(&plane, name), "v1", "{name} is back on v1");
    }
    // The unchanged services were never touched: one revision each.
    assert_eq!(revisions(&plane, "db"), 1);
    assert_eq!(revisions(&plane, "cache"), 1);
    // The decision log says why, and unwinds dependents before api.
    let log = plane.json(&["log", s["id"].as_str().unwrap(), "--output", "json"]);
    let reasons: Vec<String> =
        log.as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap_or("").to_string()).collect();
    let failure = reasons.iter().find(|r| r.contains("failed; rolling back")).unwrap_or_else(|| panic!("{reasons:#?}"));
    assert!(failure.contains("`worker`"), "{failure}");
    let api_at =
        reasons.iter().position(|r| r.starts_with("rolling back `api`")).unwrap_or_else(|| panic!("{reasons:#?}"));
    let web_at =
        reasons.iter().position(|r| r.starts_with("rolling back `web`")).unwrap_or_else(|| panic!("{reasons:#?}"));
    assert!(web_at < api_at, "web depends on api, so it is rolled back first: {reasons:#?}");

    // v3: a good api; then `stack rollback` returns it to v1.
    let mut v3 = v1.clone();
    v3.insert("api", ("v3", 0));
    let file = stack_file(dir.path(), &marker, "v3.toml", &v3);
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test", "--wait"]);
    assert!(ok, "stack v3: {out}");
    assert_eq!(current(&plane, "api"), "v3");
    let (ok, out) = plane.hoist(&["stack", "rollback", "shop", "--env", "test", "--wait"]);
    assert!(ok, "stack rollback: {out}");
    assert_eq!(current(&plane, "api"), "v1");
    assert_eq!(current(&plane, "web"), "v1");
    let history = plane.json(&["stack", "history", "shop", "--env", "test", "--output", "json"]);
    let phases: Vec<&str> = history.as_array().unwrap().iter().map(|r| r["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["rolled-back", "completed", "rolled-back", "completed"]);

    // `stack down` removes everything, dependents first.
    let (ok, out) = plane.hoist(&["stack", "down", "shop", "--env", "test", "--wait"]);
    assert!(ok, "stack down: {out}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while processes(&marker) > 0 {
        assert!(Instant::now() < deadline, "instances left after `stack down`");
        std::thread::sleep(Duration::from_millis(100));
    }
    for name in ["db", "cache", "api", "worker", "web"] {
        assert_eq!(current(&plane, name), "none", "{name}");
    }
    let s = plane.json(&["stack", "status", "shop", "--env", "test", "--output", "json"]);
    let log = plane.json(&["log", s["id"].as_str().unwrap(), "--output", "json"]);
    let removed: Vec<String> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            r["reason"]
                .as_str()
                .filter(|r| r.starts_with("removing `"))
                .map(|r| r[10..].split('`').next().unwrap().to_string())
        })
        .collect();
    let at = |s: &str| removed.iter().position(|r| r == s).unwrap_or_else(|| panic!("{s} not removed: {removed:?}"));
    assert!(
        at("web") < at("api") && at("worker") < at("api") && at("api") < at("db") && at("api") < at("cache"),
        "{removed:?}"
    );
}

#[test]
fn a_cycle_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stack.toml");
    std::fs::write(
        &file,
        "version = 1\nname = \"loop\"\n[services.a]\ncommand = [\"x\"]\ndepends_on = { b = \"healthy\" }\n[services.b]\ncommand = [\"x\"]\ndepends_on = { a = \"started\" }\n",
    )
    .unwrap();
    let out = Command::new(HOIST).args(["stack", "import", file.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("stack.toml") && err.contains("a → b → a"), "{err}");
}

#[test]
fn a_control_plane_killed_mid_stack_resumes_it_with_no_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("kil{}", std::process::id());
    let _instances = Processes(marker.clone());
    let mut plane = Plane::start(dir.path(), REGISTRY);
    let v1: BTreeMap<&str, (&str, u32)> =
        [("db", ("v1", 2000)), ("cache", ("v1", 500)), ("api", ("v1", 500)), ("worker", ("v1", 0)), ("web", ("v1", 0))]
            .into_iter()
            .collect();
    let file = stack_file(dir.path(), &marker, "v1.toml", &v1);
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test"]);
    assert!(ok, "{out}");
    // Kill it while db is still starting and cache is on its way, between
    // spawns: a kill in the milliseconds between a spawn and the process
    // table's save is a known gap of the process platform (see README).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = plane.json(&["stack", "status", "shop", "--env", "test", "--output", "json"]);
        if s["services"]["db"]["state"] == "deploying" {
            std::thread::sleep(Duration::from_millis(700));
            break;
        }
        assert!(Instant::now() < deadline, "db never started: {s:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
    plane.kill9();
    plane = Plane::restart(dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    let s = loop {
        let s = plane.json(&["stack", "status", "shop", "--env", "test", "--output", "json"]);
        if s["phase"] != "running" {
            break s;
        }
        assert!(Instant::now() < deadline, "the stack rollout did not resume: {s:#}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(s["phase"], "completed", "{s:#}");
    for name in ["db", "cache", "api", "worker", "web"] {
        assert_eq!(current(&plane, name), "v1", "{name}");
        assert_eq!(revisions(&plane, name), 1, "{name}: one revision, no second deploy");
        assert_eq!(
            processes(&format!("{name}-v1-{marker}")),
            1,
            "{name}: exactly one instance, no duplicate, no orphan"
        );
    }
}
