//! The engine in simulation: every strategy's success and failure paths,
//! byte-identical replays, properties over generated scenarios, and
//! kill-and-resume after every persisted step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use hoist::runtime::Runtime;
use hoist::simulate::scenario::{EnsureFailure, EventDecl, FailureKind, Scenario, ServiceDecl, Target, TrafficDecl};
use hoist::simulate::{Outcome, SimOptions, render_json, simulate, simulate_with};
use hoist_tests::{Rng, examples, runtime};
use serde_json::Value;

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn scenario(name: &str) -> Scenario {
    Scenario::load(&examples().join("scenarios").join(format!("{name}.toml"))).unwrap()
}

fn run(rt: &Runtime, s: &Scenario) -> Outcome {
    block(simulate(rt, s)).unwrap_or_else(|e| panic!("{}: {e:#}", s.name))
}

fn revisions(observed: &Value) -> Vec<(String, u64, u64)> {
    observed["revisions"]
        .as_object()
        .map(|m| {
            m.iter().map(|(r, v)| (r.clone(), v["instances"].as_u64().unwrap(), v["ready"].as_u64().unwrap())).collect()
        })
        .unwrap_or_default()
}

fn weight(observed: &Value, revision: &str) -> u64 {
    observed["weights"][revision].as_u64().unwrap_or(0)
}

/// Only `revision` runs, at full size and ready, with all the traffic.
fn assert_all_on(o: &Outcome, revision: &str, replicas: u64) {
    assert_eq!(
        revisions(&o.final_observed),
        vec![(revision.to_string(), replicas, replicas)],
        "{}: final state {}",
        o.scenario,
        o.final_observed
    );
    let weights = o.final_observed["weights"].as_object().unwrap();
    assert!(
        weights.is_empty() || (weights.len() == 1 && weight(&o.final_observed, revision) == 100),
        "{}: final weights {}",
        o.scenario,
        o.final_observed
    );
}

#[test]
fn every_example_scenario_ends_as_expected() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let expected = [
        ("canary-good", "completed", "r2", 10),
        ("canary-bad", "rolled-back", "r1", 10),
        ("canary-manual", "completed", "r2", 4),
        ("blue-green", "completed", "r2", 3),
        ("blue-green-abort", "aborted", "r1", 3),
        ("recreate", "completed", "r2", 2),
        ("rolling", "rolled-back", "r1", 6),
        ("missing-image", "rolled-back", "r1", 4),
        ("instance-killed", "completed", "r2", 4),
        ("canary-metrics-bad", "rolled-back", "r1", 10),
        ("canary-metrics-outage", "completed", "r2", 10),
    ];
    for (name, phase, stable, replicas) in expected {
        let o = run(&rt, &scenario(name));
        assert_eq!(o.phase, phase, "{name}: {:?}", o.reason);
        assert_eq!(o.stable.as_deref(), Some(stable), "{name}");
        assert_all_on(&o, stable, replicas);
    }
}

#[test]
fn a_failed_analysis_names_the_breached_metric() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let o = run(&rt, &scenario("canary-bad"));
    let reason = o.reason.unwrap();
    assert!(reason.contains("error rate 8.0% > 5.0%"), "{reason}");
    assert!(o.timeline.iter().any(|e| e.kind == "analysis" && e.text.contains("fail")));
}

#[test]
fn scripted_metrics_fail_a_canary_at_the_first_bad_measurement() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let o = run(&rt, &scenario("canary-metrics-bad"));
    let reason = o.reason.unwrap();
    assert!(reason.contains("metric error-rate: 1 of 1 measurements failed (failure-limit 0), last: 0.09"), "{reason}");
    assert_eq!(o.ended_at_ms, 50_000, "the measurement after 45 s, not the end of the 30 s window at 70 s");
    let measured = o.timeline.iter().filter(|e| e.kind == "measure").count();
    assert_eq!(measured, 4, "three passing in the first analysis, one failing in the second");
}

