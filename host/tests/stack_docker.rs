//! `hoist stack` end to end on the real Docker engine, from a Compose file
//! used directly. v1 (db, cache → api → web, healthchecks `hoist-demo
//! check`) starts in dependency order; v2 changes api, adds worker and
//! breaks web (never healthy): the stack rollout ends rolled back — api back
//! on v1, worker removed, db and cache untouched — and no container of the
//! failed revisions remains. Every container of the test is removed at the
//! end, also on failure. An unreachable engine fails the test. The Docker
//! tier: `#[ignore]`d by a plain `cargo test`, run by `cargo xtask test`
//! or with `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;
use support::containers::containers_of;
use support::engine::docker;
use support::guards::{Containers, Network, Volume};
use support::http::{get, get_path};
use support::images::{IMAGE, build_image};
use support::plane::Plane;
use support::ports::free_port;

/// A candidate that makes no progress for 3 s is rolled back.
const REGISTRY: &str = r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"
config = { max-surge = 1, max-unavailable = 0, progress-deadline-ms = 3000 }

[plugins.recreate]
kind = "strategy"
source = "builtin:recreate"

[plugins.docker]
kind = "platform"
source = "builtin:docker"
capabilities = ["docker"]
config = { stop-timeout-secs = 1 }

[environments.test]
platform = "docker"
strategy = "rolling"
"#;

/// The id of the service's current (stable) revision.
fn current(plane: &Plane, service: &str) -> String {
    let s = plane.json(&["status", service, "--env", "test", "--output", "json"]);
    s["current"]["id"].as_str().unwrap_or("none").to_string()
}

fn revisions(plane: &Plane, service: &str) -> usize {
    let h = plane.json(&["history", service, "--env", "test", "--output", "json"]);
    h["revisions"].as_array().map_or(0, Vec::len)
}

/// (container id, `hoist.revision` label) of every container of the
/// service, in any state.
fn containers(service: &str) -> Vec<(String, String)> {
    containers_of(service).into_iter().map(|c| (c.id, c.revision)).collect()
}

/// A service of the Compose file: its startup delay, what it depends on
/// (`name: condition`), and its port mapping.
struct Svc<'a> {
    version: &'a str,
    startup_ms: u64,
    depends_on: &'a [(&'a str, &'a str)],
    port: String,
}

/// `DEMO_REQUIRE` of a service: the `host:port`s it must reach to be healthy.
fn requirement(prefix: &str, name: &str) -> Option<String> {
    (name == "api").then(|| format!("{prefix}-db:8080"))
}

fn compose(project: &str, prefix: &str, services: &BTreeMap<&str, Svc>) -> String {
    let mut text = format!("name: {project}\nservices:\n");
    for (name, s) in services {
        text.push_str(&format!(
            "  {prefix}-{name}:\n    image: {IMAGE}\n    environment:\n      DEMO_VERSION: {name}-{version}\n      DEMO_STARTUP_MS: \"{startup}\"\n    ports:\n      - \"{port}\"\n    healthcheck:\n      test: [\"CMD\", \"/hoist-demo\", \"check\"]\n      interval: 200ms\n      timeout: 1s\n      retries: 3\n      start_period: 30s\n",
            version = s.version,
            startup = s.startup_ms,
            port = s.port,
        ));
        if let Some(require) = requirement(prefix, name) {
            text = text.replace(
                &format!("DEMO_VERSION: {name}-{}\n", s.version),
                &format!("DEMO_VERSION: {name}-{}\n      DEMO_REQUIRE: \"{require}\"\n", s.version),
            );
        }
        if !s.depends_on.is_empty() {
            text.push_str("    depends_on:\n");
            for (dep, condition) in s.depends_on {
                text.push_str(&format!("      {prefix}-{dep}:\n        condition: {condition}\n"));
            }
        }
    }
    text
}

