//! Happy paths and resolution through the public API.

// Test helpers outside `#[test]` functions may panic too.
#![allow(clippy::panic)]

use std::path::Path;
use std::time::Duration;

use hoist_registry::{Capability, Digest, PluginKind, Registry, RegistryError, Source};
use serde_json::json;

const EMPTY_SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn parse(text: &str) -> Registry {
    match Registry::parse(text, Path::new("conf/registry.toml")) {
        Ok(registry) => registry,
        Err(err) => panic!("{err}"),
    }
}

fn complete() -> String {
    format!(
        r#"
version = 1

[plugins.canary]
kind = "strategy"
source = "plugins/canary.wasm"
sha256 = "{EMPTY_SHA}"
limits = {{ memory = "32MiB", time = "250ms" }}
config = {{ steps = [5, 25, 50], pause = {{ after-step = true }}, since = 2024-01-02T03:04:05Z }}

[plugins.slo]
kind = "health-policy"
source = "builtin:slo"

[plugins.freeze]
kind = "admission-policy"
source = "builtin:change-freeze"
config = {{ windows = [] }}

[plugins.nomad]
kind = "platform"
source = "builtin:nomad"
capabilities = ["log", "http", "process"]
allow-hosts = ["nomad.staging.internal:4646"]

[environments.staging]
platform = "nomad"
strategy = "canary"
health-policies = ["slo"]
admission-policies = ["freeze"]

[environments.prod]
platform = "nomad"
strategy = "canary"
health-policies = ["slo"]
admission-policies = ["freeze"]
labels = {{ tier = "prod" }}
[environments.prod.plugins.nomad]
capabilities = ["http"]
allow-hosts = ["nomad.prod.internal:4646"]
limits = {{ time = "30s" }}
[environments.prod.plugins.canary.config]
pause = {{ before-promote = true }}
"#
    )
}

#[test]
fn complete_registry() {
    let registry = parse(&complete());
    let canary = registry.plugin("canary").unwrap();
    assert_eq!(canary.kind, PluginKind::Strategy);
    assert_eq!(canary.source, Source::Path(Path::new("conf/plugins/canary.wasm").into()));
    assert_eq!(canary.sha256, Some(EMPTY_SHA.parse::<Digest>().unwrap()));
    assert_eq!(canary.sha256_location.as_ref().unwrap().line, 7);
    assert_eq!(canary.location.to_string(), "conf/registry.toml:4:10");
    assert_eq!(canary.limits.memory_bytes, 32 * 1024 * 1024);
    assert_eq!(canary.limits.time, Duration::from_millis(250));
    assert_eq!(canary.config["since"], json!("2024-01-02T03:04:05Z"));

    let nomad = registry.plugin("nomad").unwrap();
    assert_eq!(nomad.limits.time, Duration::from_secs(10));
    assert_eq!(
        nomad.capabilities.iter().copied().collect::<Vec<_>>(),
        [Capability::Log, Capability::Clock, Capability::Process, Capability::Http]
    );
}

#[test]
fn environment_overrides_apply() {
    let registry = parse(&complete());
    let prod = registry.environment("prod").unwrap();
    assert_eq!(prod.platform.allow_hosts, ["nomad.prod.internal:4646"]);
    assert_eq!(prod.platform.limits.time, Duration::from_secs(30));
    assert!(prod.platform.grants(Capability::Http));
    assert!(!prod.platform.grants(Capability::Process));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&prod.strategy.config_json()).unwrap(),
        json!({
            "steps": [5, 25, 50],
            "pause": { "after-step": true, "before-promote": true },
            "since": "2024-01-02T03:04:05Z",
        })
    );
    assert_eq!(prod.admission_policies[0].name.as_str(), "freeze");

    let staging = registry.environment("staging").unwrap();
    assert!(staging.platform.grants(Capability::Process));
    assert_eq!(staging.platform.allow_hosts, ["nomad.staging.internal:4646"]);

    let other = registry.resolve_plugin("prod", "slo").unwrap();
    assert_eq!(other.kind, PluginKind::HealthPolicy);
    assert!(registry.resolve_plugin("prod", "nope").is_none());
}

