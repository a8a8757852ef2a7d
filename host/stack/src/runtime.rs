//! How a service's instances run: user, working directory, entrypoint,
//! resource limits and reservations, stop signal and grace period, labels,
//! init, capabilities, extra hosts, a read-only root with tmpfs mounts, and
//! the instance's own health check — the `runtime` table of a stack
//! service, read from the Compose keys of the same names (see
//! `compose_runtime.rs`). They reach the platform as `hoist.*` extensions
//! of the revision spec (see [`Runtime::extensions`]), so the plugin
//! contract is unchanged; a platform that cannot honour one ignores it.

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
    /// The signal that asks the instance to stop (`SIGTERM` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Runs an init process as PID 1, which reaps zombies and forwards signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// Linux capabilities added to (`NET_ADMIN`) and dropped from (`ALL`)
    /// the engine's default set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// More `/etc/hosts` entries, `HOST:IP`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// Memory the instance is guaranteed (a soft limit), in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<u64>,
    /// The root filesystem is read-only (volumes and tmpfs stay writable).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// In-memory filesystems, `PATH` or `PATH:OPTIONS` (`/run:size=64m`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
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
        if let Some(cap) = self.cap_add.iter().chain(&self.cap_drop).find(|c| !valid_capability(c)) {
            return Err(format!("capability `{cap}` is not a capability name (NET_ADMIN, SYS_PTRACE, ALL)"));
        }
        if let Some(h) =
            self.extra_hosts.iter().find(|h| h.split_once(':').is_none_or(|(n, ip)| n.is_empty() || ip.is_empty()))
        {
            return Err(format!("extra host `{h}`: write HOST:IP"));
        }
        if let Some(t) = self.tmpfs.iter().find(|t| !t.starts_with('/')) {
            return Err(format!("tmpfs `{t}`: the mount point must be an absolute path"));
        }
        if self.stop_signal.as_deref().is_some_and(|s| s.is_empty() || s.contains(char::is_whitespace)) {
            return Err("`stop_signal` must be a signal name (SIGINT) or number".into());
        }
        if self.memory_reservation == Some(0) {
            return Err("`memory_reservation` must be at least 1".into());
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
    /// `hoist.healthcheck` (JSON of [`InstanceHealth`]), `hoist.stop-signal`,
    /// `hoist.init` (`true`/`false`), `hoist.cap-add` and `hoist.cap-drop`
    /// (one per capability), `hoist.extra-host` (`HOST:IP`, one each),
    /// `hoist.memory-reservation` (bytes), `hoist.read-only` (`true`) and
    /// `hoist.tmpfs` (`PATH[:OPTIONS]`, one each).
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
        if let Some(s) = &self.stop_signal {
            put("stop-signal", s.clone());
        }
        if let Some(i) = self.init {
            put("init", i.to_string());
        }
        for c in &self.cap_add {
            put("cap-add", c.clone());
        }
        for c in &self.cap_drop {
            put("cap-drop", c.clone());
        }
        for h in &self.extra_hosts {
            put("extra-host", h.clone());
        }
        if let Some(m) = self.memory_reservation {
            put("memory-reservation", m.to_string());
        }
        if self.read_only {
            put("read-only", "true".into());
        }
        for t in &self.tmpfs {
            put("tmpfs", t.clone());
        }
        out
    }
}

/// `NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`: upper-case letters, digits and `_`.
fn valid_capability(c: &str) -> bool {
    !c.is_empty() && c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
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
