//! The registry shipped in `examples/registry.toml` parses and resolves.

// Test helpers outside `#[test]` functions may panic too.
#![allow(clippy::panic)]

use std::path::Path;
use std::time::Duration;

use hoist_registry::{Capability, PluginKind, Registry, Source};
use serde_json::json;

fn example() -> Registry {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/registry.toml");
    match Registry::load(&path) {
        Ok(registry) => registry,
        Err(err) => panic!("{err}"),
    }
}

#[test]
fn example_registry_parses() {
    let registry = example();
    let names: Vec<&str> = registry.plugins.keys().map(|n| n.as_str()).collect();
    assert_eq!(names, ["local-process", "rolling", "threshold"]);
    let envs: Vec<&str> = registry.environments.keys().map(|n| n.as_str()).collect();
    assert_eq!(envs, ["dev", "production", "staging"]);

    let platform = registry.plugin("local-process").unwrap();
    assert_eq!(platform.kind, PluginKind::Platform);
    assert_eq!(platform.source, Source::Builtin("local-process".into()));
    assert_eq!(platform.limits.memory_bytes, 128 * 1024 * 1024);
    assert!(platform.capabilities.contains(&Capability::Process));
}

#[test]
fn production_is_stricter() {
    let registry = example();
    let prod = registry.environment("production").unwrap();
    assert_eq!(prod.labels["tier"], "prod");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&prod.strategy.config_json()).unwrap(),
        json!({ "max-surge": 1, "max-unavailable": 0, "progress-deadline-ms": 600000, "min-ready-ms": 10000 })
    );
    let threshold = &prod.health_policies[0];
    assert_eq!(threshold.config["max-error-rate"], json!(0.01));
    assert_eq!(threshold.limits.time, Duration::from_millis(200));

    let staging = registry.environment("staging").unwrap();
    assert_eq!(staging.strategy.config["max-surge"], json!("25%"));
    assert_eq!(staging.health_policies[0].limits.time, Duration::from_millis(100));
    assert!(staging.platform.check_imports([Capability::Process, Capability::Log]).is_ok());

    let err = registry.environment("prod").unwrap_err().to_string();
    assert!(err.contains("unknown environment `prod`"), "{err}");
    assert!(err.contains("dev, production, staging"), "{err}");
}