#[test]
fn a_metrics_outage_pauses_the_canary_until_an_operator_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let o = run(&rt, &scenario("canary-metrics-outage"));
    assert_eq!(o.phase, "completed", "{:?}", o.reason);
    let paused = o.timeline.iter().find(|e| e.text.starts_with("rollout paused on the inconclusive analysis")).unwrap();
    assert_eq!(paused.at_ms, 70_000, "three errors in a row from 50 s: {paused:?}");
    // Paused from 1:10 to the resume at 2:10: nothing measured, nothing decided.
    let between = |e: &&hoist::simulate::Entry| e.at_ms > 70_000 && e.at_ms < 130_000;
    assert!(o.timeline.iter().filter(between).all(|e| e.kind == "note"), "{:?}", o.timeline);
    // Measured again from the resume; the strategy is not re-asked while it runs.
    let after: Vec<_> = o.timeline.iter().filter(|e| e.at_ms >= 130_000 && e.at_ms <= 160_000).collect();
    assert_eq!(after.iter().filter(|e| e.kind == "measure").count(), 3, "{after:?}");
    assert_eq!(after.iter().filter(|e| e.kind == "decide").count(), 2, "{after:?}");
}

#[test]
fn a_scenario_scripting_a_metric_no_template_measures_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let mut s = scenario("canary-metrics-bad");
    s.metrics.insert("latency".into(), hoist::simulate::scenario::MetricAnswer::Value(0.1));
    let err = block(simulate(&rt, &s)).unwrap_err().to_string();
    assert!(
        err.contains("scripts metrics latency that no analysis template of environment `analysed` measures"),
        "{err}"
    );
}

#[test]
fn the_approval_gate_holds_production_until_approved() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let o = run(&rt, &scenario("canary-manual"));
    let first_decision = o.timeline.iter().find(|e| e.kind == "decide").unwrap();
    assert_eq!(first_decision.at_ms, 60_000, "nothing is decided before the approval at 1m");
    assert!(o.timeline.iter().any(|e| e.kind == "admit" && e.text.contains("requireapproval")), "{:?}", o.timeline);
}

#[test]
fn the_same_scenario_replays_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    for name in ["canary-bad", "blue-green", "rolling", "canary-metrics-outage"] {
        let s = scenario(name);
        let a = render_json(&run(&rt, &s)).unwrap();
        let b = render_json(&run(&rt, &s)).unwrap();
        assert_eq!(a, b, "{name} is not deterministic");
    }
}

#[test]
fn killing_the_engine_after_any_persisted_step_ends_in_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    for name in [
        "canary-bad",
        "canary-good",
        "blue-green",
        "blue-green-abort",
        "recreate",
        "rolling",
        "canary-manual",
        "missing-image",
        "instance-killed",
        "canary-metrics-bad",
        "canary-metrics-outage",
    ] {
        let s = scenario(name);
        let whole = run(&rt, &s);
        for k in 1..=whole.decisions {
            let options = SimOptions { crash_after_step: Some(k) };
            let resumed = block(simulate_with(&rt, &s, &options)).unwrap();
            assert!(resumed.timeline.iter().any(|e| e.text.contains("engine killed")), "{name}: no crash at step {k}");
            assert_eq!(resumed.phase, whole.phase, "{name}, killed after step {k}");
            assert_eq!(resumed.stable, whole.stable, "{name}, killed after step {k}");
            assert_eq!(resumed.final_observed, whole.final_observed, "{name}, killed after step {k}");
            assert_eq!(resumed.reason, whole.reason, "{name}, killed after step {k}");
        }
    }
}

/// A registry with one strategy configured as given, in a temp directory.
fn registry(dir: &Path, strategy: &str, config: &str) -> PathBuf {
    let path = dir.join("registry.toml");
    std::fs::write(
        &path,
        format!(
            r#"version = 1
[plugins.{strategy}]
kind = "strategy"
source = "builtin:{strategy}"
config = {config}

[plugins.threshold]
kind = "health-policy"
source = "builtin:threshold"
config = {{ max-error-rate = 0.05, min-requests = 10 }}

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]

[environments.test]
platform = "local-process"
strategy = "{strategy}"
health-policies = ["threshold"]
"#
        ),
    )
    .unwrap();
    path
}

fn generated(registry: PathBuf, replicas: u32, startup: u64, events: Vec<EventDecl>) -> Scenario {
    Scenario {
        name: "generated".into(),
        registry,
        environment: "test".into(),
        until: 3_600_000,
        startup,
        service: ServiceDecl {
            name: "svc".into(),
            replicas,
            stable: Some("v1".into()),
            version: "v2".into(),
            strategy: None,
            requested_by: "property".into(),
        },
        traffic: TrafficDecl {
            rps: Some(500.0),
            error_rate: Some(0.001),
            p50_ms: None,
            p95_ms: None,
            p99_ms: Some(50.0),
        },
        metrics: Default::default(),
        events,
    }
}

