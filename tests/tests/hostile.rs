//! Hostile plugins, as real compiled components: each fault is a typed
//! error for that call, and the host — and a well-behaved plugin in the same
//! process — keeps answering.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use hoist::runtime::bindings::strategy::exports::hoist::plugin::strategy::Action;
use hoist::runtime::{CallError, Capability, LoadError, Plugin, PluginKind, Runtime};
use hoist_tests::{load, rolling_context, runtime, spec, with_limits};

fn rolling(rt: &Runtime) -> Plugin {
    load(rt, spec("rolling", "rolling", PluginKind::Strategy, &[])).expect("rolling loads")
}

/// The well-behaved plugin still gives a sound decision.
fn assert_still_answers(good: &Plugin) {
    let called = good.decide(&rolling_context(1_000)).expect("rolling answers");
    let decision = called.value.expect("rolling decides");
    assert!(
        decision.actions.iter().any(|a| matches!(a, Action::Scale(s) if s.revision == "r8")),
        "rolling should scale the candidate up: {decision:?}"
    );
}

#[test]
fn infinite_loop_is_stopped_within_its_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let good = rolling(&rt);
    let limit = Duration::from_millis(200);
    let spin =
        load(&rt, with_limits(spec("spin", "fixture_spin", PluginKind::Strategy, &[]), 64 << 20, limit)).unwrap();
    let started = Instant::now();
    let err = spin.decide(&rolling_context(1_000)).expect_err("a spinning plugin cannot answer");
    let elapsed = started.elapsed();
    assert!(
        matches!(err.error, CallError::Timeout { ref plugin, limit: l } if plugin == "spin" && l == limit),
        "{err:?}"
    );
    assert!(elapsed >= limit, "stopped before its limit: {elapsed:?}");
    // Generous bound: epochs tick every millisecond; CI machines stall.
    assert!(elapsed < limit * 3, "took {elapsed:?} to stop a {limit:?} plugin");
    assert!(err.to_string().contains("exceeded its time limit"), "{err}");
    assert_still_answers(&good);
}

#[test]
fn a_spinning_plugin_does_not_block_others_running_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let good = rolling(&rt);
    let spin = load(
        &rt,
        with_limits(spec("spin", "fixture_spin", PluginKind::Strategy, &[]), 64 << 20, Duration::from_millis(500)),
    )
    .unwrap();
    std::thread::scope(|s| {
        let hog = s.spawn(|| spin.decide(&rolling_context(1_000)));
        std::thread::sleep(Duration::from_millis(50));
        for _ in 0..100 {
            assert_still_answers(&good);
        }
        let err = hog.join().unwrap().expect_err("spin must time out");
        assert_eq!(err.code(), "timeout");
    });
}

#[test]
fn memory_growth_past_the_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let good = rolling(&rt);
    let limit = 16 << 20;
    let hog = load(
        &rt,
        with_limits(spec("memhog", "fixture_memhog", PluginKind::Strategy, &[]), limit, Duration::from_secs(5)),
    )
    .unwrap();
    let err = hog.decide(&rolling_context(1_000)).expect_err("the hog cannot answer");
    match &err.error {
        CallError::MemoryLimit { plugin, limit: l, requested } => {
            assert_eq!(plugin, "memhog");
            assert_eq!(*l, limit);
            assert!(*requested > limit, "requested {requested} should exceed {limit}");
        }
        other => panic!("expected a memory-limit error, got {other:?}"),
    }
    assert!(err.to_string().contains("raise `limits.memory`"), "{err}");
    assert_still_answers(&good);
}

#[test]
fn a_panic_is_a_typed_trap_carrying_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let good = rolling(&rt);
    let panicky = load(&rt, spec("panicky", "fixture_panic", PluginKind::Strategy, &[])).unwrap();
    for _ in 0..3 {
        let err = panicky.decide(&rolling_context(1_000)).expect_err("a panic is an error");
        match &err.error {
            CallError::Panic { plugin, message, .. } => {
                assert_eq!(plugin, "panicky");
                assert_eq!(message, "fixture panicked on purpose");
            }
            other => panic!("expected a panic, got {other:?}"),
        }
        assert!(err.to_string().starts_with("plugin `panicky` panicked: fixture panicked on purpose"), "{err}");
        assert_still_answers(&good);
    }
}

