//! How a service's instances run: user, working directory, entrypoint,
//! resource limits, stop grace period, labels and the instance's own
//! health check — the `runtime` table of a stack service, read from
//! Compose's `user`, `working_dir`, `entrypoint`, `mem_limit`, `cpus`,
//! `pids_limit`, `deploy.resources.limits`, `stop_grace_period`, `labels`
//! and `healthcheck`. They reach the platform as `hoist.*` extensions of
//! the revision spec (see [`Runtime::extensions`]), so the plugin contract
//! is unchanged; a platform that cannot honour one ignores it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A health check the platform runs inside the instance (Docker's
/// HEALTHCHECK), so it needs no published port.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceHealth {
    /// `true`: no health check at all, not even the image's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
    /// The command, run directly (`["sh", "-c", "..."]` for a shell line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval_ms: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout_ms: u64,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub retries: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period_ms: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// `runtime = { user = "1000", memory = "256m", cpus = 0.5, ... }`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Replaces the image's entrypoint (`[]`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Memory limit in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Most processes (threads) the instance may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
    /// From the stop signal to the kill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_grace_ms: Option<u64>,
    /// Labels on every instance (`hoist.*` are Hoist's own and refused).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<InstanceHealth>,
}

impl Runtime {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// What serde cannot check.
    pub fn check(&self) -> Result<(), String> {
        if let Some(label) = self.labels.keys().find(|k| k.starts_with("hoist.")) {
            return Err(format!("label `{label}`: `hoist.` labels are Hoist's own; rename it"));
        }
        if self.cpus.is_some_and(|c| !(c > 0.0 && c.is_finite())) {
            return Err("`cpus` must be a positive number".into());
        }
        if self.memory == Some(0) || self.pids.is_some_and(|p| p < 1) {
            return Err("`memory` and `pids` must be at least 1".into());
        }
        if let Some(h) = &self.healthcheck
            && !h.disable
            && h.test.is_empty()
        {
            return Err("`healthcheck` needs a `test` command (or `disable = true`)".into());
        }
        Ok(())
    }

    /// The settings as revision-spec extensions, one `hoist.*` key each:
    /// `hoist.user`, `hoist.working-dir`, `hoist.entrypoint` (a JSON list),
    /// `hoist.memory` (bytes), `hoist.cpus`, `hoist.pids`,
    /// `hoist.stop-grace-ms`, `hoist.label` (`KEY=VALUE`, one per label) and
    /// `hoist.healthcheck` (JSON of [`InstanceHealth`]).
    pub fn extensions(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut put = |k: &str, v: String| out.push((format!("hoist.{k}"), v));
        if let Some(u) = &self.user {
            put("user", u.clone());
        }
        if let Some(w) = &self.working_dir {
            put("working-dir", w.clone());
        }
        if let Some(e) = &self.entrypoint {
            put("entrypoint", serde_json::json!(e).to_string());
        }
        if let Some(m) = self.memory {
            put("memory", m.to_string());
        }
        if let Some(c) = self.cpus {
            put("cpus", c.to_string());
        }
        if let Some(p) = self.pids {
            put("pids", p.to_string());
        }
        if let Some(g) = self.stop_grace_ms {
            put("stop-grace-ms", g.to_string());
        }
        for (k, v) in &self.labels {
            put("label", format!("{k}={v}"));
        }
        if let Some(h) = &self.healthcheck {
            put("healthcheck", serde_json::json!(h).to_string());
        }
        out
    }
}

/// Compose sizes: `512m`, `1g`, `1.5gb`, `1024k`, `100000` (bytes).
pub fn bytes(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let factor: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    let v: f64 = num.trim().parse().ok()?;
    (v >= 0.0 && v.is_finite()).then_some((v * factor as f64) as u64)
}

/// A command line split as a POSIX shell (and Compose) splits it: quotes
/// group, backslashes escape; `sh -c "echo 'a b'"` is three words.
pub fn shell_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed ' in `{s}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unclosed \" in `{s}`")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed \" in `{s}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_keep_quoted_groups() {
        assert_eq!(shell_words(r#"sh -c "echo 'a b'""#).unwrap(), ["sh", "-c", "echo 'a b'"]);
        assert_eq!(shell_words(r"a\ b 'c d' e").unwrap(), ["a b", "c d", "e"]);
        assert_eq!(shell_words(r#"x "" y"#).unwrap(), ["x", "", "y"]);
        assert!(shell_words("echo 'open").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes("512m"), Some(512 << 20));
        assert_eq!(bytes("1.5g"), Some(3 << 29));
        assert_eq!(bytes("50M"), Some(50 << 20));
        assert_eq!(bytes("1024"), Some(1024));
        assert_eq!(bytes("1kb"), Some(1024));
        assert_eq!(bytes("lots"), None);
    }
}
