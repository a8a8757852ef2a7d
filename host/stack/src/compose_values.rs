//! Readers of Compose values: interpolation over the document, volumes
//! (short and long syntax, tmpfs), scalars, environment pairs, ports,
//! `depends_on`, healthchecks and durations, and the line of a key.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

use crate::compose::Healthcheck;
use crate::graph::Condition;
use crate::interpolate::{Vars, interpolate};

/// Interpolates every string value (not keys) of `v`; an error carries the
/// string it was found in, to point at its line.
pub(crate) fn substitute(v: &mut Value, vars: &Vars, unset: &mut Vec<String>) -> Result<(), (String, String)> {
    match v {
        Value::String(s) => {
            *s = interpolate(s, vars, unset).map_err(|message| (s.clone(), message))?;
        }
        Value::Sequence(items) => {
            for item in items {
                substitute(item, vars, unset)?;
            }
        }
        Value::Mapping(map) => {
            for (_, value) in map.iter_mut() {
                substitute(value, vars, unset)?;
            }
        }
        Value::Tagged(tagged) => substitute(&mut tagged.value, vars, unset)?,
        _ => {}
    }
    Ok(())
}

/// One `volumes:` entry, short (`data:/var/lib/db:ro`) or long
/// (`{type, source, target, read_only}`) syntax, as `SOURCE:TARGET[:ro]`.
pub(crate) fn volume(v: &Value, base: &Path) -> Result<String, String> {
    let (source, target, read_only) = match v {
        Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            match parts.as_slice() {
                [source, target] => (source.to_string(), target.to_string(), false),
                [source, target, mode] => (source.to_string(), target.to_string(), mode.split(',').any(|m| m == "ro")),
                _ => {
                    return Err(format!(
                        "`{s}`: write SOURCE:TARGET (an anonymous volume keeps no data across revisions)"
                    ));
                }
            }
        }
        Value::Mapping(_) => {
            let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
            let kind = field("type").unwrap_or_else(|| "volume".into());
            if kind != "volume" && kind != "bind" {
                return Err(format!("of type `{kind}` is not supported; use a named volume or a bind mount"));
            }
            let source = field("source").ok_or("has no `source`")?;
            let target = field("target").ok_or("has no `target`")?;
            (source, target, v.get("read_only").and_then(Value::as_bool).unwrap_or(false))
        }
        other => return Err(format!("{other:?} is not a string or mapping")),
    };
    let is_path = source.starts_with('.') || source.starts_with('/') || source.starts_with('~');
    let source = if is_path && !source.starts_with('/') { base.join(&source).display().to_string() } else { source };
    if !target.starts_with('/') {
        return Err(format!("target `{target}` is not an absolute path"));
    }
    Ok(format!("{source}:{target}{}", if read_only { ":ro" } else { "" }))
}

/// A long-syntax `type: tmpfs` volume as `TARGET[:size=BYTES]`.
pub(crate) fn tmpfs_volume(v: &Value) -> Result<String, String> {
    let target = v.get("target").and_then(Value::as_str).ok_or("of type tmpfs has no `target`")?;
    if !target.starts_with('/') {
        return Err(format!("target `{target}` is not an absolute path"));
    }
    match v.get("tmpfs").and_then(|t| t.get("size")).and_then(scalar) {
        Some(size) => {
            let bytes = crate::runtime::bytes(&size).ok_or_else(|| format!("tmpfs size `{size}` is not a size"))?;
            Ok(format!("{target}:size={bytes}"))
        }
        None => Ok(target.to_string()),
    }
}

pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn env_pairs(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Mapping(m) => {
            m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v).unwrap_or_default()))).collect()
        }
        Value::Sequence(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (s.to_string(), String::new()),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// "8080:80", "80", "127.0.0.1:8080:80", "80/tcp", or the long form.
pub(crate) fn port(v: &Value) -> Option<(Option<u16>, u16)> {
    if let Some(target) = v.get("target") {
        let published = v.get("published").and_then(scalar).and_then(|p| p.parse().ok());
        return Some((published, scalar(target)?.parse().ok()?));
    }
    let s = scalar(v)?;
    let s = s.split('/').next()?;
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [c] => Some((None, c.parse().ok()?)),
        [h, c] => Some((Some(h.parse().ok()?), c.parse().ok()?)),
        [_, h, c] => Some((h.parse().ok(), c.parse().ok()?)),
        _ => None,
    }
}

