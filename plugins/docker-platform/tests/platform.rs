//! The docker platform against the SDK's fake engine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use docker_platform::DockerPlatform;
use hoist_sdk::docker::Health;
use hoist_sdk::prelude::*;
use hoist_sdk::testing::FakeDocker;

fn spec(revision: &str) -> RevisionSpec {
    RevisionSpec {
        service: "web".into(),
        environment: "dev".into(),
        revision: revision.into(),
        image: Some("demo:v1".into()),
        command: vec![],
        env: vec![("GREETING".into(), "hi".into())],
        port: Some(8080),
        config: String::new(),
        extensions: vec![],
    }
}

fn label<'a>(labels: &'a [(String, String)], key: &str) -> Option<&'a str> {
    labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn ensure_creates_labelled_named_containers_on_loopback_ports() {
    let fake = FakeDocker::new().add_image("demo:v1");
    let instances = DockerPlatform::ensure(spec("r1"), 2).unwrap();
    assert_eq!(instances.len(), 2);
    assert!(instances.iter().all(|i| i.state == InstanceState::Ready && i.revision == "r1"));
    assert_eq!(instances[0].address.as_deref(), Some("127.0.0.1:30001"));
    let all = fake.containers();
    assert_eq!(all[1].name, "hoist-web-dev-r1-1");
    let spec = fake.spec(&all[1].id).unwrap();
    assert_eq!(spec.ports[0].container_port, 8080);
    assert_eq!(spec.ports[0].host_port, 0);
    assert!(spec.env.contains(&("GREETING".into(), "hi".into())));
    assert!(spec.env.contains(&("PORT".into(), "8080".into())));
    for (k, v) in
        [("hoist.service", "web"), ("hoist.environment", "dev"), ("hoist.revision", "r1"), ("hoist.index", "1")]
    {
        assert_eq!(label(&spec.labels, k), Some(v), "{k}");
    }
}

#[test]
fn ensure_is_idempotent_and_adopts_existing_containers() {
    let fake = FakeDocker::new().add_image("demo:v1");
    let first = DockerPlatform::ensure(spec("r1"), 2).unwrap();
    let again = DockerPlatform::ensure(spec("r1"), 2).unwrap();
    assert_eq!(first, again);
    assert_eq!(fake.containers().len(), 2);
    let listed = DockerPlatform::instances("web".into(), "dev".into(), String::new()).unwrap();
    assert_eq!(listed, first);
}

#[test]
fn ensure_replaces_exited_containers_and_removes_extras() {
    let fake = FakeDocker::new().add_image("demo:v1");
    DockerPlatform::ensure(spec("r1"), 3).unwrap();
    let all = fake.containers();
    fake.set_state(&all[0].id, "exited");
    let instances = DockerPlatform::ensure(spec("r1"), 2).unwrap();
    assert_eq!(instances.len(), 2);
    let names: Vec<String> = fake.containers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, vec!["hoist-web-dev-r1-1", "hoist-web-dev-r1-2"]);
}

#[test]
fn readiness_follows_the_healthcheck() {
    let fake = FakeDocker::new().add_image("demo:v1");
    DockerPlatform::ensure(spec("r1"), 3).unwrap();
    let all = fake.containers();
    fake.set_health(&all[0].id, Health::Starting);
    fake.set_health(&all[1].id, Health::Unhealthy);
    fake.set_health(&all[2].id, Health::Healthy);
    let states: Vec<InstanceState> = DockerPlatform::instances("web".into(), "dev".into(), String::new())
        .unwrap()
        .into_iter()
        .map(|i| i.state)
        .collect();
    assert_eq!(states, vec![InstanceState::Starting, InstanceState::Unready, InstanceState::Ready]);
}

#[test]
fn remove_stops_and_removes_only_that_revision() {
    let fake = FakeDocker::new().add_image("demo:v1");
    DockerPlatform::ensure(spec("r1"), 2).unwrap();
    DockerPlatform::ensure(spec("r2"), 1).unwrap();
    let config = r#"{"stop-timeout-secs": 3}"#.to_owned();
    DockerPlatform::remove("web".into(), "dev".into(), "r1".into(), config).unwrap();
    let left = fake.containers();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "hoist-web-dev-r2-0");
    assert!(fake.stopped().iter().all(|(_, t)| *t == 3));
    assert_eq!(fake.stopped().len(), 2);
}

#[test]
fn a_missing_image_is_an_invalid_spec_naming_the_missing_registry() {
    FakeDocker::new();
    let err = DockerPlatform::ensure(spec("r1"), 1).unwrap_err();
    let PlatformError::InvalidSpec(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("image `demo:v1` is not present on the engine and no registry is configured"), "{msg}");
}

#[test]
fn an_unreachable_engine_is_unavailable() {
    FakeDocker::new().add_image("demo:v1").set_unreachable(true);
    let err = DockerPlatform::ensure(spec("r1"), 1).unwrap_err();
    assert!(matches!(err, PlatformError::Unavailable(_)), "{err:?}");
}

#[test]
fn a_network_is_ensured_when_configured() {
    let fake = FakeDocker::new().add_image("demo:v1");
    let mut s = spec("r1");
    s.config = r#"{"network": "hoist-net"}"#.into();
    DockerPlatform::ensure(s, 1).unwrap();
    assert_eq!(fake.networks(), vec!["hoist-net".to_owned()]);
    assert_eq!(fake.spec(&fake.containers()[0].id).unwrap().network.as_deref(), Some("hoist-net"));
}
