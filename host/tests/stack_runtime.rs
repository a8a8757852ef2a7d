//! Compose runtime settings on the real Docker engine, read back with
//! `docker inspect`: user, working directory, limits (memory, cpus, pids)
//! and the memory reservation, stop signal and grace period, init,
//! capabilities, extra hosts, labels, a read-only root with a writable
//! tmpfs, entrypoint and a shell-quoted command, and a
//! healthcheck run inside the container as its own — so an api with no
//! published port is healthy (and its dependent waits for that) — or
//! disabled. The Docker tier: `#[ignore]`d by a plain `cargo test`, run
//! with `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use support::containers::in_environment;
use support::engine::docker;
use support::guards::{EnvironmentContainers, Network};
use support::images::{BUSYBOX, IMAGE, build_busybox, build_image};
use support::plane::Plane;
use support::stacks::docker_registry as registry;

const COMPOSE: &str = r#"name: rt
services:
  api:
    image: IMAGE
    user: "1000:1000"
    working_dir: /srv
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 64
    stop_grace_period: 3s
    stop_signal: SIGINT
    init: true
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    extra_hosts: ["metadata:10.9.9.9"]
    mem_reservation: 32m
    labels:
      team: search
    healthcheck:
      test: ["CMD", "/hoist-demo", "check"]
      interval: 200ms
      timeout: 1s
      retries: 3
  box:
    image: BUSYBOX
    entrypoint: /bin/env GREETING=hello
    command: sh -c "mkdir -p /w && echo \"$$GREETING 'a b'\" > /w/out && exec sleep 1000"
    read_only: true
    tmpfs: /w
    deploy:
      resources:
        limits:
          memory: 32m
          pids: 20
    healthcheck:
      disable: true
    depends_on:
      api:
        condition: service_healthy
"#;

fn inspect(service: &str, env: &str) -> Value {
    let found = in_environment(service, env);
    assert_eq!(found.len(), 1, "{service}: one container: {found:?}");
    let out = docker(&["inspect", &found[0]]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone()
}

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn runtime_settings_reach_the_container_and_its_healthcheck_runs_inside() {
    build_image();
    build_busybox();
    let env = format!("r{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let _network = Network(format!("hoist-rt-{env}"));
    let _containers = EnvironmentContainers(env.clone());
    let plane = Plane::start(dir.path(), &registry(&env));
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, COMPOSE.replace("BUSYBOX", BUSYBOX).replace("IMAGE", IMAGE)).unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(ok, "{out}\n{}", plane.log());
    assert!(out.contains("`api`: healthcheck `/hoist-demo check` runs inside the container"), "{out}");
    let s = plane.json(&["stack", "status", "rt", "--env", &env, "--output", "json"]);
    let ms = |n: &str, k: &str| s["services"][n][k].as_u64().unwrap_or_else(|| panic!("{n}.{k}: {s:#}"));
    assert!(ms("box", "started_at_ms") >= ms("api", "ready_at_ms"), "box waited for api's own health: {s:#}");

    let api = inspect("api", &env);
    assert_eq!(api["State"]["Health"]["Status"], "healthy", "its health check ran inside: {:#}", api["State"]);
    assert_eq!(api["Config"]["Healthcheck"]["Test"], serde_json::json!(["CMD", "/hoist-demo", "check"]));
    assert_eq!(api["Config"]["Healthcheck"]["Interval"], 200_000_000);
    assert_eq!(api["Config"]["User"], "1000:1000");
    assert_eq!(api["Config"]["WorkingDir"], "/srv");
    assert_eq!(api["Config"]["StopTimeout"], 3);
    assert_eq!(api["Config"]["Labels"]["team"], "search");
    assert_eq!(api["HostConfig"]["Memory"], 64 << 20);
    assert_eq!(api["HostConfig"]["NanoCpus"], 500_000_000);
    assert_eq!(api["HostConfig"]["PidsLimit"], 64);
    assert_eq!(api["Config"]["StopSignal"], "SIGINT");
    assert_eq!(api["HostConfig"]["Init"], true);
    assert_eq!(api["HostConfig"]["CapAdd"], serde_json::json!(["NET_ADMIN"]));
    assert_eq!(api["HostConfig"]["CapDrop"], serde_json::json!(["MKNOD"]));
    assert_eq!(api["HostConfig"]["ExtraHosts"], serde_json::json!(["metadata:10.9.9.9"]));
    assert_eq!(api["HostConfig"]["MemoryReservation"], 32 << 20);
    let published = &api["HostConfig"]["PortBindings"];
    assert!(published.as_object().is_none_or(|p| p.is_empty()), "no port published: {published}");

    let b = inspect("box", &env);
    assert_eq!(b["Config"]["Entrypoint"], serde_json::json!(["/bin/env", "GREETING=hello"]));
    assert_eq!(
        b["Config"]["Cmd"],
        serde_json::json!(["sh", "-c", "mkdir -p /w && echo \"$GREETING 'a b'\" > /w/out && exec sleep 1000"]),
        "shell words, as Compose splits them"
    );
    assert_eq!(b["Config"]["Healthcheck"]["Test"], serde_json::json!(["NONE"]));
    assert_eq!(b["HostConfig"]["Memory"], 32 << 20, "deploy.resources.limits.memory");
    assert_eq!(b["HostConfig"]["PidsLimit"], 20, "deploy.resources.limits.pids");
    assert_eq!(b["HostConfig"]["ReadonlyRootfs"], true);
    assert!(b["HostConfig"]["Tmpfs"].get("/w").is_some(), "{:#}", b["HostConfig"]);
    let id = b["Id"].as_str().unwrap();
    let out = docker(&["exec", id, "cat", "/w/out"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello 'a b'", "the tmpfs is writable");
    let out = docker(&["exec", id, "touch", "/elsewhere"]);
    assert!(!out.status.success(), "the root is read-only");
}
