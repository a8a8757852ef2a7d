//! The swarm platform against the SDK's fake engine (a single-node swarm).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use hoist_sdk::docker::Health;
use hoist_sdk::prelude::*;
use hoist_sdk::testing::FakeDocker;
use swarm_platform::SwarmPlatform;

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

fn instances() -> Vec<Instance> {
    SwarmPlatform::instances("web".into(), "dev".into(), String::new()).unwrap()
}

#[test]
fn ensure_creates_one_labelled_service_on_the_hoist_network() {
    let fake = FakeDocker::new().add_image("demo:v1");
    let instances = SwarmPlatform::ensure(spec("r1"), 2).unwrap();
    assert_eq!(fake.swarm_networks(), vec!["hoist-swarm".to_owned()]);
    let services = fake.services();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0].name, "hoist-web-dev-r1");
    let created = fake.service_spec(&services[0].id).unwrap();
    assert_eq!(created.replicas, 2);
    assert!(created.ports.is_empty(), "Swarm publishes nothing");
    for (k, v) in
        [("hoist.service", "web"), ("hoist.environment", "dev"), ("hoist.revision", "r1"), ("hoist.port", "8080")]
    {
        assert_eq!(label(&created.labels, k), Some(v), "{k}");
    }
    for (k, v) in [("GREETING", "hi"), ("PORT", "8080"), ("HOIST_INSTANCE", "{{.Task.Slot}}")] {
        assert_eq!(label(&created.env, k), Some(v), "{k}");
    }
    assert_eq!(label(&created.extensions, "network"), Some("hoist-swarm"));
    assert_eq!(label(&created.extensions, "stop-grace-ms"), Some("10000"));

    assert_eq!(instances.len(), 2);
    assert!(instances.iter().all(|i| i.state == InstanceState::Ready && i.revision == "r1"));
    let addresses: Vec<Option<&str>> = instances.iter().map(|i| i.address.as_deref()).collect();
    assert_eq!(addresses, vec![Some("10.0.1.2:8080"), Some("10.0.1.3:8080")]);
}

#[test]
fn ensure_is_idempotent_scales_in_place_and_adopts_by_label() {
    let fake = FakeDocker::new().add_image("demo:v1");
    let first = SwarmPlatform::ensure(spec("r1"), 2).unwrap();
    // A restarted control plane calls again: the service is adopted.
    let again = SwarmPlatform::ensure(spec("r1"), 2).unwrap();
    assert_eq!(first, again);
    assert_eq!(fake.services().len(), 1);
    assert_eq!(instances(), first);

    let scaled = SwarmPlatform::ensure(spec("r1"), 3).unwrap();
    assert_eq!(fake.services().len(), 1, "scaled, not recreated");
    assert_eq!(scaled.len(), 3);
    assert_eq!(scaled[..2], first[..], "the first tasks keep running");

    let down = SwarmPlatform::ensure(spec("r1"), 1).unwrap();
    assert_eq!(down.len(), 1, "history of stopped tasks is not an instance: {down:?}");
    assert_eq!(fake.services()[0].replicas, 1);
}

#[test]
fn readiness_follows_task_state_and_healthcheck() {
    let fake = FakeDocker::new().add_image("demo:v1");
    SwarmPlatform::ensure(spec("r1"), 4).unwrap();
    let ids: Vec<String> = instances().into_iter().map(|i| i.id).collect();
    fake.set_task_state(&ids[0], "preparing");
    fake.set_task_health(&ids[1], Health::Starting);
    fake.set_task_health(&ids[2], Health::Unhealthy);
    fake.set_task_health(&ids[3], Health::Healthy);
    let states: Vec<InstanceState> = instances().into_iter().map(|i| i.state).collect();
    assert_eq!(
        states,
        vec![InstanceState::Starting, InstanceState::Starting, InstanceState::Unready, InstanceState::Ready]
    );
}

#[test]
fn a_failed_task_is_replaced_by_swarm_and_only_the_replacement_is_listed() {
    let fake = FakeDocker::new().add_image("demo:v1");
    let before = SwarmPlatform::ensure(spec("r1"), 2).unwrap();
    fake.fail_task(&before[0].id, "task: non-zero exit (137)");
    let after = instances();
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|i| i.id != before[0].id));
}

#[test]
fn a_task_being_shut_down_is_stopping() {
    let fake = FakeDocker::new().add_image("demo:v1");
    let before = SwarmPlatform::ensure(spec("r1"), 2).unwrap();
    // Scaled down, its container still draining.
    SwarmPlatform::ensure(spec("r1"), 1).unwrap();
    fake.set_task_state(&before[1].id, "running");
    let listed = instances();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].state, InstanceState::Stopping);
}

