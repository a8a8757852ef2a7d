//! The admission-rule policy against built requests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use admission_rule::AdmissionRule;
use hoist_sdk::prelude::*;
use hoist_sdk::testing::DeployRequestBuilder;

fn admit(request: DeployRequestBuilder) -> AdmissionVerdict {
    AdmissionRule::admit(request.build()).unwrap()
}

fn deny_reason(request: DeployRequestBuilder) -> String {
    match admit(request) {
        AdmissionVerdict::Deny(reason) => reason,
        other => panic!("expected deny, got {other:?}"),
    }
}

const FREEZE: &str = r#"{"freeze-windows": [{"from-ms": 1000, "to-ms": 2000, "reason": "black friday"}]}"#;

#[test]
fn empty_config_allows() {
    assert_eq!(admit(DeployRequestBuilder::new()), AdmissionVerdict::Allow);
}

#[test]
fn freeze_window_denies_inside_only() {
    let r = deny_reason(DeployRequestBuilder::new().config(FREEZE).now_ms(1000));
    assert!(r.starts_with("change freeze (black friday)"), "{r}");
    assert!(deny_reason(DeployRequestBuilder::new().config(FREEZE).now_ms(1999)).contains("freeze"));
    for now in [999, 2000, 5000] {
        assert_eq!(admit(DeployRequestBuilder::new().config(FREEZE).now_ms(now)), AdmissionVerdict::Allow, "{now}");
    }
}

#[test]
fn requester_lists() {
    let config = r#"{"deny-requesters": ["mallory"], "allow-requesters": ["ci", "alice"]}"#;
    let r = deny_reason(DeployRequestBuilder::new().config(config).requested_by("mallory"));
    assert_eq!(r, "requester `mallory` is listed in deny-requesters");
    let r = deny_reason(DeployRequestBuilder::new().config(config).requested_by("bob"));
    assert_eq!(r, "requester `bob` is not listed in allow-requesters");
    assert_eq!(admit(DeployRequestBuilder::new().config(config).requested_by("alice")), AdmissionVerdict::Allow);
}

#[test]
fn deny_labels_must_all_match() {
    let config = r#"{"deny-labels": {"tier": "db", "env": "prod"}, "reason": "see go/deploys"}"#;
    let both = DeployRequestBuilder::new().config(config).label("env", "prod").label("tier", "db").label("team", "x");
    assert_eq!(deny_reason(both), "see go/deploys: labels env=prod, tier=db match deny-labels");
    let one = DeployRequestBuilder::new().config(config).label("env", "prod");
    assert_eq!(admit(one), AdmissionVerdict::Allow);
    let empty = DeployRequestBuilder::new().config(r#"{"deny-labels": {}}"#);
    assert_eq!(admit(empty), AdmissionVerdict::Allow);
}

#[test]
fn the_first_matching_rule_is_named() {
    let config = r#"{"deny-requesters": ["ci"], "freeze-windows": [{"from-ms": 0, "to-ms": 10}]}"#;
    let r = deny_reason(DeployRequestBuilder::new().config(config).now_ms(5));
    assert!(r.starts_with("change freeze: "), "{r}");
    let r = deny_reason(DeployRequestBuilder::new().config(config).now_ms(50));
    assert!(r.contains("deny-requesters"), "{r}");
}

#[test]
fn bad_config_names_the_key() {
    for (json, key) in [
        (r#"{"deny-requester": []}"#, "deny-requester"),
        (r#"{"freeze-windows": [{"from-ms": 5, "to-ms": 5}]}"#, "freeze-windows[0]"),
        (r#"{"freeze-windows": [{"from-ms": 5}]}"#, "to-ms"),
        (r#"{"deny-labels": ["a"]}"#, "deny-labels"),
    ] {
        let Err(PluginError::InvalidConfig(msg)) =
            AdmissionRule::admit(DeployRequestBuilder::new().config(json).build())
        else {
            panic!("{json}: expected invalid-config");
        };
        assert!(msg.contains(key), "{json}: {msg}");
    }
}
