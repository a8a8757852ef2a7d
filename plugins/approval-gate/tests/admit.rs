//! The approval-gate policy against built requests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use approval_gate::ApprovalGate;
use hoist_sdk::prelude::*;
use hoist_sdk::testing::DeployRequestBuilder;

fn admit(request: DeployRequestBuilder) -> Result<AdmissionVerdict, PluginError> {
    ApprovalGate::admit(request.build())
}

#[test]
fn always_applies_by_default() {
    assert_eq!(
        admit(DeployRequestBuilder::new()).unwrap(),
        AdmissionVerdict::RequireApproval("manual approval required".into())
    );
}

#[test]
fn when_labels_select_requests() {
    let config = r#"{"when-labels": {"env": "prod"}, "reason": "prod needs a second pair of eyes"}"#;
    assert_eq!(
        admit(DeployRequestBuilder::new().config(config).label("env", "prod")).unwrap(),
        AdmissionVerdict::RequireApproval("prod needs a second pair of eyes".into())
    );
    assert_eq!(
        admit(DeployRequestBuilder::new().config(config).label("env", "staging")).unwrap(),
        AdmissionVerdict::Allow
    );
    assert_eq!(admit(DeployRequestBuilder::new().config(config)).unwrap(), AdmissionVerdict::Allow);
}

#[test]
fn bad_config_names_the_key() {
    for (json, key) in [(r#"{"when": {}}"#, "when"), (r#"{"reason": 3}"#, "reason")] {
        let Err(PluginError::InvalidConfig(msg)) = admit(DeployRequestBuilder::new().config(json)) else {
            panic!("{json}: expected invalid-config");
        };
        assert!(msg.contains(key), "{json}: {msg}");
    }
}
