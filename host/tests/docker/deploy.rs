//! What the Docker end-to-end tests share beyond the harness
//! (`host/tests/support/`): a service name per test, a registry on
//! `builtin:docker`, and `hoist deploy` of the demo image.

use crate::support::images::IMAGE;
use crate::support::plane::Plane;

/// A service name no other test (nor a parallel run) uses.
pub fn service(tag: &str) -> String {
    format!("dk{tag}{}", std::process::id())
}

/// A registry whose `test` environment runs `strategy` (configured with
/// `config`) on `builtin:docker`, with the threshold policy if `analysed`.
pub fn registry(strategy: &str, config: &str, analysed: bool) -> String {
    format!(
        r#"version = 1
[plugins.{strategy}]
kind = "strategy"
source = "builtin:{strategy}"
config = {config}

[plugins.threshold]
kind = "health-policy"
source = "builtin:threshold"
config = {{ max-error-rate = 0.05, min-requests = 20 }}

[plugins.docker]
kind = "platform"
source = "builtin:docker"
capabilities = ["docker"]
config = {{ stop-timeout-secs = 2 }}

[environments.test]
platform = "docker"
strategy = "{strategy}"
health-policies = [{}]
"#,
        if analysed { "\"threshold\"" } else { "" }
    )
}

/// `hoist deploy SERVICE --env test` of the demo image behind `router`,
/// answering `{"version":VERSION}`.
pub fn deploy(
    plane: &Plane,
    service: &str,
    version: &str,
    replicas: u32,
    router: u16,
    wait: bool,
    extra: &[&str],
) -> (bool, String) {
    let (replicas, router, version_env) =
        (replicas.to_string(), format!("127.0.0.1:{router}"), format!("DEMO_VERSION={version}"));
    let mut args = vec![
        "deploy",
        service,
        "--env",
        "test",
        "--version",
        version,
        "--replicas",
        &replicas,
        "--image",
        IMAGE,
        "--port",
        "8080",
        "--probe-path",
        "/healthz",
        "--router",
        &router,
        "--set-env",
        &version_env,
    ];
    if wait {
        args.push("--wait");
    }
    args.extend(extra);
    plane.hoist(&args)
}

/// Deploys without waiting; returns the rollout id.
pub fn start_rollout(plane: &Plane, service: &str, version: &str, replicas: u32, router: u16) -> String {
    let (ok, out) = deploy(plane, service, version, replicas, router, false, &[]);
    assert!(ok, "{out}");
    out.split_whitespace().nth(1).unwrap().to_owned()
}