#[test]
fn an_oversized_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let good = rolling(&rt);
    let big = load(
        &rt,
        with_limits(
            spec("oversized", "fixture_oversized", PluginKind::Strategy, &[]),
            64 << 20,
            Duration::from_secs(5),
        ),
    )
    .unwrap();
    let err = big.decide(&rolling_context(1_000)).expect_err("8 MiB of status is refused");
    match &err.error {
        CallError::OutputTooLarge { plugin, what, size, limit } => {
            assert_eq!(plugin, "oversized");
            assert_eq!(*what, "a status");
            assert!(size > limit);
        }
        other => panic!("expected output-too-large, got {other:?}"),
    }
    assert_still_answers(&good);
}

#[test]
fn an_ungranted_capability_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let mut s = spec("sneaky", "fixture_docker", PluginKind::Platform, &[Capability::Process]);
    s.environment = Some("production".into());
    s.registry = Some("registry.toml".into());
    let err = load(&rt, s).err().expect("docker is not granted");
    match &err {
        LoadError::Ungranted { plugin, capability, message } => {
            assert_eq!(plugin, "sneaky");
            assert_eq!(*capability, Capability::Docker);
            for needle in ["`sneaky`", "`docker`", "`production`", "add \"docker\" to `capabilities`", "registry.toml"]
            {
                assert!(message.contains(needle), "message lacks {needle}: {message}");
            }
        }
        other => panic!("expected ungranted, got {other:?}"),
    }
    assert_still_answers(&rolling(&rt));
}

#[test]
fn a_digest_mismatch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let mut s = spec("rolling", "rolling", PluginKind::Strategy, &[]);
    s.sha256 = Some("0".repeat(64));
    let err = load(&rt, s).err().expect("a wrong pin is refused");
    assert!(matches!(err, LoadError::DigestMismatch { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("update `sha256`") && text.contains(&"0".repeat(64)), "{text}");
}

#[test]
fn a_component_of_the_wrong_world_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    // The threshold health policy declared as a strategy.
    let err = load(&rt, spec("threshold", "threshold", PluginKind::Strategy, &[])).err().expect("wrong world");
    match &err {
        LoadError::WrongWorld { plugin, expected, .. } => {
            assert_eq!(plugin, "threshold");
            assert_eq!(expected, "hoist:plugin/strategy");
        }
        other => panic!("expected wrong world, got {other:?}"),
    }
    assert!(err.to_string().contains("Fix `kind`"), "{err}");
}

#[test]
fn bytes_that_are_not_a_component_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let mut s = spec("junk", "rolling", PluginKind::Strategy, &[]);
    s.bytes = b"\0asm\x01\0\0\0garbage".to_vec().into();
    let err = load(&rt, s).err().expect("junk is refused");
    assert!(matches!(err, LoadError::Compile { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_blocked_in_a_host_call_is_stopped_by_the_call_timeout() {
    use hoist::runtime::bindings::platform::exports::hoist::plugin::platform::RevisionSpec;
    use hoist::runtime::bindings::platform::hoist::plugin::process::SpawnRequest;
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let limit = Duration::from_millis(500);
    let slow = load(
        &rt,
        with_limits(spec("slow", "fixture_slow_host", PluginKind::Platform, &[Capability::Process]), 64 << 20, limit),
    )
    .unwrap();
    let revision = RevisionSpec {
        service: "slow-test".into(),
        environment: "test".into(),
        revision: "r1".into(),
        image: None,
        command: vec![],
        env: vec![],
        port: None,
        config: "{}".into(),
        extensions: vec![],
    };
    // A process that ignores SIGTERM, given time to install its trap.
    let table = rt.capabilities().processes();
    let stubborn = table
        .spawn(SpawnRequest {
            program: "sh".into(),
            args: vec!["-c".into(), "trap '' TERM; sleep 30".into()],
            env: vec![],
            labels: vec![("hoist.service".into(), "slow-test".into())],
            assign_port: false,
            extensions: vec![],
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let err = slow.ensure(&revision, 1, 0).await.expect_err("blocked in stop for 60 s");
    assert!(matches!(err.error, CallError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < limit * 4, "took {:?}", started.elapsed());
    // The process is still the host's, found by label, not orphaned.
    let left = table.find(&[("hoist.service".into(), "slow-test".into())]);
    assert_eq!(left.len(), 1, "the process is still tracked: {left:?}");
    assert_eq!(left[0].id, stubborn.id);
    table.stop_all(Duration::from_millis(100)).await;
    assert!(table.find(&[("hoist.service".into(), "slow-test".into())]).is_empty());
    assert_still_answers(&rolling(&rt));
}
