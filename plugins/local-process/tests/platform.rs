//! The local-process platform against the SDK's fake process table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use hoist_sdk::prelude::*;
use hoist_sdk::process::ProcessState;
use hoist_sdk::testing::{self, FakeProcesses};
use local_process::LocalProcess;

fn spec(revision: &str, command: &[&str]) -> RevisionSpec {
    RevisionSpec {
        service: "web".into(),
        environment: "dev".into(),
        revision: revision.into(),
        image: None,
        command: command.iter().map(|s| (*s).to_owned()).collect(),
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
fn ensure_spawns_labelled_processes_with_env_and_ports() {
    let fake = FakeProcesses::new();
    testing::set_now_ms(10_000);
    let instances = LocalProcess::ensure(spec("r1", &["./server", "--fast"]), 3).unwrap();
    assert_eq!(instances.len(), 3);
    assert!(instances.iter().all(|i| i.state == InstanceState::Ready && i.revision == "r1"));
    assert_eq!(instances[0].address.as_deref(), Some("127.0.0.1:20000"));
    let all = fake.all();
    let request = fake.request(&all[2].id).unwrap();
    assert_eq!(request.program, "./server");
    assert_eq!(request.args, vec!["--fast".to_owned()]);
    assert!(request.assign_port);
    for (k, v) in [("GREETING", "hi"), ("HOIST_SERVICE", "web"), ("HOIST_REVISION", "r1"), ("HOIST_INSTANCE", "2")] {
        assert!(request.env.contains(&(k.into(), v.into())), "{k}");
    }
    for (k, v) in
        [("hoist.service", "web"), ("hoist.environment", "dev"), ("hoist.revision", "r1"), ("hoist.index", "2")]
    {
        assert_eq!(label(&request.labels, k), Some(v), "{k}");
    }
}

#[test]
fn ensure_is_idempotent_and_scales_down_highest_index_first() {
    let fake = FakeProcesses::new();
    let first = LocalProcess::ensure(spec("r1", &["srv"]), 3).unwrap();
    let again = LocalProcess::ensure(spec("r1", &["srv"]), 3).unwrap();
    assert_eq!(first, again);
    assert_eq!(fake.all().len(), 3);
    let fewer = LocalProcess::ensure(spec("r1", &["srv"]), 1).unwrap();
    assert_eq!(fewer.len(), 1);
    assert_eq!(fewer[0].id, first[0].id);
    let stopped: Vec<String> = fake
        .stopped()
        .into_iter()
        .map(|(id, grace)| {
            assert_eq!(grace, 5_000);
            id
        })
        .collect();
    assert_eq!(stopped, vec![first[2].id.clone(), first[1].id.clone()]);
}

#[test]
fn exited_processes_are_replaced_and_reported() {
    let fake = FakeProcesses::new();
    let first = LocalProcess::ensure(spec("r1", &["srv"]), 2).unwrap();
    fake.exit(&first[1].id, 3);
    let listed = LocalProcess::instances("web".into(), "dev".into(), String::new()).unwrap();
    assert_eq!(listed[1].state, InstanceState::Exited("exit code 3".into()));
    let healed = LocalProcess::ensure(spec("r1", &["srv"]), 2).unwrap();
    assert_eq!(healed.len(), 2);
    assert_eq!(healed[0].id, first[0].id);
    assert_ne!(healed[1].id, first[1].id);
    assert_eq!(
        fake.request(&healed[1].id).map(|r| label(&r.labels, "hoist.index").map(str::to_owned)),
        Some(Some("1".into()))
    );
    assert_eq!(fake.running(), 2);
}

#[test]
fn instances_lists_every_revision_and_remove_stops_one() {
    let fake = FakeProcesses::new();
    LocalProcess::ensure(spec("r1", &["srv"]), 2).unwrap();
    LocalProcess::ensure(spec("r2", &["srv"]), 1).unwrap();
    let all = LocalProcess::instances("web".into(), "dev".into(), String::new()).unwrap();
    assert_eq!(all.len(), 3);
    LocalProcess::remove("web".into(), "dev".into(), "r1".into(), r#"{"stop-grace-ms": 100}"#.into()).unwrap();
    let left = LocalProcess::instances("web".into(), "dev".into(), String::new()).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].revision, "r2");
    assert!(fake.stopped().iter().all(|(_, grace)| *grace == 100));
    // Removing again is fine.
    LocalProcess::remove("web".into(), "dev".into(), "r1".into(), String::new()).unwrap();
}

#[test]
fn errors_name_the_service() {
    let fake = FakeProcesses::new();
    let Err(PlatformError::InvalidSpec(msg)) = LocalProcess::ensure(spec("r1", &[]), 1) else { panic!() };
    assert!(msg.contains("`web`"), "{msg}");
    fake.missing_program("nope");
    let Err(PlatformError::InvalidSpec(msg)) = LocalProcess::ensure(spec("r1", &["nope"]), 1) else { panic!() };
    assert!(msg.contains("`nope` not found"), "{msg}");
    fake.limit(0);
    assert!(matches!(LocalProcess::ensure(spec("r1", &["srv"]), 1), Err(PlatformError::Capability(_))));
    let mut bad = spec("r1", &["srv"]);
    bad.config = r#"{"grace": 1}"#.into();
    assert!(matches!(LocalProcess::ensure(bad, 1), Err(PlatformError::Plugin(PluginError::InvalidConfig(_)))));
}

#[test]
fn signals_read_as_exits() {
    let fake = FakeProcesses::new();
    let first = LocalProcess::ensure(spec("r1", &["srv"]), 1).unwrap();
    fake.set_state(&first[0].id, ProcessState::Signaled(9));
    let listed = LocalProcess::instances("web".into(), "dev".into(), String::new()).unwrap();
    assert_eq!(listed[0].state, InstanceState::Exited("killed by SIGKILL".into()));
    assert_eq!(listed[0].ready_for_ms, None);
}
