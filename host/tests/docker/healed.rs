//! A container `docker kill`ed at rest, after its rollout completed: the
//! engine's `die` event wakes the at-rest reconciler (its poll is a 10 s
//! safety net), which replaces the container. Prints the time from the kill
//! to a running replacement (a figure, not a goal). And how a container
//! ended is told apart in its heal record: killed by the kernel at its
//! memory limit, `docker kill`ed, or exited by itself.

use std::time::{Duration, Instant};

use crate::deploy::{deploy, registry, service};
use serde_json::Value;

use crate::support::containers::{containers_of, in_environment};
use crate::support::engine::docker;
use crate::support::guards::{Containers, EnvironmentContainers, Network};
use crate::support::images::{BUSYBOX, IMAGE, build_busybox, build_image};
use crate::support::plane::Plane;
use crate::support::ports::free_port;
use crate::support::stacks::docker_registry;
use crate::support::wait::eventually;

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn a_container_killed_at_rest_is_replaced_on_the_engines_event() {
    build_image();
    let present = docker(&["image", "inspect", IMAGE]);
    assert!(present.status.success(), "{IMAGE} is not on the engine after building it");
    let service = service("heal");
    let _cleanup = Containers::of(&service);
    let dir = tempfile::tempdir().unwrap();
    let rolling = "{ max-surge = 1, max-unavailable = 0 }";
    let plane = Plane::start(dir.path(), &registry("rolling", rolling, false));
    let (ok, out) = deploy(&plane, &service, "v1", 2, free_port(), true, &[]);
    assert!(ok, "v1 did not complete: {out}\n{}", plane.log());

    let victim = containers_of(&service).into_iter().find(|c| c.state == "running").unwrap();
    let killed = Instant::now();
    let out = docker(&["kill", &victim.id]);
    assert!(out.status.success(), "docker kill: {}", String::from_utf8_lossy(&out.stderr));
    loop {
        let now = containers_of(&service);
        let running = now.iter().filter(|c| c.state == "running" && c.id != victim.id).count();
        if running == 2 {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(30), "no replacement within 30 s: {now:?}\n{}", plane.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("docker kill at rest → replacement running in {:.2} s", killed.elapsed().as_secs_f64());
}

/// Three busybox services at rest: `hog` fills its 16 MiB limit and `quits`
/// exits 3, each once told to (`/go`, so the rollout completes first
/// and a replacement waits again); `victim` sleeps until `docker kill`ed.
const ENDINGS: &str = r#"name: endings
services:
  hog:
    image: BUSYBOX
    command: sh -c "while [ ! -e /go ]; do sleep 0.2; done; x=a; while true; do x=$$x$$x; done"
    mem_limit: 16m
  victim:
    image: BUSYBOX
    command: sleep 100000
  quits:
    image: BUSYBOX
    command: sh -c "while [ ! -e /go ]; do sleep 0.2; done; exit 3"
"#;

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn an_oom_kill_a_docker_kill_and_an_exit_read_apart_in_the_heal_records() {
    build_busybox();
    let env = format!("end{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let _network = Network(format!("hoist-endings-{env}"));
    let _containers = EnvironmentContainers(env.clone());
    let plane = Plane::start(dir.path(), &docker_registry(&env));
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, ENDINGS.replace("BUSYBOX", BUSYBOX)).unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(ok, "{out}\n{}", plane.log());

    let only = |service: &str| {
        let found = in_environment(service, &env);
        assert_eq!(found.len(), 1, "{service}: one container: {found:?}");
        found[0].clone()
    };
    for service in ["hog", "quits"] {
        let out = docker(&["exec", &only(service), "touch", "/go"]);
        assert!(out.status.success(), "docker exec: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = docker(&["kill", &only("victim")]);
    assert!(out.status.success(), "docker kill: {}", String::from_utf8_lossy(&out.stderr));

    // The first heal record of each, and what `hoist status` says of it.
    let healed = |service: &str| -> Value {
        eventually(30, &format!("a heal record of `{service}`"), || {
            let log = plane.json(&["log", service, "--env", &env, "--output", "json"]);
            log.as_array()?.iter().find(|r| r["kind"] == "heal").cloned()
        })
    };
    let expected = [
        ("hog", "exit code 137 (OOM-killed: memory limit reached)"),
        ("victim", "exit code 137 (killed by SIGKILL)"),
        ("quits", "exit code 3"),
    ];
    for (service, how) in expected {
        let record = healed(service);
        assert_eq!(record["input"]["last_exit"], how, "{service}: {record:#}\n{}", plane.log());
        let reason = record["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(&format!("(last: {how})")), "{service}: {reason}");
        let status = plane.json(&["status", service, "--env", &env, "--output", "json"]);
        assert_eq!(status["healing"]["last_exit"], how, "{service}: {status:#}");
    }
    let (_, text) = plane.hoist(&["log", "hog", "--env", &env]);
    assert!(text.contains("OOM-killed: memory limit reached"), "{text}");
}
