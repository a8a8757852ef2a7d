//! Plugins written the way people write them — `println!`, Rust's default
//! panic hook, a `Vec` grown until the allocator fails, `thread::sleep`,
//! unbounded recursion, a record shape from another build of the WIT —
//! called from inside a tokio runtime as `hoist serve` and `hoist simulate`
//! call them. Each fault is the exact user-facing message for that call, and
//! a well-behaved plugin in the same process keeps answering.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use hoist::runtime::bindings::strategy::exports::hoist::plugin::strategy::Action;
use hoist::runtime::{CallError, LoadError, Plugin, PluginKind, Runtime};
use hoist_tests::{load, rolling_context, runtime, spec, with_limits};

fn rolling(rt: &Runtime) -> Plugin {
    load(rt, spec("rolling", "rolling", PluginKind::Strategy, &[])).expect("rolling loads")
}

async fn assert_still_answers(good: &Plugin) {
    let called = good.decide_async(&rolling_context(1_000)).await.expect("rolling answers");
    let decision = called.value.expect("rolling decides");
    assert!(
        decision.actions.iter().any(|a| matches!(a, Action::Scale(s) if s.revision == "r8")),
        "rolling should scale the candidate up: {decision:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn println_goes_to_the_calls_record_not_the_hosts_streams() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let chatty = load(
        &rt,
        with_limits(spec("chatty", "fixture_chatty", PluginKind::Strategy, &[]), 64 << 20, Duration::from_secs(2)),
    )
    .unwrap();
    // Both ways a caller on a runtime may ask: awaiting, and blocking.
    let called = chatty.decide_async(&rolling_context(1_000)).await.expect("a chatty plugin still answers");
    let decision = called.value.expect("and decides");
    assert_eq!(decision.status, "chatty scaled the candidate");
    assert!(called.output.stdout.starts_with("chatty: deciding for web at 1000\n"), "{}", &called.output.stdout[..200]);
    assert!(
        called.output.stdout.contains("more bytes dropped: the cap is 16384 bytes per call"),
        "truncation is marked"
    );
    assert!(called.output.stdout.len() < 17 * 1024, "stdout is bounded: {}", called.output.stdout.len());
    assert_eq!(called.output.stderr, "chatty: a warning on stderr\n");
    let again = chatty.decide(&rolling_context(2_000)).expect("a blocking call from a runtime thread works too");
    assert!(again.output.stdout.starts_with("chatty: deciding for web at 2000\n"));
    assert_still_answers(&rolling(&rt)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_hook_panic_names_the_plugin_and_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let good = rolling(&rt);
    let panicky = load(&rt, spec("panicky", "fixture_panic", PluginKind::Strategy, &[])).unwrap();
    let err = panicky.decide_async(&rolling_context(1_000)).await.expect_err("a panic is an error");
    assert!(
        matches!(&err.error, CallError::Panic { message, .. } if message == "fixture panicked on purpose"),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("plugin `panicky` panicked: fixture panicked on purpose (at "), "{err}");
    assert!(err.output.stderr.contains("panicked at"), "the hook's text is kept for the record");
    assert_still_answers(&good).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vec_grown_past_the_limit_is_out_of_memory() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let good = rolling(&rt);
    let oom =
        load(&rt, with_limits(spec("oom", "fixture_oom", PluginKind::Strategy, &[]), 16 << 20, Duration::from_secs(5)))
            .unwrap();
    let err = oom.decide_async(&rolling_context(1_000)).await.expect_err("the leak cannot answer");
    assert!(matches!(err.error, CallError::MemoryLimit { limit, .. } if limit == 16 << 20), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("plugin `oom` ran out of memory (limit 16 MiB)"), "{text}");
    assert!(text.contains("raise `limits.memory`"), "{text}");
    assert_still_answers(&good).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleep_returns_at_once_against_the_frozen_clock() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let sleepy = load(&rt, spec("sleepy", "fixture_sleepy", PluginKind::Strategy, &[])).unwrap();
    let started = Instant::now();
    // A 30 s sleep under a 100 ms limit.
    let called = sleepy.decide_async(&rolling_context(1_000)).await.expect("the sleep does not hold the call");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(called.value.expect("decides").status, "slept, then scaled the candidate");
    assert_still_answers(&rolling(&rt)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_recursion_is_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let deep = load(
        &rt,
        with_limits(spec("deep", "fixture_recursion", PluginKind::Strategy, &[]), 64 << 20, Duration::from_secs(5)),
    )
    .unwrap();
    let err = deep.decide_async(&rolling_context(1_000)).await.expect_err("recursion cannot answer");
    let text = err.to_string();
    assert!(text.contains("stack overflow"), "{text}");
    assert!(text.len() < 600, "one line, not a backtrace: {} bytes: {text}", text.len());
    assert_still_answers(&rolling(&rt)).await;
}

#[test]
fn a_record_shape_from_another_wit_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let err = load(&rt, spec("mismatch", "fixture_shape_mismatch", PluginKind::Strategy, &[]))
        .err()
        .expect("refused at load");
    assert!(matches!(err, LoadError::TypeMismatch { .. }), "{err:?}");
    let text = err.to_string();
    for needle in [
        "plugin `mismatch`",
        "`hoist:plugin/strategy@0.1.0` function `decide`",
        "field observed",
        "expected record of 5 fields, found 4",
        "rebuild it against this hoist's WIT",
    ] {
        assert!(text.contains(needle), "lacks {needle}: {text}");
    }
}

/// `hoist simulate`'s runtime: fuel, not wall time, so a call near its
/// limit ends the same way on every run and every machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_fuel_a_call_near_its_limit_ends_the_same_way_every_time() {
    use hoist::runtime::CacheSetting;
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::deterministic(CacheSetting::At(dir.path().to_path_buf())).unwrap();
    let limit = Duration::from_millis(100);
    let busy =
        load(&rt, with_limits(spec("busy", "fixture_busy", PluginKind::Strategy, &[]), 64 << 20, limit)).unwrap();
    for (steps, fits) in [(5_000_000u64, true), (400_000_000u64, false)] {
        let mut ctx = rolling_context(1_000);
        ctx.config = format!(r#"{{"steps":{steps}}}"#);
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            outcomes.push(match busy.decide_async(&ctx).await {
                Ok(called) => format!("{:?}", called.value),
                Err(fault) => fault.to_string(),
            });
        }
        assert!(outcomes.iter().all(|o| o == &outcomes[0]), "{outcomes:?}");
        assert_eq!(!outcomes[0].contains("fuel budget"), fits, "{steps} steps: {}", outcomes[0]);
    }
    let mut ctx = rolling_context(1_000);
    ctx.config = r#"{"steps":400000000}"#.into();
    let err = busy.decide_async(&ctx).await.expect_err("out of fuel");
    assert_eq!(err.code(), "out-of-fuel");
    assert!(err.to_string().starts_with("plugin `busy` used its whole fuel budget of 100000000"), "{err}");
}
