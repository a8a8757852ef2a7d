//! Discovery on the local-process platform: a process cannot look its
//! dependencies up by name, so each gets `HOIST_<DEP>_HOST`, `_PORT` and
//! `_ADDR` — the dependency's front door when it has one, else a running
//! instance. The api here is healthy only while it reaches db (no front
//! door) and cache (behind one) at those addresses, so a completed deploy
//! proves them; the front door stays right across an update of cache.
//! (`$$` is a literal `$`: stack TOML is interpolated as Compose is.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::guards::Processes;
use support::http::get_path;
use support::plane::{HOIST, Plane};
use support::ports::free_port;
use support::procs::pids_with;

const REGISTRY: &str = r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"
config = { max-surge = 1, max-unavailable = 0, progress-deadline-ms = 15000 }

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
config = { stop-grace-ms = 2000 }

[environments.test]
platform = "local-process"
strategy = "rolling"
"#;

fn stack(marker: &str, cache_router: u16, cache_version: &str) -> String {
    let demo = |name: &str, version: &str| {
        format!("\"{HOIST}\", \"demo-service\", \"--version\", \"{name}-{version}-{marker}\"")
    };
    format!(
        "version = 1\nname = \"procs\"\n\n[services.db]\ncommand = [{}]\nprobe_path = \"/healthz\"\n\n[services.cache]\nversion = \"{cache_version}\"\ncommand = [{}]\nprobe_path = \"/healthz\"\nrouter = \"127.0.0.1:{cache_router}\"\n\n[services.api]\ncommand = [\"sh\", \"-c\", \"exec \\\"$$0\\\" demo-service --version api-{marker} --require \\\"$$HOIST_DB_ADDR,$$HOIST_CACHE_ADDR\\\"\", \"{HOIST}\"]\nprobe_path = \"/healthz\"\ndepends_on = {{ db = \"healthy\", cache = \"healthy\" }}\n",
        demo("db", "v1"),
        demo("cache", cache_version),
    )
}

fn environ(pid: i32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    raw.split(|b| *b == 0).map(|v| String::from_utf8_lossy(v).into_owned()).collect()
}

#[test]
fn each_dependency_is_given_by_address_and_its_front_door_outlives_its_updates() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("dsc{}", std::process::id());
    let _instances = Processes(marker.clone());
    let plane = Plane::start(dir.path(), REGISTRY);
    let router = free_port();
    let file = dir.path().join("stack.toml");
    std::fs::write(&file, stack(&marker, router, "v1")).unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test", "--wait"]);
    assert!(ok, "api is healthy only once it reaches db and cache at the given addresses:\n{out}\n{}", plane.log());

    let api = pids_with(&format!("api-{marker}"));
    assert_eq!(api.len(), 1, "{api:?}");
    let env = environ(api[0]);
    let cache = format!("HOIST_CACHE_ADDR=127.0.0.1:{router}");
    assert!(env.contains(&cache), "cache by its front door: {env:?}");
    assert!(
        env.contains(&format!("HOIST_CACHE_PORT={router}")) && env.contains(&"HOIST_CACHE_HOST=127.0.0.1".to_string())
    );
    let db = env.iter().find(|v| v.starts_with("HOIST_DB_ADDR=127.0.0.1:")).expect("db by a running instance");
    let db_port: u16 = db.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(db_port, router);

    // cache updated: api (unchanged) still reaches it through the front door.
    std::fs::write(&file, stack(&marker, router, "v2")).unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test", "--wait"]);
    assert!(ok, "{out}\n{}", plane.log());
    assert_eq!(pids_with(&format!("api-{marker}")), api, "api was left alone");
    let port: u16 = env.iter().find_map(|v| v.strip_prefix("PORT=")).unwrap().parse().unwrap();
    assert!(pids_with(&format!("cache-v1-{marker}")).is_empty(), "cache v1 is gone");
    let (code, body) = get_path(port, "/healthz").unwrap();
    assert_eq!(code, 200, "api still reaches cache v2 by its front door: {body}");
}

/// A stack service's own strategy settings reach its strategy over the
/// environment's: every decision of its update is asked with them (and the
/// registry's other keys kept), and the first starts the whole batch.
#[test]
fn a_service_strategy_config_reaches_the_strategy_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("scf{}", std::process::id());
    let _instances = Processes(marker.clone());
    let plane = Plane::start(dir.path(), REGISTRY);
    let file = dir.path().join("stack.toml");
    let write = |version: &str| {
        std::fs::write(
            &file,
            format!(
                "version = 1\nname = \"batch\"\n\n[services.web]\nversion = \"{version}\"\ncommand = [\"{HOIST}\", \"demo-service\", \"--version\", \"web-{version}-{marker}\"]\nprobe_path = \"/healthz\"\nreplicas = 3\nstrategy_config = {{ max-surge = 3, max-unavailable = 0 }}\n"
            ),
        )
        .unwrap();
    };
    write("v1");
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test", "--wait"]);
    assert!(ok, "{out}\n{}", plane.log());
    write("v2");
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test", "--wait"]);
    assert!(ok, "{out}\n{}", plane.log());
    let log = plane.json(&["log", "web", "--env", "test", "--output", "json"]);
    let decisions: Vec<&serde_json::Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "decide" && r["rollout_id"].as_str().is_some_and(|id| id.ends_with(".2")))
        .collect();
    assert!(!decisions.is_empty(), "{log:#}");
    for d in &decisions {
        let config: serde_json::Value = serde_json::from_str(d["input"]["config"].as_str().unwrap()).unwrap();
        assert_eq!(config["max-surge"], 3, "the service's own: {config}");
        assert_eq!(config["max-unavailable"], 0);
        assert_eq!(config["progress-deadline-ms"], 15000, "the registry's other keys stay: {config}");
    }
    let scales: Vec<&serde_json::Value> =
        decisions[0]["output"]["actions"].as_array().unwrap().iter().filter_map(|a| a.get("Scale")).collect();
    let candidate = scales.iter().find(|s| s["revision"] == "r2").unwrap_or_else(|| panic!("{scales:?}"));
    assert_eq!(candidate["replicas"], 3, "one batch of 3 new instances at once (the default 25 % would be 1)");
}
