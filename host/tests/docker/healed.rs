//! A container `docker kill`ed at rest, after its rollout completed: the
//! engine's `die` event wakes the at-rest reconciler (its poll is a 10 s
//! safety net), which replaces the container. Prints the time from the kill
//! to a running replacement (a figure, not a goal).

use std::time::{Duration, Instant};

use crate::deploy::{deploy, registry, service};
use crate::support::containers::containers_of;
use crate::support::engine::docker;
use crate::support::guards::Containers;
use crate::support::images::{IMAGE, build_image};
use crate::support::plane::Plane;
use crate::support::ports::free_port;

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
