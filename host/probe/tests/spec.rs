//! The serde form of probe specs: defaults, kebab-case, strictness.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::time::Duration;

use hoist_probe::{ProbeKind, ProbeSpec, SpecError, StatusRange};

fn parse(text: &str) -> Result<ProbeSpec, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

#[test]
fn defaults_follow_kubernetes_with_a_one_second_interval() {
    let spec = parse(r#"kind = { http = { path = "/healthz" } }"#).unwrap();
    assert_eq!(spec, ProbeSpec::http("/healthz"));
    assert_eq!((spec.interval, spec.timeout), (Duration::from_secs(1), Duration::from_secs(1)));
    assert_eq!((spec.success_threshold.get(), spec.failure_threshold.get()), (1, 3));
    assert_eq!((spec.initial_delay, spec.healthy_deadline), (Duration::ZERO, None));
    assert_eq!(parse(r#"kind = { http = {} }"#).unwrap(), ProbeSpec::http("/"));
}

#[test]
fn every_field_in_kebab_case() {
    let spec = parse(
        r#"
        kind = { http = { path = "/ready", expect-status = "200-204" } }
        interval = "500ms"
        timeout = 250
        success-threshold = 2
        failure-threshold = 5
        initial-delay = "1.5s"
        healthy-deadline = "2m"
        "#,
    )
    .unwrap();
    assert_eq!(
        spec.kind,
        ProbeKind::Http { path: "/ready".into(), expect_status: Some(StatusRange::new(200, 204).unwrap()) }
    );
    assert_eq!((spec.interval, spec.timeout), (Duration::from_millis(500), Duration::from_millis(250)));
    assert_eq!((spec.success_threshold.get(), spec.failure_threshold.get()), (2, 5));
    assert_eq!(
        (spec.initial_delay, spec.healthy_deadline),
        (Duration::from_millis(1_500), Some(Duration::from_secs(120)))
    );
    assert_eq!(parse(r#"kind = "tcp""#).unwrap(), ProbeSpec::tcp());
    assert_eq!(
        parse(r#"kind = { exec = { command = ["pg_isready", "-q"] } }"#).unwrap(),
        ProbeSpec::exec(["pg_isready", "-q"])
    );
}

#[test]
fn json_round_trip() {
    let spec = ProbeSpec { healthy_deadline: Some(Duration::from_secs(30)), ..ProbeSpec::exec(["true"]) };
    let json = serde_json::to_string(&spec).unwrap();
    assert_eq!(
        json,
        r#"{"kind":{"exec":{"command":["true"]}},"interval":"1s","timeout":"1s","success-threshold":1,"failure-threshold":3,"initial-delay":"0s","healthy-deadline":"30s"}"#
    );
    assert_eq!(serde_json::from_str::<ProbeSpec>(&json).unwrap(), spec);
}

#[test]
fn unknown_and_bad_fields_are_rejected() {
    let cases = [
        (
            r#"kind = "tcp"
            period = "1s""#,
            "unknown field `period`",
        ),
        (r#"kind = { http = { paht = "/" } }"#, "unexpected keys in table: paht, available keys: path, expect-status"),
        (r#"kind = { grpc = {} }"#, "unknown variant `grpc`"),
        (
            r#"kind = "tcp"
            failure-threshold = 0"#,
            "nonzero",
        ),
        (
            r#"kind = "tcp"
            interval = "3 fortnights""#,
            "unknown unit `fortnights` in `3 fortnights`; use ms, s, m or h",
        ),
        (r#"kind = { http = { expect-status = "200-99" } }"#, "is not a status range"),
        (r#"kind = { http = { expect-status = 700 } }"#, "is not a status range"),
        (r#"interval = "1s""#, "missing field `kind`"),
    ];
    for (text, expected) in cases {
        let error = parse(text).unwrap_err();
        assert!(error.contains(expected), "{text}: expected `{expected}` in {error}");
    }
}

#[test]
fn validate_catches_what_serde_cannot() {
    let zero = ProbeSpec { interval: Duration::ZERO, ..ProbeSpec::tcp() };
    assert_eq!(zero.validate(), Err(SpecError::ZeroDuration { field: "interval" }));
    assert!(matches!(ProbeSpec::http("healthz").validate(), Err(SpecError::BadPath { .. })));
    assert!(matches!(ProbeSpec::http("/a b").validate(), Err(SpecError::BadPath { .. })));
    assert!(matches!(ProbeSpec::http("/x\r\nHost: evil").validate(), Err(SpecError::BadPath { .. })));
    assert_eq!(ProbeSpec::exec(Vec::<String>::new()).validate(), Err(SpecError::EmptyCommand));
    assert_eq!(ProbeSpec::http("/healthz?full=1").validate(), Ok(()));
}
