//! `builtin:docker` — runs each instance as a container on the local Docker
//! engine through the `docker` capability (grant it with
//! `capabilities = ["docker"]`).
//!
//! Config (JSON object, kebab-case): `stop-timeout-secs` (default 10) and
//! `network` (optional; created when missing). Without one, the services of
//! a stack share the stack's own network, `hoist-<stack>-<env>`, and the
//! named networks its file declares (`hoist-<stack>-<env>-<name>`, internal
//! when declared so); on each, every container answers to its service's
//! name and aliases (DNS), so `db:5432` reaches the `db` service across its
//! revisions. A stack's networks are removed with its last container.
//!
//! A revision is a set of containers named
//! `hoist-<service>-<env>-<rev>-<idx>` and labelled `hoist.service`,
//! `hoist.environment`, `hoist.revision` and `hoist.index`. The service port
//! is published on 127.0.0.1 on an engine-assigned port; the instance
//! address is `127.0.0.1:<host port>`. Containers are found again by label,
//! so a restarted control plane adopts them instead of duplicating them.

mod config;
mod ensure;
mod labels;
mod networks;
mod runtime;

pub use config::Config;
pub use labels::container_name;

use hoist_sdk::docker;
use hoist_sdk::platform::{Platform, PlatformError, RevisionSpec};
use hoist_sdk::types::Instance;

/// The docker platform.
pub struct DockerPlatform;

impl Platform for DockerPlatform {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn ensure(spec: RevisionSpec, replicas: u32) -> Result<Vec<Instance>, PlatformError> {
        ensure::ensure(&spec, replicas)
    }

    fn instances(service: String, environment: String, config: String) -> Result<Vec<Instance>, PlatformError> {
        Config::parse(&config)?;
        let found = docker::list_containers(&labels::selector(&service, &environment, None))
            .map_err(|e| ensure::capability("listing containers", &e))?;
        // The instance address is the first published port: the service port.
        Ok(found.iter().map(|c| with_output(labels::to_instance(c, None), c)).collect())
    }

    fn remove(service: String, environment: String, revision: String, config: String) -> Result<(), PlatformError> {
        let config = Config::parse(&config)?;
        let found = docker::list_containers(&labels::selector(&service, &environment, Some(&revision)))
            .map_err(|e| ensure::capability("listing containers", &e))?;
        ensure::remove_all(&found, config.stop_timeout_secs)?;
        networks::release(found.iter().map(|c| c.labels.as_slice()));
        Ok(())
    }
}

/// The most output an exited instance reports (its last lines).
const OUTPUT_LINES: u32 = 50;
const OUTPUT_BYTES: usize = 4000;

/// An exited instance carries its last lines of output as extension
/// `output` (what a one-shot job printed, or why a service died).
fn with_output(mut instance: Instance, container: &docker::ContainerInfo) -> Instance {
    if matches!(instance.state, hoist_sdk::types::InstanceState::Exited(_))
        && let Ok(text) = docker::container_logs(&container.id, OUTPUT_LINES)
    {
        let start = text.len().saturating_sub(OUTPUT_BYTES);
        let start = (start..text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
        instance.extensions.push(("output".to_owned(), text[start..].to_owned()));
    }
    instance
}

hoist_sdk::export_platform!(DockerPlatform);