#[test]
fn a_running_task_without_an_address_here_is_not_ready() {
    let fake = FakeDocker::new().add_image("demo:v1");
    let mut s = spec("r1");
    // A network the tasks are not on in this fake: no address is known.
    s.config = r#"{"network": "elsewhere"}"#.into();
    SwarmPlatform::ensure(s, 1).unwrap();
    let listed = SwarmPlatform::instances("web".into(), "dev".into(), r#"{"network": "other"}"#.into()).unwrap();
    let InstanceState::Other(why) = &listed[0].state else { panic!("{listed:?}") };
    assert!(why.contains("router must run on a node attached to that network"), "{why}");
    assert_eq!(listed[0].address, None);
    assert_eq!(fake.swarm_networks(), vec!["elsewhere".to_owned()]);
}

#[test]
fn canary_revisions_are_separate_services_and_remove_takes_only_one() {
    let fake = FakeDocker::new().add_image("demo:v1").add_image("demo:v2");
    SwarmPlatform::ensure(spec("r1"), 3).unwrap();
    let mut v2 = spec("r2");
    v2.image = Some("demo:v2".into());
    SwarmPlatform::ensure(v2, 1).unwrap();
    let listed = instances();
    assert_eq!(listed.iter().filter(|i| i.revision == "r1").count(), 3);
    assert_eq!(listed.iter().filter(|i| i.revision == "r2").count(), 1);

    SwarmPlatform::remove("web".into(), "dev".into(), "r2".into(), String::new()).unwrap();
    let names: Vec<String> = fake.services().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["hoist-web-dev-r1"]);
    assert!(instances().iter().all(|i| i.revision == "r1"));
    // Removing again is fine.
    SwarmPlatform::remove("web".into(), "dev".into(), "r2".into(), String::new()).unwrap();
}

#[test]
fn a_duplicate_service_with_the_same_labels_is_removed() {
    let fake = FakeDocker::new().add_image("demo:v1");
    SwarmPlatform::ensure(spec("r1"), 1).unwrap();
    let mut copy = fake.service_spec(&fake.services()[0].id).unwrap();
    copy.name = "made-by-hand".into();
    hoist_sdk::docker::create_service(&copy).unwrap();
    SwarmPlatform::ensure(spec("r1"), 1).unwrap();
    let names: Vec<String> = fake.services().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["hoist-web-dev-r1"]);
}

#[test]
fn a_missing_image_is_an_invalid_spec_naming_the_missing_registry() {
    FakeDocker::new();
    let err = SwarmPlatform::ensure(spec("r1"), 1).unwrap_err();
    let PlatformError::InvalidSpec(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("image `demo:v1` is not present on the engine and no registry is configured"), "{msg}");
}

#[test]
fn a_command_is_refused_with_the_fix() {
    FakeDocker::new().add_image("demo:v1");
    let mut s = spec("r1");
    s.command = vec!["/bin/serve".into()];
    let err = SwarmPlatform::ensure(s, 1).unwrap_err();
    let PlatformError::InvalidSpec(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("remove the command"), "{msg}");
}

#[test]
fn an_engine_outside_a_swarm_is_unavailable_and_says_what_to_run() {
    FakeDocker::new().add_image("demo:v1").set_swarm(false);
    let err = SwarmPlatform::ensure(spec("r1"), 1).unwrap_err();
    let PlatformError::Unavailable(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("docker swarm init"), "{msg}");
}

#[test]
fn an_unreachable_engine_is_unavailable() {
    FakeDocker::new().add_image("demo:v1").set_unreachable(true);
    let err = SwarmPlatform::instances("web".into(), "dev".into(), String::new()).unwrap_err();
    assert!(matches!(err, PlatformError::Unavailable(_)), "{err:?}");
}

#[test]
fn unknown_config_keys_are_refused() {
    FakeDocker::new().add_image("demo:v1");
    let mut s = spec("r1");
    s.config = r#"{"replicas": 3}"#.into();
    let err = SwarmPlatform::ensure(s, 1).unwrap_err();
    assert!(matches!(err, PlatformError::Plugin(PluginError::InvalidConfig(_))), "{err:?}");
}

#[test]
fn stack_settings_it_cannot_honour_are_refused_naming_them_never_dropped() {
    let fake = FakeDocker::new().add_image("demo:v1");
    let mut s = spec("r1");
    s.extensions = vec![
        ("hoist.version".into(), "v1".into()),
        ("hoist.stack".into(), "shop".into()),
        ("hoist.volume".into(), "data:/data".into()),
    ];
    let err = SwarmPlatform::ensure(s.clone(), 1).unwrap_err();
    let PlatformError::InvalidSpec(message) = err else { panic!("{err:?}") };
    assert!(message.contains("`hoist.volume`") && message.contains("builtin:docker"), "{message}");
    assert!(fake.services().is_empty(), "nothing created");
    // What it does honour goes through.
    s.extensions.pop();
    s.extensions.push(("hoist.dependency".into(), r#"{"service":"db","port":5432}"#.into()));
    assert_eq!(SwarmPlatform::ensure(s, 1).unwrap().len(), 1);
}
