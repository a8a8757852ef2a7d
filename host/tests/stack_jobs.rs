//! One-shot jobs on the real Docker engine: a migration (`restart: "no"`)
//! that reaches `db` by name orders the api after it
//! (`service_completed_successfully` waits for its exit 0), prints into
//! `hoist log`, and, when it exits 1, fails the stack rollout, which
//! unwinds: the api is never started on its new version. The Docker tier:
//! `#[ignore]`d by a plain `cargo test`, run with `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::containers::in_environment;
use support::guards::{EnvironmentContainers, Network};
use support::images::{BUSYBOX, IMAGE, build_busybox, build_image};
use support::plane::Plane;
use support::stacks::docker_registry as registry;

/// db → migrate (a job that needs db by name, runs 1.5 s, prints its mark,
/// exits `exit`) → api (needs the migration done and db reachable).
fn compose(mark: &str, exit: u8) -> String {
    format!(
        r#"name: jobs
services:
  db:
    image: {BUSYBOX}
    command: ["sh", "-c", "mkdir -p /www && echo db > /www/index.html && exec httpd -f -p 5432 -h /www"]
    ports: ["5432"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:5432/"]
      interval: 200ms
  migrate:
    image: {BUSYBOX}
    restart: "no"
    command: ["sh", "-c", "wget -q -O /dev/null http://db:5432/ || exit 7; sleep 1.5; echo migrated-$$MARK; exit $$EXIT"]
    environment:
      MARK: {mark}
      EXIT: "{exit}"
    depends_on:
      db:
        condition: service_healthy
  api:
    image: {IMAGE}
    environment:
      DEMO_VERSION: api-{mark}
      DEMO_REQUIRE: db:5432
    ports: ["8080"]
    healthcheck:
      test: ["CMD", "/hoist-demo", "check"]
      interval: 200ms
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
"#
    )
}

fn ms(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a time: {v}"))
}

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn a_migration_job_orders_its_dependents_and_its_failure_fails_the_stack() {
    build_image();
    build_busybox();
    let env = format!("j{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let _network = Network(format!("hoist-jobs-{env}"));
    let _containers = EnvironmentContainers(env.clone());
    let plane = Plane::start(dir.path(), &registry(&env));
    let file = dir.path().join("docker-compose.yml");
    let f = file.to_str().unwrap();

    std::fs::write(&file, compose("v1", 0)).unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", f, "--env", &env, "--wait"]);
    assert!(ok, "v1: {out}\n{}", plane.log());
    assert!(out.contains("`migrate`: `restart: \"no\"`: a job"), "the job is said: {out}");
    let s = plane.json(&["stack", "status", "jobs", "--env", &env, "--output", "json"]);
    assert_eq!(s["phase"], "completed", "{s:#}");
    let (migrate, api) = (&s["services"]["migrate"], &s["services"]["api"]);
    assert!(
        ms(&api["started_at_ms"]) >= ms(&migrate["ready_at_ms"]),
        "api started before the migration finished: {s:#}"
    );
    assert!(ms(&migrate["ready_at_ms"]) >= ms(&migrate["started_at_ms"]) + 1500, "the job ran to its end: {s:#}");
    let id = s["id"].as_str().unwrap().to_string();
    let log = plane.log_of(&id);
    assert!(log.contains("migrated-v1"), "the job's output is in `hoist log {id}`: {log}");
    assert!(log.contains("exit code 0"), "{log}");
    assert!(in_environment("migrate", &env).is_empty(), "the finished job's container is removed");
    let api_v1 = plane.json(&["status", "api", "--env", &env, "--output", "json"])["current"]["id"].clone();

    // v2: the migration exits 1; the api (changed too) must not start.
    std::fs::write(&file, compose("v2", 1)).unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", f, "--env", &env, "--wait"]);
    assert!(!ok, "a failed migration must fail the stack deploy: {out}");
    let s = plane.json(&["stack", "status", "jobs", "--env", &env, "--output", "json"]);
    assert_eq!(s["phase"], "rolled-back", "{s:#}");
    assert_eq!(s["services"]["migrate"]["state"], "failed", "{s:#}");
    assert_eq!(s["services"]["api"]["state"], "skipped", "{s:#}");
    assert_eq!(s["services"]["db"]["state"], "unchanged", "{s:#}");
    let id = s["id"].as_str().unwrap().to_string();
    let log = plane.log_of(&id);
    assert!(log.contains("migrated-v2") && log.contains("exit code 1"), "the failure and its output: {log}");
    let api_now = plane.json(&["status", "api", "--env", &env, "--output", "json"])["current"]["id"].clone();
    assert_eq!(api_now, api_v1, "api stays on v1");
    assert!(in_environment("migrate", &env).is_empty(), "the failed job's container is removed");
}