#[test]
fn ungranted_imports_say_where_to_grant() {
    let registry = parse(&complete());
    let prod = registry.environment("prod").unwrap();
    let err = prod.platform.check_imports([Capability::Log, Capability::Process]).unwrap_err();
    assert_eq!(err.capability, Capability::Process);
    assert_eq!(
        err.to_string(),
        "plugin `nomad` imports capability `process`, which environment `prod` does not grant it; \
         add \"process\" to `capabilities` in [environments.prod.plugins.nomad] (and in [plugins.nomad] \
         if it is not there; an environment can only narrow a plugin's grant) in conf/registry.toml"
    );

    let staging = registry.environment("staging").unwrap();
    let err = staging.platform.check_imports([Capability::Docker]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `nomad` imports capability `docker`, which environment `staging` does not grant it; \
         add \"docker\" to `capabilities` in [plugins.nomad] in conf/registry.toml"
    );

    let err = staging.strategy.check_imports([Capability::Http]).unwrap_err();
    assert!(err.to_string().contains("a strategy plugin may import only log and clock"));
}

#[test]
fn minimal_registry_is_empty() {
    let registry = parse("version = 1\n");
    assert!(registry.plugins.is_empty() && registry.environments.is_empty());
}

#[test]
fn io_errors_name_the_file() {
    let err = Registry::load(Path::new("does/not/exist.toml")).unwrap_err();
    assert!(matches!(err, RegistryError::Io { .. }));
    assert!(err.to_string().starts_with("cannot read registry does/not/exist.toml: "));
    assert!(err.diagnostics().is_empty());
}

#[test]
fn all_diagnostics_are_collected_in_file_order() {
    let text = "version = 1\n[plugins.b]\nkind = \"x\"\nsource = \"builtin:b\"\n[plugins.a]\nkind = \"y\"\nsource = \"builtin:a\"\n";
    let err = Registry::parse(text, Path::new("r.toml")).unwrap_err();
    let lines: Vec<usize> = err.diagnostics().iter().map(|d| d.location.line).collect();
    assert_eq!(lines, [3, 6]);
    assert_eq!(
        err.diagnostics()[0].to_string(),
        "r.toml:3:8: unknown plugin kind \"x\"; expected one of: strategy, health-policy, admission-policy, platform, metrics-provider"
    );
}

