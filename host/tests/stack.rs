//! `hoist stack` end to end on real processes: a five-service stack starts
//! in dependency order; an update whose `worker` never becomes ready rolls
//! back exactly the services this stack rollout updated, dependents first,
//! and leaves the unchanged ones alone; `hoist stack rollback` returns the
//! last completed update.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

const HOIST: &str = env!("CARGO_BIN_EXE_hoist");

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port()
}

struct Plane {
    dir: PathBuf,
    child: Child,
    marker: String,
}

impl Plane {
    fn start(dir: &Path, marker: &str) -> Self {
        std::fs::write(
            dir.join("registry.toml"),
            r#"version = 1
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
"#,
        )
        .unwrap();
        Self { dir: dir.to_path_buf(), child: serve(dir), marker: marker.into() }
    }

    /// `kill -9` of the control plane, then a new one on the same state.
    fn kill9_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.child = serve(&self.dir);
    }

    fn hoist(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(HOIST).args(common(&self.dir)).args(args).output().unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }

    fn json(&self, args: &[&str]) -> Value {
        let (ok, out) = self.hoist(args);
        assert!(ok, "hoist {args:?}: {out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("hoist {args:?}: {e}: {out}"))
    }

    /// Writes the stack file for `versions` (service → (version, startup ms)).
    fn stack_file(&self, name: &str, versions: &BTreeMap<&str, (&str, u32)>) -> PathBuf {
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
                "\n[services.{service}]\nversion = \"{version}\"\ncommand = [\"{HOIST}\", \"demo-service\", \"--version\", \"{service}-{version}-{marker}\", \"--startup-ms\", \"{startup}\"]\nprobe_path = \"/healthz\"\n{strategy}{depends}",
                marker = self.marker
            ));
        }
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn current(&self, service: &str) -> String {
        let s = self.json(&["status", service, "--env", "test", "--output", "json"]);
        s["current"]["version"].as_str().unwrap_or("none").to_string()
    }

    fn revisions(&self, service: &str) -> usize {
        let h = self.json(&["history", service, "--env", "test", "--output", "json"]);
        h["revisions"].as_array().map_or(0, Vec::len)
    }
}

fn serve(dir: &Path) -> Child {
    let _ = std::fs::remove_file(dir.join("state/serve.addr"));
    let port = free_port();
    let child = Command::new(HOIST)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(common(dir))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.join("state/serve.addr").exists() {
        assert!(Instant::now() < deadline, "hoist serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Live (non-zombie) processes whose command line contains `needle`.
fn processes(needle: &str) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().and_then(|r| r.split_whitespace().next()) == Some("Z");
        if !zombie && String::from_utf8_lossy(&cmd).contains(needle) {
            n += 1;
        }
    }
    n
}

fn common(dir: &Path) -> Vec<String> {
    vec![
        "--registry".into(),
        dir.join("registry.toml").display().to_string(),
        "--state".into(),
        dir.join("state").display().to_string(),
        "--cache-dir".into(),
        dir.join("cache").display().to_string(),
    ]
}

impl Drop for Plane {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The instances outlive `hoist serve` by design; the test removes them.
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmd).contains(&self.marker) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

fn ms(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a time: {v}"))
}

#[test]
fn stack_starts_in_order_and_a_failure_rolls_back_exactly_what_was_updated() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("stk{}", std::process::id());
    let plane = Plane::start(dir.path(), &marker);

    // v1: everything new. cache is slow to become healthy, but api only
    // needs it started; db must be healthy first.
    let v1: BTreeMap<&str, (&str, u32)> =
        [("db", ("v1", 800)), ("cache", ("v1", 3000)), ("api", ("v1", 0)), ("worker", ("v1", 0)), ("web", ("v1", 0))]
            .into_iter()
            .collect();
    let file = plane.stack_file("v1.toml", &v1);
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
        assert_eq!(plane.current(name), "v1", "{name}");
    }

    // v2: db and cache unchanged; api and web good, worker never ready.
    let mut v2 = v1.clone();
    v2.insert("api", ("v2", 0));
    v2.insert("web", ("v2", 0));
    v2.insert("worker", ("v2", 600_000));
    let file = plane.stack_file("v2.toml", &v2);
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
        assert_eq!(plane.current(name), "v1", "{name} is back on v1");
    }
    // The unchanged services were never touched: one revision each.
    assert_eq!(plane.revisions("db"), 1);
    assert_eq!(plane.revisions("cache"), 1);
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
    let file = plane.stack_file("v3.toml", &v3);
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test", "--wait"]);
    assert!(ok, "stack v3: {out}");
    assert_eq!(plane.current("api"), "v3");
    let (ok, out) = plane.hoist(&["stack", "rollback", "shop", "--env", "test", "--wait"]);
    assert!(ok, "stack rollback: {out}");
    assert_eq!(plane.current("api"), "v1");
    assert_eq!(plane.current("web"), "v1");
    let history = plane.json(&["stack", "history", "shop", "--env", "test", "--output", "json"]);
    let phases: Vec<&str> = history.as_array().unwrap().iter().map(|r| r["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["rolled-back", "completed", "rolled-back", "completed"]);

    // `stack down` removes everything, dependents first.
    let (ok, out) = plane.hoist(&["stack", "down", "shop", "--env", "test", "--wait"]);
    assert!(ok, "stack down: {out}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while processes(&plane.marker) > 0 {
        assert!(Instant::now() < deadline, "instances left after `stack down`");
        std::thread::sleep(Duration::from_millis(100));
    }
    for name in ["db", "cache", "api", "worker", "web"] {
        assert_eq!(plane.current(name), "none", "{name}");
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
    let mut plane = Plane::start(dir.path(), &marker);
    let v1: BTreeMap<&str, (&str, u32)> =
        [("db", ("v1", 2000)), ("cache", ("v1", 500)), ("api", ("v1", 500)), ("worker", ("v1", 0)), ("web", ("v1", 0))]
            .into_iter()
            .collect();
    let file = plane.stack_file("v1.toml", &v1);
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
    plane.kill9_and_restart();
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
        assert_eq!(plane.current(name), "v1", "{name}");
        assert_eq!(plane.revisions(name), 1, "{name}: one revision, no second deploy");
        assert_eq!(
            processes(&format!("{name}-v1-{marker}")),
            1,
            "{name}: exactly one instance, no duplicate, no orphan"
        );
    }
}
