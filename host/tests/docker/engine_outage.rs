//! The Docker engine becomes unreachable in the middle of a rollout, then
//! comes back.
//!
//! Decision: the machine's dockerd is shared with other tests, so it is
//! never stopped. `hoist serve` is pointed (DOCKER_HOST) at a unix socket
//! in the test's directory, served by a forwarding proxy to the real engine
//! (`proxy.rs`); cutting the proxy (listener closed, socket file removed,
//! every connection shut down) is what an engine outage looks like to
//! Hoist, and restoring it brings "the engine" back.
//!
//! Expected: `hoist status` and `hoist log` name the engine's address and
//! say what to do; the rollout keeps waiting (an unreachable platform is
//! retried, not rolled back: a rollback would need the same engine) while
//! the running containers keep serving; once the engine is back the rollout
//! completes with exactly the new revision's containers, none orphaned.

use std::time::{Duration, Instant};

use crate::deploy::{deploy, registry, service, start_rollout};
use crate::proxy::EngineProxy;
use crate::support::containers::{containers_of, revisions_and_states};
use crate::support::guards::Containers;
use crate::support::http::get;
use crate::support::images::build_image;
use crate::support::plane::Plane;
use crate::support::ports::free_port;
use crate::support::wait::eventually;

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn an_engine_unreachable_mid_rollout_is_reported_and_the_rollout_completes_once_it_is_back() {
    build_image();
    let service = service("outage");
    let _cleanup = Containers::of(&service);
    let dir = tempfile::tempdir().unwrap();
    let mut proxy = EngineProxy::start(&dir.path().join("docker.sock"));
    let address = proxy.address();
    let canary = "{ initial-weight = 50, step-weight = 50, max-weight = 50, step-duration-ms = 3000 }";
    let plane = Plane::start_with_env(dir.path(), &registry("canary", canary, false), &[("DOCKER_HOST", &address)]);
    let router = free_port();
    let (ok, out) = deploy(&plane, &service, "v1", 2, router, true, &[]);
    assert!(ok, "v1 did not complete: {out}\n{}", plane.log());

    let id = start_rollout(&plane, &service, "v2", 2, router);
    eventually(30, "a running v2 container", || {
        containers_of(&service).iter().any(|c| c.revision == "r2" && c.state == "running").then_some(())
    });
    proxy.cut();

    let unreachable = format!("engine unreachable at {address}");
    let status = eventually(20, "the outage in `hoist status`", || {
        let (_, out) = plane.hoist(&["status", &service, "--env", "test"]);
        out.contains(&unreachable).then_some(out)
    });
    assert!(status.contains("start the Docker engine, or set DOCKER_HOST to the engine to use"), "{status}");
    eventually(10, "the outage in the rollout's status", || {
        let r = plane.rollout(&service, &id);
        r["status"].as_str().is_some_and(|s| s.contains("retrying") && s.contains(&unreachable)).then_some(())
    });
    // Longer than a canary step: the rollout waits instead of rolling back,
    // and the containers keep serving through the router.
    let until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < until {
        let r = plane.rollout(&service, &id);
        assert_eq!(r["phase"], "running", "rolled back on a transient outage: {r}");
        assert_eq!(get(router).map(|r| r.0), Ok(200), "the service serves while its engine is unreachable");
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = plane.log_of(&id);
    assert!(log.contains(&unreachable), "the outage is not in `hoist log {id}`:\n{log}");

    proxy.restore();
    let ended = plane.wait_ended(&service, &id, 60);
    assert_eq!(ended["phase"], "completed", "{ended}\n{}", plane.log());
    let running = vec![("r2".to_owned(), "running".to_owned()); 2];
    assert_eq!(revisions_and_states(&service), running, "exactly v2's containers, none orphaned");
    assert!(get(router).unwrap().1.contains(r#""version":"v2""#), "v2 answers");
}
