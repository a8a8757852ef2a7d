//! The Compose keys that say how a service's instances run, read into its
//! [`Runtime`]: `user`, `working_dir`, `entrypoint`, `mem_limit`,
//! `mem_reservation`, `cpus`, `pids_limit`, `stop_signal`,
//! `stop_grace_period`, `labels`, `init`, `cap_add`, `cap_drop`,
//! `extra_hosts`, `read_only`, `tmpfs`, and `deploy.resources` (`limits`,
//! and the memory of `reservations`).

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
        "mem_reservation" => rt.memory_reservation = Some(size(value, key)?),
        "stop_signal" => rt.stop_signal = Some(text(value, key)?),
        "init" => rt.init = Some(flag(value, key)?),
        "read_only" => rt.read_only = flag(value, key)?,
        "cap_add" => rt.cap_add.extend(list(value, key)?),
        "cap_drop" => rt.cap_drop.extend(list(value, key)?),
        "tmpfs" => rt.tmpfs.extend(list(value, key)?),
        "extra_hosts" => {
            // A list of `HOST:IP` (or `HOST=IP`), or a mapping HOST: IP.
            let hosts: Vec<String> = match value {
                Value::Mapping(m) => m
                    .iter()
                    .map(|(h, ip)| Ok(format!("{}:{}", text(h, key)?, text(ip, key)?)))
                    .collect::<Result<_, String>>()?,
                _ => list(value, key)?
                    .into_iter()
                    .map(|h| match h.split_once('=') {
                        Some((name, ip)) if !name.contains(':') => format!("{name}:{ip}"),
                        _ => h,
                    })
                    .collect(),
            };
            rt.extra_hosts.extend(hosts);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `deploy.resources`: `limits` (cpus, memory, pids) and the memory of
/// `reservations` are honoured; the names of the keys that are not are
/// returned (`deploy.resources.reservations.cpus`, …).
pub fn resources(rt: &mut Runtime, value: &Value) -> Result<Vec<String>, String> {
    let mut ignored = Vec::new();
    for (rk, rv) in value.as_mapping().into_iter().flatten() {
        let rk = rk.as_str().unwrap_or_default();
        for (lk, lv) in rv.as_mapping().into_iter().flatten() {
            let lk = lk.as_str().unwrap_or_default();
            let name = format!("deploy.resources.{rk}.{lk}");
            match (rk, lk) {
                ("limits", "cpus") => rt.cpus = Some(number(lv, &name)?),
                ("limits", "memory") => rt.memory = Some(size(lv, &name)?),
                ("limits", "pids") => rt.pids = Some(number(lv, &name)? as i64),
                ("reservations", "memory") => rt.memory_reservation = Some(size(lv, &name)?),
                _ => ignored.push(name),
            }
        }
        if !matches!(rk, "limits" | "reservations") {
            ignored.push(format!("deploy.resources.{rk}"));
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

fn flag(v: &Value, key: &str) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        _ => Err(format!("`{key}` must be true or false")),
    }
}

/// A string or a list of strings.
fn list(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Sequence(items) => items.iter().map(|i| text(i, key)).collect(),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![text(other, key)?]),
    }
}

fn number(v: &Value, key: &str) -> Result<f64, String> {
    let s = text(v, key)?;
    s.trim().parse().map_err(|_| format!("`{key}: {s}` is not a number"))
}

fn size(v: &Value, key: &str) -> Result<u64, String> {
    let s = text(v, key)?;
    bytes(&s).ok_or_else(|| format!("`{key}: {s}` is not a size (512m, 1g)"))
}