pub(crate) fn depends_on(v: &Value) -> Result<BTreeMap<String, Condition>, String> {
    let mut out = BTreeMap::new();
    match v {
        Value::Sequence(items) => {
            for i in items {
                out.insert(
                    i.as_str().ok_or("depends_on entries must be service names")?.to_string(),
                    Condition::Started,
                );
            }
        }
        Value::Mapping(m) => {
            for (k, body) in m {
                let name = k.as_str().ok_or("depends_on keys must be service names")?.to_string();
                let cond = match body.get("condition").and_then(Value::as_str).unwrap_or("service_started") {
                    "service_started" => Condition::Started,
                    "service_healthy" => Condition::Healthy,
                    "service_completed_successfully" => Condition::CompletedSuccessfully,
                    other => return Err(format!("unknown depends_on condition `{other}` for `{name}`")),
                };
                out.insert(name, cond);
            }
        }
        _ => return Err("depends_on must be a list or a mapping".into()),
    }
    Ok(out)
}

pub(crate) fn healthcheck(v: &Value) -> Option<Healthcheck> {
    let test = match v.get("test")? {
        Value::String(s) => vec!["sh".into(), "-c".into(), s.clone()],
        Value::Sequence(items) => {
            let words: Vec<String> = items.iter().filter_map(scalar).collect();
            match words.first().map(String::as_str) {
                Some("CMD") => words[1..].to_vec(),
                Some("CMD-SHELL") => vec!["sh".into(), "-c".into(), words[1..].join(" ")],
                Some("NONE") => return None,
                _ => words,
            }
        }
        _ => return None,
    };
    let dur = |key: &str, default: u64| v.get(key).and_then(Value::as_str).and_then(duration_ms).unwrap_or(default);
    Some(Healthcheck {
        test,
        interval_ms: dur("interval", 30_000),
        timeout_ms: dur("timeout", 30_000),
        retries: v.get("retries").and_then(Value::as_u64).map_or(3, |r| r as u32),
        start_period_ms: dur("start_period", 0),
    })
}

/// Compose durations: "1m30s", "10s", "500ms".
pub(crate) fn duration_ms(s: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            "ms"
        } else {
            match c {
                'h' => "h",
                'm' => "m",
                's' => "s",
                _ => return None,
            }
        };
        let v: f64 = num.parse().ok()?;
        num.clear();
        total += (v * match unit {
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 6e4,
            _ => 3.6e6,
        }) as u64;
    }
    if !num.is_empty() {
        return None;
    }
    Some(total)
}

/// Finds lines of keys, for messages (YAML values carry no positions).
pub(crate) struct Lines<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { lines: text.lines().collect() }
    }

    pub(crate) fn indent(l: &str) -> usize {
        l.len() - l.trim_start().len()
    }

    pub(crate) fn is_key(l: &str, key: &str) -> bool {
        let t = l.trim_start();
        t.strip_prefix(key).is_some_and(|rest| rest.starts_with(':'))
            || t.strip_prefix(&format!("\"{key}\"")).is_some_and(|r| r.starts_with(':'))
    }

    pub(crate) fn top(&self, key: &str) -> usize {
        self.lines.iter().position(|l| Self::indent(l) == 0 && Self::is_key(l, key)).map_or(1, |i| i + 1)
    }

    /// The line of service `name` under `services:`.
    pub(crate) fn service(&self, name: &str) -> usize {
        let start = self.top("services");
        self.lines
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, l)| Self::indent(l) > 0 && Self::is_key(l, name))
            .map_or(start, |(i, _)| i + 1)
    }

    /// The line of `key` within the service block starting at `at`.
    /// The first line holding `text` (1 when none does).
    pub(crate) fn containing(&self, text: &str) -> usize {
        let needle = text.lines().next().unwrap_or(text);
        self.lines.iter().position(|l| l.contains(needle)).map_or(1, |i| i + 1)
    }

    pub(crate) fn key(&self, at: usize, key: &str) -> usize {
        let Some(header) = self.lines.get(at.saturating_sub(1)) else { return at };
        let base = Self::indent(header);
        for (i, l) in self.lines.iter().enumerate().skip(at) {
            if l.trim().is_empty() || l.trim_start().starts_with('#') {
                continue;
            }
            if Self::indent(l) <= base {
                break;
            }
            if Self::is_key(l, key) {
                return i + 1;
            }
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_durations() {
        assert_eq!(port(&Value::String("8080:80".into())), Some((Some(8080), 80)));
        assert_eq!(port(&Value::String("127.0.0.1:9000:90/tcp".into())), Some((Some(9000), 90)));
        assert_eq!(port(&Value::Number(5432.into())), Some((None, 5432)));
        assert_eq!(duration_ms("1m30s"), Some(90_000));
        assert_eq!(duration_ms("500ms"), Some(500));
        assert_eq!(duration_ms("10x"), None);
    }
}
