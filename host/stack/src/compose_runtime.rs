//! The Compose keys that say how a service's instances run, read into its
//! [`Runtime`]: `user`, `working_dir`, `entrypoint`, `mem_limit`, `cpus`,
//! `pids_limit`, `stop_grace_period`, `labels` and `deploy.resources.limits`.

use serde_yaml::Value;

use crate::runtime::{InstanceHealth, Runtime, bytes, shell_words};

/// Reads `key` into `rt`: `Ok(false)` when it is not a runtime key, an
/// error (for the key's line) when its value cannot be read.
pub fn key(rt: &mut Runtime, key: &str, value: &Value) -> Result<bool, String> {
    match key {
        "user" => rt.user = Some(text(value, key)?),
        "working_dir" => rt.working_dir = Some(text(value, key)?),
        "entrypoint" => rt.entrypoint = Some(words(value)?),
        "mem_limit" => rt.memory = Some(size(value, key)?),
        "cpus" => rt.cpus = Some(number(value, key)?),
        "pids_limit" => rt.pids = Some(number(value, key)? as i64),
        "stop_grace_period" => {
            let s = text(value, key)?;
            rt.stop_grace_ms =
                Some(crate::compose::duration_ms(&s).ok_or_else(|| format!("`{key}: {s}` is not a duration (10s)"))?);
        }
        "labels" => rt.labels.extend(crate::compose::env_pairs(value)),
        _ => return Ok(false),
    }
    Ok(true)
}

/// `deploy:`: `resources.limits` (cpus, memory, pids) are honoured; the
/// names of the keys that are not are returned (`deploy.replicas`, …).
pub fn deploy(rt: &mut Runtime, value: &Value) -> Result<Vec<String>, String> {
    let mut ignored = Vec::new();
    for (k, v) in value.as_mapping().into_iter().flatten() {
        let k = k.as_str().unwrap_or_default();
        if k != "resources" {
            ignored.push(format!("deploy.{k}"));
            continue;
        }
        for (rk, rv) in v.as_mapping().into_iter().flatten() {
            let rk = rk.as_str().unwrap_or_default();
            if rk != "limits" {
                ignored.push(format!("deploy.resources.{rk}"));
                continue;
            }
            for (lk, lv) in rv.as_mapping().into_iter().flatten() {
                match lk.as_str().unwrap_or_default() {
                    "cpus" => rt.cpus = Some(number(lv, "deploy.resources.limits.cpus")?),
                    "memory" => rt.memory = Some(size(lv, "deploy.resources.limits.memory")?),
                    "pids" => rt.pids = Some(number(lv, "deploy.resources.limits.pids")? as i64),
                    other => ignored.push(format!("deploy.resources.limits.{other}")),
                }
            }
        }
    }
    Ok(ignored)
}

/// The instance's own health check from a Compose `healthcheck`.
pub fn health(h: Option<&crate::compose::Healthcheck>, disabled: bool) -> Option<InstanceHealth> {
    if disabled {
        return Some(InstanceHealth { disable: true, ..InstanceHealth::default() });
    }
    let h = h?;
    Some(InstanceHealth {
        disable: false,
        test: h.test.clone(),
        interval_ms: h.interval_ms,
        timeout_ms: h.timeout_ms,
        retries: h.retries,
        start_period_ms: h.start_period_ms,
    })
}

/// A command or entrypoint: a list as is, a string split by shell rules.
pub fn words(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => shell_words(s),
        Value::Sequence(items) => Ok(items.iter().filter_map(crate::compose::scalar).collect()),
        Value::Null => Ok(Vec::new()),
        other => Err(format!("{other:?} is not a string or a list")),
    }
}

fn text(v: &Value, key: &str) -> Result<String, String> {
    crate::compose::scalar(v).ok_or_else(|| format!("`{key}` must be a string"))
}

fn number(v: &Value, key: &str) -> Result<f64, String> {
    let s = text(v, key)?;
    s.trim().parse().map_err(|_| format!("`{key}: {s}` is not a number"))
}

fn size(v: &Value, key: &str) -> Result<u64, String> {
    let s = text(v, key)?;
    bytes(&s).ok_or_else(|| format!("`{key}: {s}` is not a size (512m, 1g)"))
}