#[test]
fn a_metrics_provider_gets_http_with_credentials_and_nothing_else() {
    let text = r#"version = 1
[plugins.prometheus]
kind = "metrics-provider"
source = "builtin:prometheus"
capabilities = ["http"]
allow-hosts = ["prometheus.internal:9090"]
credentials = [{ host = "prometheus.internal:9090", scheme = "Bearer", file = "secrets/prom" }]
config = { address = "http://prometheus.internal:9090" }
"#;
    let registry = Registry::parse(text, Path::new("dir/r.toml")).unwrap();
    let decl = registry.plugins.values().next().unwrap();
    assert_eq!(decl.kind, hoist_registry::PluginKind::MetricsProvider);
    assert_eq!(
        decl.credentials,
        [hoist_registry::Credential {
            host: "prometheus.internal:9090".into(),
            header: "authorization".into(),
            scheme: Some("Bearer".into()),
            secret: hoist_registry::SecretSource::File("dir/secrets/prom".into()),
        }]
    );
    let process = text.replace(r#"capabilities = ["http"]"#, r#"capabilities = ["http", "process"]"#);
    let err = Registry::parse(&process, Path::new("r.toml")).unwrap_err().to_string();
    assert!(err.contains("r.toml:5:25: capability `process` cannot be granted to a metrics-provider plugin"), "{err}");
    assert!(err.contains("imports only log, clock and http"), "{err}");
}

#[test]
fn analysis_templates_are_read_with_their_defaults_and_resolved_with_their_provider() {
    let registry = parse(
        r#"
version = 1
[plugins.canary]
kind = "strategy"
source = "builtin:canary"
[plugins.local]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
[plugins.prometheus]
kind = "metrics-provider"
source = "builtin:prometheus"
capabilities = ["http"]
allow-hosts = ["prom.internal:9090"]
config = { address = "http://prom.internal:9090" }

[environments.prod]
platform = "local"
strategy = "canary"

[environments.prod.plugins.prometheus]
config = { timeout-ms = 2000 }

[environments.prod.analysis.error-rate]
provider = "prometheus"
query = 'sum(rate(hoist_responses_5xx_total{service="{{service}}",revision="{{revision}}",job="{{job}}"}[{{interval}}]))'
success = { max = 0.05 }
failure = { min = 0.2 }
interval = "10s"
count = 3
initial-delay = "5s"
failure-limit = 1
inconclusive-limit = 1
consecutive-error-limit = 2
no-data = "fail"
dry-run = true
variables = { job = "api" }

[environments.prod.analysis.up]
provider = "prometheus"
query = "up"
success = { min = 1 }
"#,
    );
    let prod = registry.environment("prod").unwrap();
    assert_eq!(prod.analysis.len(), 2);
    let (rate, up) = (&prod.analysis[0], &prod.analysis[1]);
    let t = &rate.template;
    assert_eq!(t.name, "error-rate");
    assert_eq!(t.location.to_string(), "conf/registry.toml:24:29");
    assert_eq!(t.success, Some(hoist_registry::Range { min: None, max: Some(0.05) }));
    assert_eq!(t.failure, Some(hoist_registry::Range { min: Some(0.2), max: None }));
    assert_eq!((t.interval, t.count, t.initial_delay), (Duration::from_secs(10), Some(3), Duration::from_secs(5)));
    assert_eq!((t.failure_limit, t.inconclusive_limit, t.consecutive_error_limit), (1, 1, 2));
    assert_eq!((t.no_data, t.dry_run), (hoist_registry::NoData::Fail, true));
    assert_eq!(t.variables["job"], "api");
    // The provider as this environment runs it: its override merged.
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rate.provider.config_json()).unwrap(),
        json!({ "address": "http://prom.internal:9090", "timeout-ms": 2000 })
    );
    // Argo's defaults (interval as Flagger's); `count` from the analysis.
    let d = &up.template;
    assert_eq!((d.interval, d.count, d.initial_delay), (Duration::from_secs(60), None, Duration::ZERO));
    assert_eq!((d.failure_limit, d.inconclusive_limit, d.consecutive_error_limit), (0, 0, 4));
    assert_eq!((d.no_data, d.dry_run), (hoist_registry::NoData::Pause, false));
}

#[test]
fn notification_subscriptions_are_read_with_their_defaults() {
    use hoist_registry::{NotifyEvent, NotifyFormat, SecretSource, WebhookUrl};
    let registry = parse(
        r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]

[environments.prod]
platform = "local-process"
strategy = "rolling"

[environments.prod.notify.ops]
url = "http://127.0.0.1:9000/hook"

[environments.prod.notify.slack]
url-from = { env = "SLACK_URL" }
events = ["completed", "rolled-back", "step"]
format = "slack"
"#,
    );
    let subs = &registry.environments["prod"].notify;
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].name, "ops");
    assert_eq!(subs[0].url, WebhookUrl::Inline("http://127.0.0.1:9000/hook".into()));
    assert_eq!(subs[0].events, NotifyEvent::defaults());
    assert_eq!(subs[0].format, NotifyFormat::Json);
    assert_eq!(subs[1].url, WebhookUrl::Secret(SecretSource::Env("SLACK_URL".into())));
    assert_eq!(subs[1].events, [NotifyEvent::Step, NotifyEvent::RolledBack, NotifyEvent::Completed].into());
    assert_eq!(subs[1].format, NotifyFormat::Slack);
    assert_eq!(subs[1].location.line, 18);
}
