//! The threshold policy against built inputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use hoist_sdk::prelude::*;
use hoist_sdk::testing::{AnalysisInputBuilder, MetricsBuilder};
use threshold::Threshold;

fn eval(config: &str, metrics: MetricsBuilder, state: Option<Vec<u8>>) -> Evaluation {
    Threshold::evaluate(AnalysisInputBuilder::new(metrics.build()).config(config).state(state).build()).unwrap()
}

fn healthy() -> MetricsBuilder {
    MetricsBuilder::new("r2").requests(200, 1, 0).latency(10.0, 80.0, 150.0).instances(3, 3)
}

const ALL: &str = r#"{"max-error-rate": 0.05, "max-p95-ms": 200, "max-p99-ms": 400, "min-availability": 0.66}"#;

#[test]
fn passes_within_thresholds() {
    let e = eval(ALL, healthy(), None);
    assert_eq!(e.verdict, Verdict::Pass);
    assert!(e.details.contains("requests=200"), "{}", e.details);
    assert!(e.details.contains("p95=80ms"), "{}", e.details);
}

#[test]
fn error_rate_counts_connection_errors() {
    let m = MetricsBuilder::new("r2").requests(100, 5, 3);
    let e = eval(r#"{"max-error-rate": 0.05}"#, m, None);
    assert_eq!(e.verdict, Verdict::Fail("error rate 8.0% > 5.0%".into()));
    assert!(e.details.contains("error-rate=8.0%"), "{}", e.details);
}

#[test]
fn latency_and_availability_breaches_are_named() {
    let slow = healthy().latency(10.0, 250.0, 300.0);
    assert_eq!(eval(ALL, slow, None).verdict, Verdict::Fail("p95 latency 250ms > 200ms".into()));
    let tail = healthy().latency(10.0, 100.0, 900.0);
    assert_eq!(eval(ALL, tail, None).verdict, Verdict::Fail("p99 latency 900ms > 400ms".into()));
    let down = healthy().instances(1, 3);
    assert_eq!(eval(ALL, down, None).verdict, Verdict::Fail("availability 33.3% < 66.0% (1/3 ready)".into()));
}

#[test]
fn too_few_requests_follows_no_data() {
    let quiet = || MetricsBuilder::new("r2").requests(5, 5, 0);
    assert!(
        matches!(eval(ALL, quiet(), None).verdict, Verdict::Inconclusive(r) if r.contains("5 requests < min-requests 20"))
    );
    let fail = r#"{"max-error-rate": 0.05, "no-data": "fail"}"#;
    assert!(matches!(eval(fail, quiet(), None).verdict, Verdict::Fail(_)));
    let pass = r#"{"max-error-rate": 0.05, "no-data": "pass", "min-requests": 10}"#;
    assert_eq!(eval(pass, quiet(), None).verdict, Verdict::Pass);
}

#[test]
fn consecutive_failures_are_counted_in_state_and_reset_by_a_pass() {
    let config = r#"{"max-error-rate": 0.05, "consecutive-failures": 3}"#;
    let bad = || MetricsBuilder::new("r2").requests(100, 8, 0);
    let first = eval(config, bad(), None);
    assert_eq!(first.verdict, Verdict::Inconclusive("error rate 8.0% > 5.0% (1/3 consecutive failures)".into()));
    let second = eval(config, bad(), Some(first.state));
    assert!(matches!(second.verdict, Verdict::Inconclusive(_)));
    let third = eval(config, bad(), Some(second.state.clone()));
    assert_eq!(third.verdict, Verdict::Fail("error rate 8.0% > 5.0% (3 consecutive)".into()));
    // A pass resets the count.
    let pass = eval(config, healthy(), Some(second.state));
    assert_eq!(pass.verdict, Verdict::Pass);
    let again = eval(config, bad(), Some(pass.state));
    assert!(matches!(again.verdict, Verdict::Inconclusive(r) if r.contains("1/3")));
}

#[test]
fn bad_config_and_state_are_refused() {
    for config in [
        r#"{"max-error-rate": 5}"#,
        r#"{"consecutive-failures": 0}"#,
        r#"{"max-p95-ms": -1}"#,
        r#"{"no-data": "maybe"}"#,
        r#"{"max-error": 0.1}"#,
    ] {
        let input = AnalysisInputBuilder::new(healthy().build()).config(config).build();
        assert!(matches!(Threshold::evaluate(input), Err(PluginError::InvalidConfig(_))), "{config}");
    }
    let input = AnalysisInputBuilder::new(healthy().build()).state(Some(b"junk".to_vec())).build();
    assert!(matches!(Threshold::evaluate(input), Err(PluginError::InvalidState(_))));
}

#[test]
fn unmeasured_latency_is_no_data() {
    let m = MetricsBuilder::new("r2").requests(100, 0, 0);
    assert!(matches!(eval(r#"{"max-p95-ms": 100}"#, m, None).verdict, Verdict::Inconclusive(r) if r.contains("p95")));
}