fn event(time: u64) -> EventDecl {
    EventDecl { time, ..EventDecl::default() }
}

/// Kubernetes' fenceposts: surge rounds up, unavailable down, never both 0.
fn fenceposts(replicas: u32, surge: &str, unavailable: &str) -> (u32, u32) {
    let resolve = |v: &str, up: bool| -> u32 {
        match v.strip_suffix('%') {
            Some(p) => {
                let x = f64::from(replicas) * p.parse::<f64>().unwrap() / 100.0;
                (if up { x.ceil() } else { x.floor() }) as u32
            }
            None => v.parse().unwrap(),
        }
    };
    let (s, u) = (resolve(surge, true), resolve(unavailable, false));
    if s == 0 && u == 0 { (0, 1) } else { (s, u) }
}

#[test]
fn rolling_never_exceeds_surge_nor_drops_below_availability() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let mut rng = Rng::new(7);
    let values = ["0", "1", "2", "25%", "50%", "100%"];
    for case in 0..40 {
        let replicas = rng.range(1, 12) as u32;
        let surge = *rng.pick(&values);
        let unavailable = *rng.pick(&values);
        let quote = |v: &str| if v.ends_with('%') { format!("\"{v}\"") } else { v.to_string() };
        let config = format!(
            "{{ max-surge = {}, max-unavailable = {}, min-ready-ms = {} }}",
            quote(surge),
            quote(unavailable),
            rng.range(0, 3) * 1000
        );
        let reg = registry(dir.path(), "rolling", &config);
        let s = generated(reg, replicas, rng.range(1, 8) * 1000, vec![]);
        let o = run(&rt, &s);
        let (max_surge, max_unavailable) = fenceposts(replicas, surge, unavailable);
        assert_eq!(o.phase, "completed", "case {case}: {config} × {replicas}: {:?}", o.reason);
        for e in o.timeline.iter().filter(|e| e.kind == "decide") {
            let revs = revisions(&e.observed);
            let total: u64 = revs.iter().map(|r| r.1).sum();
            let ready: u64 = revs.iter().map(|r| r.2).sum();
            assert!(
                total <= u64::from(replicas + max_surge),
                "case {case} {config} × {replicas}: {total} instances at {}",
                e.at_ms
            );
            assert!(
                ready >= u64::from(replicas.saturating_sub(max_unavailable)),
                "case {case} {config} × {replicas}: {ready} ready at {}",
                e.at_ms
            );
        }
        assert_all_on(&o, "r2", u64::from(replicas));
    }
}

#[test]
fn canary_weights_only_rise_and_every_failure_restores_the_stable_revision() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let mut rng = Rng::new(11);
    for case in 0..40 {
        let initial = rng.range(1, 30);
        let step = rng.range(5, 40);
        let max = rng.range(initial, 100);
        let config = format!(
            "{{ initial-weight = {initial}, step-weight = {step}, max-weight = {max}, step-duration-ms = {}, failure-threshold = {} }}",
            rng.range(10, 60) * 1000,
            rng.range(1, 2)
        );
        let reg = registry(dir.path(), "canary", &config);
        let replicas = rng.range(2, 10) as u32;
        let mut events = Vec::new();
        match rng.range(0, 2) {
            0 => {}
            1 => events.push(EventDecl {
                revision: Some(Target::Candidate),
                error_rate: Some(0.2),
                ..event(rng.range(1, 240) * 1000)
            }),
            _ => events.push(EventDecl { operator: Some("abort".into()), ..event(rng.range(1, 240) * 1000) }),
        }
        let o = run(&rt, &generated(reg, replicas, rng.range(1, 5) * 1000, events));
        let mut last = 0;
        for e in &o.timeline {
            if matches!(e.kind.as_str(), "rollback" | "end") {
                break;
            }
            if e.kind == "decide" {
                let w = weight(&e.observed, "r2");
                assert!(w >= last, "case {case} {config}: candidate weight fell {last} → {w} at {}", e.at_ms);
                last = w;
            }
        }
        match o.phase.as_str() {
            "completed" => assert_all_on(&o, "r2", u64::from(replicas)),
            "rolled-back" | "aborted" => assert_all_on(&o, "r1", u64::from(replicas)),
            other => panic!("case {case} {config}: ended {other}: {:?}", o.reason),
        }
    }
}