fn ms(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a time: {v}"))
}

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn a_compose_stack_on_docker_starts_in_order_and_a_failed_update_rolls_back_together() {
    build_image();
    let started = Instant::now();
    let prefix = format!("sd{}", std::process::id());
    let project = format!("{prefix}-shop");
    let name = |s: &str| format!("{prefix}-{s}");
    let all = ["db", "cache", "api", "web", "worker"];
    let dir = tempfile::tempdir().unwrap();
    // Dropped after the plane (killed first, so nothing recreates a
    // container) and the containers.
    let _network = Network(format!("hoist-{project}-test"));
    let containers_guard = Containers(all.iter().map(|s| name(s)).collect());
    let plane = Plane::start(dir.path(), REGISTRY);
    let web_port = free_port();
    let file = dir.path().join("docker-compose.yml");
    let write = |services: &BTreeMap<&str, Svc>| std::fs::write(&file, compose(&project, &prefix, services)).unwrap();

    // v1: api needs db healthy but cache only started (cache is slow).
    let mut v1: BTreeMap<&str, Svc> = BTreeMap::new();
    v1.insert("db", Svc { version: "v1", startup_ms: 800, depends_on: &[], port: "8080".into() });
    v1.insert("cache", Svc { version: "v1", startup_ms: 3000, depends_on: &[], port: "8080".into() });
    v1.insert(
        "api",
        Svc {
            version: "v1",
            startup_ms: 300,
            depends_on: &[("db", "service_healthy"), ("cache", "service_started")],
            port: "8080".into(),
        },
    );
    v1.insert(
        "web",
        Svc {
            version: "v1",
            startup_ms: 0,
            depends_on: &[("api", "service_healthy")],
            port: format!("127.0.0.1:{web_port}:8080"),
        },
    );
    write(&v1);
    let f = file.to_str().unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", f, "--env", "test", "--wait"]);
    assert!(ok, "stack v1 did not complete: {out}\n{}", plane.log());
    assert!(
        out.contains("becomes an HTTP probe of /healthz on port 8080"),
        "the healthcheck translation is reported: {out}"
    );

    let s = plane.json(&["stack", "status", &project, "--env", "test", "--output", "json"]);
    assert_eq!(s["phase"], "completed", "{s:#}");
    let svc = |n: &str| s["services"][name(n)].clone();
    assert!(ms(&svc("api")["started_at_ms"]) >= ms(&svc("db")["ready_at_ms"]), "api before db was healthy: {s:#}");
    assert!(ms(&svc("web")["started_at_ms"]) >= ms(&svc("api")["ready_at_ms"]), "web before api was healthy: {s:#}");
    assert!(
        ms(&svc("db")["started_at_ms"]).abs_diff(ms(&svc("cache")["started_at_ms"])) < 500,
        "db and cache together: {s:#}"
    );
    assert!(
        ms(&svc("api")["started_at_ms"]) < ms(&svc("cache")["ready_at_ms"]),
        "api waited for cache to be healthy: {s:#}"
    );

    let mut v1_containers = BTreeMap::new();
    let mut v1_revision = BTreeMap::new();
    for n in ["db", "cache", "api", "web"] {
        let found = containers(&name(n));
        assert_eq!(found.len(), 1, "{n}: one running container: {found:?}");
        v1_revision.insert(n, current(&plane, &name(n)));
        assert_eq!(found[0].1, v1_revision[n], "{n}'s container is its current revision");
        v1_containers.insert(n, found);
    }
    // The api is healthy only because it reaches db by its service name on
    // the stack's network, where every container answers to its service.
    let network = format!("hoist-{project}-test");
    let out = docker(&["network", "inspect", &network, "--format", "{{json .Containers}}"]);
    assert!(out.status.success(), "the stack's network {network}: {}", String::from_utf8_lossy(&out.stderr));
    let members = String::from_utf8_lossy(&out.stdout).to_string();
    for n in ["db", "cache", "api", "web"] {
        assert!(members.contains(&format!("hoist-{}-test-", name(n))), "{n} joined {network}: {members}");
    }
    let api = containers(&name("api"))[0].0.clone();
    let out = docker(&[
        "inspect",
        &api,
        "--format",
        &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").Aliases}}}}"),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("\"{}\"", name("api"))),
        "api answers to its name: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The published port of web is its front door on Hoist's router.
    let (status, body) = get(web_port).ok().unwrap_or_else(|| panic!("web does not answer on {web_port}"));
    assert_eq!((status, body.contains("web-v1")), (200, true), "{body}");

    // v2: db and cache unchanged; api good; a new worker; web never healthy.
    let mut v2 = v1;
    v2.get_mut("api").unwrap().version = "v2";
    v2.get_mut("web").unwrap().version = "v2";
    v2.get_mut("web").unwrap().startup_ms = 600_000;
    v2.insert(
        "worker",
        Svc { version: "v2", startup_ms: 0, depends_on: &[("api", "service_healthy")], port: "8080".into() },
    );
    write(&v2);
    let (ok, out) = plane.hoist(&["stack", "deploy", f, "--env", "test", "--wait"]);
    assert!(!ok, "a stack rollout with a failing service must not exit 0: {out}");
    let s = plane.json(&["stack", "status", &project, "--env", "test", "--output", "json"]);
    assert_eq!(s["phase"], "rolled-back", "{s:#}\n{}", plane.log());
    let state = |n: &str| s["services"][name(n)]["state"].as_str().unwrap().to_string();
    assert_eq!(
        [state("db"), state("cache"), state("api"), state("web"), state("worker")],
        ["unchanged", "unchanged", "reverted", "failed", "removed"],
        "{s:#}"
    );
    for n in ["db", "cache", "api", "web"] {
        assert_eq!(current(&plane, &name(n)), v1_revision[n], "{n} is on its v1 revision");
    }
    // Unchanged services were not touched: same containers, one revision.
    for n in ["db", "cache"] {
        assert_eq!(containers(&name(n)), v1_containers[n], "{n}'s container was replaced");
        assert_eq!(revisions(&plane, &name(n)), 1, "{n}");
    }
    // Only v1's containers remain; the new worker is gone.
    for n in ["api", "web"] {
        let found = containers(&name(n));
        assert!(
            found.len() == 1 && found[0].1 == v1_revision[n],
            "{n}: a container of the failed revision remains: {found:?} (v1 is {})",
            v1_revision[n]
        );
    }
    assert_eq!(containers(&name("worker")), Vec::new(), "the new worker is removed");
    let (status, body) = get(web_port).ok().unwrap_or_else(|| panic!("web does not answer on {web_port}"));
    assert_eq!((status, body.contains("web-v1")), (200, true), "v1 still serves: {body}");

    drop(plane);
    drop(containers_guard);
    for n in all {
        assert_eq!(containers(&name(n)), Vec::new(), "{n}: containers left behind");
    }
    eprintln!("stack on docker: {:.1} s", started.elapsed().as_secs_f64());
}

