//! Abort of a canary that already serves traffic: no container of the
//! candidate is left (asserted through its labels), and the stable revision
//! answers every request throughout.

use crate::deploy::{deploy, registry, service, start_rollout};
use crate::support::containers::revisions_and_states;
use crate::support::engine::docker;
use crate::support::guards::Containers;
use crate::support::http::get;
use crate::support::images::build_image;
use crate::support::load::Load;
use crate::support::plane::Plane;
use crate::support::ports::free_port;
use crate::support::wait::eventually;

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn abort_leaves_no_container_of_the_candidate_and_v1_keeps_serving() {
    build_image();
    let service = service("abort");
    let _cleanup = Containers::of(&service);
    let dir = tempfile::tempdir().unwrap();
    let canary = "{ initial-weight = 50, step-weight = 50, max-weight = 50, step-duration-ms = 120000 }";
    let plane = Plane::start(dir.path(), &registry("canary", canary, false));
    let router = free_port();
    let (ok, out) = deploy(&plane, &service, "v1", 2, router, true, &[]);
    assert!(ok, "v1 did not complete: {out}\n{}", plane.log());

    let load = Load::start(router, 2);
    let id = start_rollout(&plane, &service, "v2", 2, router);
    eventually(30, "half the traffic on v2", || {
        (plane.status(&service)["observed"]["weights"]["r2"] == 50).then_some(())
    });
    let (ok, out) = plane.hoist(&["abort", &id, "--reason", "e2e abort"]);
    assert!(ok, "{out}");
    let ended = plane.wait_ended(&service, &id, 30);
    let (answered, failures) = load.stop();

    assert_eq!(ended["phase"], "aborted", "{ended}");
    let candidate = docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("label=hoist.service={service}"),
        "--filter",
        "label=hoist.revision=r2",
    ]);
    assert!(candidate.status.success());
    assert_eq!(String::from_utf8_lossy(&candidate.stdout).trim(), "", "containers of the aborted candidate remain");
    let running = vec![("r1".to_owned(), "running".to_owned()); 2];
    assert_eq!(revisions_and_states(&service), running, "v1 runs at full size");
    assert!(get(router).unwrap().1.contains(r#""version":"v1""#), "v1 answers");
    assert!(answered > 100, "too little load to judge: {answered}");
    assert!(
        failures.is_empty(),
        "{} requests failed around the abort: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(plane.log_of(&id).contains("e2e abort"), "the operator's reason is recorded");
}