/// `missing-image` with the platform failing as `kind` from t=0, and
/// working again at `recovers` (ms) if given.
fn platform_failing(kind: FailureKind, recovers: Option<u64>) -> Scenario {
    let mut s = scenario("missing-image");
    let message = "engine answered HTTP 500".to_string();
    s.events = vec![EventDecl {
        revision: Some(Target::Candidate),
        ensure_fails: Some(EnsureFailure { kind, message }),
        ..event(0)
    }];
    if let Some(at) = recovers {
        s.events.push(EventDecl { revision: Some(Target::Candidate), ensure_recovers: true, ..event(at) });
    }
    s
}

#[test]
fn a_permanent_platform_error_rolls_back_at_once_with_the_platforms_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let o = run(&rt, &scenario("missing-image"));
    assert_eq!(o.phase, "rolled-back", "{:?}", o.reason);
    assert!(o.ended_at_ms <= 2_000, "rolled back at {} ms, not at once", o.ended_at_ms);
    let reason = o.reason.clone().unwrap();
    assert!(
        reason
            .contains("cannot run r2: image `checkout:v42` is not present on the engine and no registry is configured"),
        "{reason}"
    );
    assert!(o.timeline.iter().any(|e| e.kind == "rollback" && e.text.contains("checkout:v42")), "{:?}", o.timeline);
    assert!(o.timeline.iter().any(|e| e.kind == "error" && e.text.contains("checkout:v42")), "{:?}", o.timeline);
    assert_all_on(&o, "r1", 4);
}

#[test]
fn a_first_deployment_the_platform_cannot_run_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let mut s = scenario("missing-image");
    s.service.stable = None;
    let o = run(&rt, &s);
    assert_eq!(o.phase, "failed", "{:?}", o.reason);
    assert!(o.ended_at_ms <= 2_000, "failed at {} ms, not at once", o.ended_at_ms);
    assert!(o.reason.unwrap().contains("checkout:v42"));
    assert_eq!(revisions(&o.final_observed), vec![], "{}", o.final_observed);
}

#[test]
fn a_platform_that_keeps_failing_is_given_up_after_five_failures_over_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let o = run(&rt, &platform_failing(FailureKind::Failed, None));
    assert_eq!(o.phase, "rolled-back", "{:?}", o.reason);
    assert!((60_000..65_000).contains(&o.ended_at_ms), "rolled back at {} ms", o.ended_at_ms);
    let reason = o.reason.clone().unwrap();
    assert!(reason.contains("times in a row over 60 s for r2; last: engine answered HTTP 500"), "{reason}");
    assert_all_on(&o, "r1", 4);
}

#[test]
fn a_short_streak_of_platform_failures_does_not_end_the_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let o = run(&rt, &platform_failing(FailureKind::Failed, Some(30_000)));
    assert_eq!(o.phase, "completed", "{:?}", o.reason);
    assert_all_on(&o, "r2", 4);
}

#[test]
fn an_unreachable_platform_is_retried_past_the_failure_streak_and_the_rollout_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let o = run(&rt, &platform_failing(FailureKind::Unreachable, Some(180_000)));
    assert_eq!(o.phase, "completed", "{:?}", o.reason);
    assert!(o.ended_at_ms > 180_000);
    assert!(
        o.timeline.iter().any(|e| e.kind == "error" && e.at_ms >= 150_000 && e.text.contains("HTTP 500")),
        "retried throughout"
    );
    assert_all_on(&o, "r2", 4);
}

#[test]
fn a_killed_instance_is_recorded_and_replaced_by_the_platform() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let o = run(&rt, &scenario("instance-killed"));
    assert_eq!(o.phase, "completed", "{:?}", o.reason);
    let event = o.timeline.iter().find(|e| e.kind == "instance").expect("the killed instance is recorded");
    assert!(event.text.contains("of r2 has exited (killed by SIGKILL); the platform replaces it"), "{}", event.text);
    assert!(event.at_ms <= 25_000, "killed at 20 s, seen at {} ms: the engine watches mid-step", event.at_ms);
    assert_all_on(&o, "r2", 4);
}
