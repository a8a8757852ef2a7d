//! A bad canary on containers is rolled back by the health policy and leaves
//! only v1's containers; a control plane killed with -9 adopts v1's
//! containers by label; a missing image is a permanent error: the rollout
//! is rolled back at once with the engine's reason.

use std::time::{Duration, Instant};

use crate::deploy::{deploy, registry, service};
use crate::support::containers::containers;
use crate::support::engine::docker;
use crate::support::guards::Containers;
use crate::support::http::get;
use crate::support::images::build_image;
use crate::support::load::Load;
use crate::support::plane::Plane;
use crate::support::ports::free_port;
use crate::support::wait::eventually;

const CANARY: &str =
    "{ initial-weight = 30, step-weight = 30, max-weight = 60, step-duration-ms = 4000, failure-threshold = 1 }";

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn a_bad_canary_on_docker_is_rolled_back_and_leaves_only_v1() {
    build_image();
    let service = service("canary");
    let cleanup = Containers::of(&service);
    let dir = tempfile::tempdir().unwrap();
    let registry = registry("canary", CANARY, true);
    let plane = Plane::start(dir.path(), &registry);
    let router = free_port();

    let (ok, out) = deploy(&plane, &service, "v1", 2, router, true, &[]);
    assert!(ok, "v1 did not complete: {out}\n{}", plane.log());
    let v1 = containers(&service);
    assert_eq!(v1.len(), 2, "{v1:?}");
    assert!(v1.iter().all(|n| n.starts_with(&format!("hoist-{service}-test-"))), "{v1:?}");
    assert_eq!(get(router).map(|r| r.0), Ok(200), "v1 serves through the router");

    // A control plane killed with -9 and restarted adopts v1's containers by
    // label: no duplicate, no orphan.
    drop(plane);
    let plane = Plane::start(dir.path(), &registry);
    eventually(30, "v1 adopted after a restart", || {
        let status = plane.status(&service);
        (status["observed"]["revisions"]["r1"]["ready"] == 2).then_some(())
    });
    assert_eq!(containers(&service), v1, "the restarted control plane adopted, not duplicated");

    // Load through the router while the bad v2 is canaried.
    let load = Load::start(router, 1);
    let (ok, out) = deploy(&plane, &service, "v2", 2, router, true, &["--set-env", "DEMO_ERROR_RATE=0.5"]);
    load.stop();
    assert!(!ok, "a bad v2 must not complete: {out}");
    assert!(out.contains("rolled-back"), "v2 not rolled back: {out}\n{}", plane.log());
    assert_eq!(containers(&service), v1, "only v1's containers remain after the rollback");
    assert_eq!(get(router).map(|r| r.0), Ok(200), "v1 still serves");

    // Ports are only on loopback.
    let ports = docker(&["ps", "--filter", &format!("label=hoist.service={service}"), "--format", "{{.Ports}}"]);
    let ports = String::from_utf8_lossy(&ports.stdout).into_owned();
    assert!(ports.lines().all(|l| l.starts_with("127.0.0.1:")), "{ports}");

    // A missing image cannot be fixed by retrying: rolled back at once (not
    // after the 30-minute progress deadline), the engine's reason recorded.
    let started = Instant::now();
    let (ok, out) = plane.hoist(&[
        "deploy",
        &service,
        "--env",
        "test",
        "--version",
        "v3",
        "--image",
        "hoist-demo:absent",
        "--port",
        "8080",
        "--router",
        &format!("127.0.0.1:{router}"),
        "--wait",
    ]);
    assert!(!ok, "{out}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?} to give up: {out}", started.elapsed());
    let missing = "image `hoist-demo:absent` is not present on the engine and no registry is configured";
    assert!(out.contains("rolled-back") && out.contains(missing), "{out}\n{}", plane.log());
    let (_, history) = plane.hoist(&["history", &service, "--env", "test", "--output", "json"]);
    assert!(history.contains(missing), "the reason is in the history: {history}");
    assert_eq!(containers(&service), v1, "only v1's containers remain");
    assert_eq!(get(router).map(|r| r.0), Ok(200), "v1 still serves");

    // Cleanup removes every container of the service.
    drop(plane);
    drop(cleanup);
    assert_eq!(containers(&service), Vec::<String>::new());
}
