//! A service belongs to its stack, on the real Docker engine: a second
//! stack with a service of the same name is refused with the owner named,
//! and the first stack's container is left exactly as it was (same id,
//! still serving on its own network); once the first is torn down, the
//! second deploys, and each `stack status` speaks of its own services only.
//! The Docker tier: `#[ignore]`d by a plain `cargo test`, run with
//! `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::containers::in_environment;
use support::engine::docker;
use support::guards::{EnvironmentContainers, Network};
use support::images::{BUSYBOX, build_busybox};
use support::plane::Plane;
use support::stacks::docker_registry as registry;

fn stack(name: &str, services: &[&str]) -> String {
    let body: String = services
        .iter()
        .map(|s| {
            format!(
                "  {s}:\n    image: {BUSYBOX}\n    command: [\"sh\", \"-c\", \"mkdir -p /www && echo {name}-{s} > /www/index.html && exec httpd -f -p 80 -h /www\"]\n    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://localhost:80/\"]\n      interval: 200ms\n      retries: 3\n"
            )
        })
        .collect();
    format!("name: {name}\nservices:\n{body}")
}

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn a_second_stack_claiming_a_service_is_refused_and_the_first_is_untouched() {
    build_busybox();
    let env = format!("i{}", std::process::id());
    let _networks = (Network(format!("hoist-first-{env}")), Network(format!("hoist-second-{env}")));
    let _containers = EnvironmentContainers(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let plane = Plane::start(dir.path(), &registry(&env));
    let first = dir.path().join("first.yml");
    let second = dir.path().join("second.yml");
    std::fs::write(&first, stack("first", &["db", "api"])).unwrap();
    std::fs::write(&second, stack("second", &["db", "web"])).unwrap();

    let (ok, out) = plane.hoist(&["stack", "deploy", first.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(ok, "{out}\n{}", plane.log());
    let db = in_environment("db", &env);
    assert_eq!(db.len(), 1);

    let (ok, out) = plane.hoist(&["stack", "deploy", second.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(!ok, "a second stack must not take `db` over:\n{out}");
    assert!(out.contains("service `db`") && out.contains("belongs to stack `first`"), "{out}");
    assert!(out.contains("hoist stack down first"), "says what to do: {out}");
    assert_eq!(in_environment("db", &env), db, "first's db is the same container");
    assert!(in_environment("web", &env).is_empty(), "nothing of the refused stack was started");
    let api = in_environment("api", &env);
    let served = docker(&["exec", &api[0], "wget", "-q", "-O", "-", "http://db/"]);
    assert_eq!(String::from_utf8_lossy(&served.stdout).trim(), "first-db", "first's api still reaches its own db");

    let status = plane.json(&["stack", "status", "first", "--env", &env, "--output", "json"]);
    let names: Vec<&String> = status["services"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["api", "db"], "{status:#}");

    let (ok, out) = plane.hoist(&["stack", "down", "first", "--env", &env, "--wait"]);
    assert!(ok, "{out}");
    let (ok, out) = plane.hoist(&["stack", "deploy", second.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(ok, "once first is down, second may have a db: {out}\n{}", plane.log());
    let db = in_environment("db", &env);
    let served = docker(&["exec", &in_environment("web", &env)[0], "wget", "-q", "-O", "-", "http://db/"]);
    assert_eq!(String::from_utf8_lossy(&served.stdout).trim(), "second-db", "{db:?}");
    let status = plane.json(&["stack", "status", "second", "--env", &env, "--output", "json"]);
    let names: Vec<&String> = status["services"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["db", "web"], "{status:#}");
}
