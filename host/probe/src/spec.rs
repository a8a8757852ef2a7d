//! What to probe and how often: [`ProbeSpec`], its serde form and checks.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration;

/// How to check one target, and when to believe the checks. Defaults follow
/// Kubernetes except the interval (1 s, not 10 s): timeout 1 s, one success
/// to become ready, three consecutive failures to stop being ready.
///
/// ```toml
/// kind = { http = { path = "/healthz", expect-status = "200-299" } }
/// interval = "500ms"
/// failure-threshold = 2
/// healthy-deadline = "30s"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProbeSpec {
    pub kind: ProbeKind,
    /// Time between the starts of two probes.
    #[serde(default = "one_second", with = "duration")]
    pub interval: Duration,
    /// A probe that takes longer fails (an exec probe's process is killed).
    #[serde(default = "one_second", with = "duration")]
    pub timeout: Duration,
    /// Consecutive successes needed to become ready.
    #[serde(default = "one")]
    pub success_threshold: NonZeroU32,
    /// Consecutive failures needed to stop being ready.
    #[serde(default = "three")]
    pub failure_threshold: NonZeroU32,
    /// Wait before the first probe.
    #[serde(default, with = "duration")]
    pub initial_delay: Duration,
    /// A target not ready this long after it was added is marked failed and
    /// no longer probed. `None`: wait for ever.
    #[serde(default, with = "duration::option", skip_serializing_if = "Option::is_none")]
    pub healthy_deadline: Option<Duration>,
}

/// The check itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
pub enum ProbeKind {
    /// `GET http://ADDR/PATH` over HTTP/1.1 (no TLS). Succeeds on 2xx or 3xx,
    /// or on a status within `expect-status` when given.
    Http {
        #[serde(default = "root_path")]
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect_status: Option<StatusRange>,
    },
    /// A TCP connection to ADDR is accepted.
    Tcp,
    /// `command[0]` with the rest as arguments exits 0. It sees the target as
    /// `HOIST_PROBE_ADDR`, `HOIST_PROBE_HOST` and `HOIST_PROBE_PORT`.
    Exec { command: Vec<String> },
}

impl ProbeSpec {
    /// An HTTP probe of `path` with the default timings.
    pub fn http(path: impl Into<String>) -> Self {
        Self::with_kind(ProbeKind::Http { path: path.into(), expect_status: None })
    }

    /// A TCP connect probe with the default timings.
    pub fn tcp() -> Self {
        Self::with_kind(ProbeKind::Tcp)
    }

    /// An exec probe with the default timings.
    pub fn exec<S: Into<String>>(command: impl IntoIterator<Item = S>) -> Self {
        Self::with_kind(ProbeKind::Exec { command: command.into_iter().map(Into::into).collect() })
    }

    fn with_kind(kind: ProbeKind) -> Self {
        ProbeSpec {
            kind,
            interval: one_second(),
            timeout: one_second(),
            success_threshold: one(),
            failure_threshold: three(),
            initial_delay: Duration::ZERO,
            healthy_deadline: None,
        }
    }

    /// The checks serde cannot express: non-zero timings, a sane HTTP path,
    /// a non-empty command.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.interval.is_zero() {
            return Err(SpecError::ZeroDuration { field: "interval" });
        }
        if self.timeout.is_zero() {
            return Err(SpecError::ZeroDuration { field: "timeout" });
        }
        match &self.kind {
            ProbeKind::Http { path, .. } => {
                if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(SpecError::BadPath { path: path.clone() });
                }
            }
            ProbeKind::Tcp => {}
            ProbeKind::Exec { command } => {
                if command.first().is_none_or(|program| program.is_empty()) {
                    return Err(SpecError::EmptyCommand);
                }
            }
        }
        Ok(())
    }
}

/// A probe spec that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("`{field}` must be longer than zero; use e.g. \"1s\" or \"250ms\"")]
    ZeroDuration { field: &'static str },
    #[error(
        "HTTP probe path `{path}` must start with `/` and contain no spaces or control characters, e.g. \"/healthz\""
    )]
    BadPath { path: String },
    #[error("exec probe has an empty `command`; give the program and its arguments, e.g. [\"pg_isready\", \"-q\"]")]
    EmptyCommand,
    #[error("`{text}` is not a status range; use e.g. \"200-299\" or \"204\", with codes from 100 to 599")]
    BadStatusRange { text: String },
}

/// Inclusive range of HTTP status codes, written `"200-299"` or `"204"`
/// (or the number 204).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    first: u16,
    last: u16,
}

impl StatusRange {
    pub fn new(first: u16, last: u16) -> Result<Self, SpecError> {
        if (100..=599).contains(&first) && (first..=599).contains(&last) {
            Ok(StatusRange { first, last })
        } else {
            Err(SpecError::BadStatusRange { text: format!("{first}-{last}") })
        }
    }

    pub fn contains(&self, status: u16) -> bool {
        (self.first..=self.last).contains(&status)
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last { write!(f, "{}", self.first) } else { write!(f, "{}-{}", self.first, self.last) }
    }
}

impl FromStr for StatusRange {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let bad = || SpecError::BadStatusRange { text: text.to_string() };
        let code = |part: &str| part.trim().parse::<u16>().map_err(|_| bad());
        let (first, last) = match text.split_once('-') {
            Some((first, last)) => (code(first)?, code(last)?),
            None => (code(text)?, code(text)?),
        };
        StatusRange::new(first, last).map_err(|_| bad())
    }
}

impl Serialize for StatusRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Code(u16),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Code(code) => StatusRange::new(code, code),
            Raw::Text(text) => text.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}

fn one_second() -> Duration {
    Duration::from_secs(1)
}

fn one() -> NonZeroU32 {
    NonZeroU32::MIN
}

fn three() -> NonZeroU32 {
    NonZeroU32::MIN.saturating_add(2)
}

fn root_path() -> String {
    "/".to_string()
}
