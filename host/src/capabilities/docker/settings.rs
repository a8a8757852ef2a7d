//! The `hoist.*` extensions of a container spec that say how the container
//! runs — `hoist.user`, `hoist.working-dir`, `hoist.entrypoint` (a JSON
//! list), `hoist.memory` (bytes), `hoist.cpus`, `hoist.pids`,
//! `hoist.stop-grace-ms`, `hoist.stop-signal`, `hoist.init`,
//! `hoist.cap-add`/`hoist.cap-drop` (one each), `hoist.extra-host`
//! (`HOST:IP`, one each), `hoist.memory-reservation` (bytes),
//! `hoist.read-only`, `hoist.tmpfs` (`PATH[:OPTIONS]`, one each) and
//! `hoist.healthcheck` (JSON: `test`, `interval_ms`, `timeout_ms`,
//! `retries`, `start_period_ms`, or `disable`) — applied to the engine's
//! create body.

use bollard::models::{ContainerCreateBody, HealthConfig, HostConfig};
use serde::Deserialize;

use crate::runtime::bindings::platform::hoist::plugin::docker::DockerError;

#[derive(Deserialize)]
struct Health {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    test: Vec<String>,
    #[serde(default)]
    interval_ms: u64,
    #[serde(default)]
    timeout_ms: u64,
    #[serde(default)]
    retries: u32,
    #[serde(default)]
    start_period_ms: u64,
}

fn bad(key: &str, value: &str, why: impl std::fmt::Display) -> DockerError {
    DockerError::Other(format!("container extension `{key}` = `{value}`: {why}"))
}

fn nanos(ms: u64) -> Option<i64> {
    (ms > 0).then(|| i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX))
}

/// Applies every runtime extension of `extensions` to `body`; a value that
/// cannot be read is an error naming the key.
pub fn apply(extensions: &[(String, String)], body: &mut ContainerCreateBody) -> Result<(), DockerError> {
    let host = body.host_config.get_or_insert_with(HostConfig::default);
    for (key, value) in extensions {
        let int = || value.parse::<i64>().map_err(|e| bad(key, value, e));
        let flag = || value.parse::<bool>().map_err(|e| bad(key, value, e));
        match key.as_str() {
            "hoist.user" => body.user = Some(value.clone()),
            "hoist.working-dir" => body.working_dir = Some(value.clone()),
            "hoist.entrypoint" => {
                body.entrypoint = Some(serde_json::from_str(value).map_err(|e| bad(key, value, e))?);
            }
            "hoist.memory" => host.memory = Some(int()?),
            "hoist.cpus" => {
                let cpus: f64 = value.parse().map_err(|e| bad(key, value, e))?;
                host.nano_cpus = Some((cpus * 1e9).round() as i64);
            }
            "hoist.pids" => host.pids_limit = Some(int()?),
            "hoist.stop-grace-ms" => body.stop_timeout = Some(int()?.saturating_add(999) / 1000),
            "hoist.stop-signal" => body.stop_signal = Some(value.clone()),
            "hoist.init" => host.init = Some(flag()?),
            "hoist.cap-add" => host.cap_add.get_or_insert_with(Vec::new).push(value.clone()),
            "hoist.cap-drop" => host.cap_drop.get_or_insert_with(Vec::new).push(value.clone()),
            "hoist.extra-host" => host.extra_hosts.get_or_insert_with(Vec::new).push(value.clone()),
            "hoist.memory-reservation" => host.memory_reservation = Some(int()?),
            "hoist.read-only" => host.readonly_rootfs = Some(flag()?),
            "hoist.tmpfs" => {
                let (path, options) = value.split_once(':').unwrap_or((value.as_str(), ""));
                host.tmpfs.get_or_insert_with(Default::default).insert(path.to_string(), options.to_string());
            }
            "hoist.healthcheck" => {
                let h: Health = serde_json::from_str(value).map_err(|e| bad(key, value, e))?;
                body.healthcheck = Some(if h.disable {
                    HealthConfig { test: Some(vec!["NONE".into()]), ..HealthConfig::default() }
                } else {
                    HealthConfig {
                        test: Some(std::iter::once("CMD".to_string()).chain(h.test).collect()),
                        interval: nanos(h.interval_ms),
                        timeout: nanos(h.timeout_ms),
                        retries: (h.retries > 0).then_some(i64::from(h.retries)),
                        start_period: nanos(h.start_period_ms),
                        ..HealthConfig::default()
                    }
                });
            }
            _ => {}
        }
    }
    Ok(())
}
