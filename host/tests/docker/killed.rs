//! A candidate container killed (`docker kill`) while the canary analyses
//! it: the engine records the exit in the rollout's log and the platform
//! replaces the container; the rollout ends with exactly the containers of
//! the revision that won, the killed one removed.

use crate::deploy::{deploy, registry, service, start_rollout};
use crate::support::containers::{containers_of, revisions_and_states};
use crate::support::engine::docker;
use crate::support::guards::Containers;
use crate::support::images::build_image;
use crate::support::plane::Plane;
use crate::support::ports::free_port;
use crate::support::wait::eventually;

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn a_candidate_container_killed_mid_rollout_is_recorded_and_replaced() {
    build_image();
    let service = service("kill");
    let _cleanup = Containers::of(&service);
    let dir = tempfile::tempdir().unwrap();
    let canary = "{ initial-weight = 50, step-weight = 50, max-weight = 50, step-duration-ms = 10000 }";
    let plane = Plane::start(dir.path(), &registry("canary", canary, false));
    let router = free_port();
    let (ok, out) = deploy(&plane, &service, "v1", 2, router, true, &[]);
    assert!(ok, "v1 did not complete: {out}\n{}", plane.log());

    let id = start_rollout(&plane, &service, "v2", 2, router);
    eventually(30, "the canary analysing v2", || {
        plane.rollout(&service, &id)["status"].as_str().is_some_and(|s| s.contains("analysing")).then_some(())
    });
    let victim = containers_of(&service).into_iter().find(|c| c.revision == "r2" && c.state == "running").unwrap();
    let out = docker(&["kill", &victim.id]);
    assert!(out.status.success(), "docker kill: {}", String::from_utf8_lossy(&out.stderr));

    let ended = plane.wait_ended(&service, &id, 60);
    let log = plane.log_of(&id);
    // The engine reports a container's exit code, and that a signal ended it.
    let recorded = format!(
        "instance {} of r2 has exited (exit code 137 (killed by SIGKILL)); the platform replaces it",
        victim.id
    );
    assert!(log.contains(&recorded), "the kill is not in `hoist log {id}`:\n{log}\n{}", plane.log());
    let winner = match ended["phase"].as_str() {
        Some("completed") => "r2",
        Some("rolled-back") => "r1",
        other => panic!("rollout ended {other:?}: {ended}"),
    };
    let running = vec![(winner.to_owned(), "running".to_owned()); 2];
    assert_eq!(revisions_and_states(&service), running, "exactly {winner}'s containers remain");
    assert!(containers_of(&service).iter().all(|c| c.id != victim.id), "the killed container was removed");
}
