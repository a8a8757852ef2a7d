//! Blue-green on containers: clients hit the router during the whole
//! switch and not one request fails; the new version answers at the end
//! and only its containers remain.

use crate::deploy::{deploy, registry, service};
use crate::support::containers::revisions_and_states;
use crate::support::guards::Containers;
use crate::support::http::get;
use crate::support::images::build_image;
use crate::support::load::Load;
use crate::support::plane::Plane;
use crate::support::ports::free_port;
use crate::support::wait::eventually;

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn a_blue_green_switch_of_containers_under_load_fails_no_request() {
    build_image();
    let service = service("bg");
    let _cleanup = Containers::of(&service);
    let dir = tempfile::tempdir().unwrap();
    let plane =
        Plane::start(dir.path(), &registry("blue-green", "{ auto-promote = true, scale-down-delay-ms = 1000 }", false));
    let router = free_port();
    let (ok, out) = deploy(&plane, &service, "v1", 2, router, true, &[]);
    assert!(ok, "v1 did not complete: {out}\n{}", plane.log());

    let load = Load::start(router, 3);
    // Load is flowing before the switch starts.
    eventually(10, "v1 answering the clients", || get(router).ok().filter(|(s, _)| *s == 200));
    let (ok, out) = deploy(&plane, &service, "v2", 2, router, true, &[]);
    let body = eventually(10, "v2 answering", || get(router).ok().filter(|(_, b)| b.contains("\"v2\"")));
    let (answered, failures) = load.stop();

    assert!(ok, "v2 did not complete: {out}\n{}", plane.log());
    assert!(body.1.contains(r#""version":"v2""#), "{body:?}");
    assert!(answered > 200, "too little load to judge: {answered}");
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the switch: {:?}",
        failures.len(),
        answered,
        &failures[..failures.len().min(5)]
    );
    let running = vec![("r2".to_owned(), "running".to_owned()); 2];
    assert_eq!(revisions_and_states(&service), running, "only v2's containers remain");
}