/// A stateful service on a named volume: its data outlives an update, and
/// the update is stop-first — never two containers on the volume at once.
#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn a_named_volume_keeps_its_data_across_an_update_and_is_never_shared() {
    build_image();
    let prefix = format!("sv{}", std::process::id());
    let project = format!("{prefix}-data");
    let db = format!("{prefix}-db");
    let volume = format!("hoist-{project}-test-data");
    let dir = tempfile::tempdir().unwrap();
    let _network = Network(format!("hoist-{project}-test"));
    let _volume = Volume(volume.clone());
    let _containers = Containers::of(&db);
    let plane = Plane::start(dir.path(), REGISTRY);
    let port = free_port();
    let file = dir.path().join("docker-compose.yml");
    let write = |version: &str| {
        std::fs::write(
            &file,
            format!(
                "name: {project}\nservices:\n  {db}:\n    image: {IMAGE}\n    environment:\n      DEMO_VERSION: db-{version}\n      DEMO_DATA_DIR: /data\n    ports:\n      - \"127.0.0.1:{port}:8080\"\n    volumes:\n      - data:/data\n    healthcheck:\n      test: [\"CMD\", \"/hoist-demo\", \"check\"]\n      interval: 200ms\n      retries: 3\nvolumes:\n  data: {{}}\n"
            ),
        )
        .unwrap()
    };
    let version = || -> String { get_path(port, "/version").unwrap().1 };
    write("v1");
    let f = file.to_str().unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", f, "--env", "test", "--wait"]);
    assert!(ok, "v1: {out}\n{}", plane.log());
    assert!(version().contains("\"starts\":1"), "{}", version());
    let id = containers(&db)[0].0.clone();
    let mounts = docker(&["inspect", &id, "--format", "{{json .Mounts}}"]);
    assert!(
        String::from_utf8_lossy(&mounts.stdout).contains(&volume),
        "mounted: {}",
        String::from_utf8_lossy(&mounts.stdout)
    );

    // v2, watched: at no moment do two containers of db run.
    write("v2");
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (watching, db) = (watching.clone(), db.clone());
        std::thread::spawn(move || {
            let mut most = 0;
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                let out = docker(&["ps", "-q", "--filter", &format!("label=hoist.service={db}")]);
                most = most.max(String::from_utf8_lossy(&out.stdout).lines().count());
            }
            most
        })
    };
    let (ok, out) = plane.hoist(&["stack", "deploy", f, "--env", "test", "--wait"]);
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let most = watcher.join().unwrap();
    assert!(ok, "v2: {out}\n{}", plane.log());
    assert_eq!(most, 1, "old and new never ran on one volume");
    let answer = version();
    assert!(answer.contains("db-v2") && answer.contains("\"starts\":2"), "the data outlived v1's container: {answer}");
}
