//! Scenario files for `hoist simulate`: a service, a registry environment,
//! baseline traffic and a script of what happens when.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A parsed scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// The registry, relative to the scenario file.
    pub registry: PathBuf,
    pub environment: String,
    /// Virtual time at which the simulation stops, e.g. "30m".
    #[serde(default = "default_until", deserialize_with = "duration")]
    pub until: u64,
    /// How long an instance takes to become ready.
    #[serde(default = "default_startup", deserialize_with = "duration")]
    pub startup: u64,
    pub service: ServiceDecl,
    #[serde(default)]
    pub traffic: TrafficDecl,
    /// What the metrics provider answers for each analysis template of the
    /// environment, by metric name, from t=0 (instead of asking the
    /// provider plugin, which `simulate` never calls).
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricAnswer>,
    #[serde(default, rename = "at")]
    pub events: Vec<EventDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceDecl {
    pub name: String,
    pub replicas: u32,
    /// The version running at t=0; none for a first deployment.
    #[serde(default)]
    pub stable: Option<String>,
    /// The version deployed at t=0.
    pub version: String,
    /// A strategy plugin instead of the environment's default.
    #[serde(default)]
    pub strategy: Option<String>,
    #[serde(default = "default_operator")]
    pub requested_by: String,
}

/// Per-revision traffic characteristics (baseline, or a change at a time).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TrafficDecl {
    /// Requests per second to the whole service.
    #[serde(default)]
    pub rps: Option<f64>,
    #[serde(default)]
    pub error_rate: Option<f64>,
    #[serde(default)]
    pub p50_ms: Option<f64>,
    #[serde(default)]
    pub p95_ms: Option<f64>,
    #[serde(default)]
    pub p99_ms: Option<f64>,
}

/// Something that happens at a virtual time.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EventDecl {
    #[serde(deserialize_with = "duration")]
    pub time: u64,
    /// `candidate` or `stable`: whom traffic changes and failures concern.
    #[serde(default)]
    pub revision: Option<Target>,
    #[serde(default)]
    pub error_rate: Option<f64>,
    #[serde(default)]
    pub p50_ms: Option<f64>,
    #[serde(default)]
    pub p95_ms: Option<f64>,
    #[serde(default)]
    pub p99_ms: Option<f64>,
    /// The n-th instance (0-based, in creation order) fails its probe.
    #[serde(default)]
    pub fail_instance: Option<usize>,
    /// The n-th instance (0-based, in creation order) exits, as a killed
    /// container or a crashed process does.
    #[serde(default)]
    pub kill_instance: Option<usize>,
    /// From now on the platform fails to run the revision.
    #[serde(default)]
    pub ensure_fails: Option<EnsureFailure>,
    /// The platform runs the revision again.
    #[serde(default)]
    pub ensure_recovers: bool,
    /// From now on, these metrics answer so (`{ error-rate = 0.08 }`).
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricAnswer>,
    /// An operator verb: promote, promote-full, skip-step, abort, pause,
    /// resume, approve, or rollback-to:REV.
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A scripted metrics-provider answer: a number, or `"nan"`, `"+inf"`,
/// `"no-data"` (no series), `"unavailable"` (the metrics system is down),
/// `"invalid-query"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum MetricAnswer {
    Value(f64),
    Word(MetricWord),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricWord {
    Nan,
    #[serde(rename = "+inf")]
    PositiveInfinity,
    NoData,
    Unavailable,
    InvalidQuery,
}

impl std::fmt::Display for MetricAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(v) => write!(f, "{v}"),
            Self::Word(MetricWord::Nan) => f.write_str("NaN"),
            Self::Word(MetricWord::PositiveInfinity) => f.write_str("+Inf"),
            Self::Word(MetricWord::NoData) => f.write_str("no data"),
            Self::Word(MetricWord::Unavailable) => f.write_str("unavailable"),
            Self::Word(MetricWord::InvalidQuery) => f.write_str("invalid-query"),
        }
    }
}

/// How the platform fails: `{ kind = "permanent", message = "image … is not present" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EnsureFailure {
    pub kind: FailureKind,
    pub message: String,
}

/// The platform error's case, as a platform plugin reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// `invalid-spec`: retrying cannot help.
    Permanent,
    /// `unavailable`: the platform cannot be reached.
    Unreachable,
    /// Any other error.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Candidate,
    Stable,
}

fn default_until() -> u64 {
    60 * 60_000
}
fn default_startup() -> u64 {
    5_000
}
fn default_operator() -> String {
    "simulation".into()
}

/// "90s", "15m", "250ms", "1h" or a number of milliseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a duration like 90s, 2m10s, 15m or 250ms");
    // A bare number is milliseconds; otherwise number-unit pairs add up
    // (`2m10s` is 130 s, never 210 ms).
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(ms) = text.parse::<f64>() {
        return (ms >= 0.0 && ms.is_finite()).then(|| ms.round() as u64).ok_or_else(bad);
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let value: f64 = number.parse().map_err(|_| bad())?;
        let factor = match unit {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "" => return Err(bad()),
            other => return Err(format!("unknown unit `{other}` in `{text}`; use ms, s, m or h")),
        };
        total += value * factor;
        rest = next;
    }
    Ok(total.round() as u64)
}

fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Ms(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Ms(ms) => Ok(ms),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

impl Scenario {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            hoist_files::text(path).map_err(|e| anyhow::anyhow!("cannot read scenario {}: {e}", path.display()))?;
        let mut scenario: Scenario = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    let col = s.start - text[..s.start].rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!(":{line}:{col}")
                })
                .unwrap_or_default();
            anyhow::anyhow!("{}{at}: {}", path.display(), e.message())
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        scenario.registry = base.join(&scenario.registry);
        let mut events = scenario.events.clone();
        events.sort_by_key(|e| e.time);
        scenario.events = events;
        Ok(scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("15m"), Ok(900_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("1.5s"), Ok(1_500));
        assert_eq!(parse_duration("2m10s"), Ok(130_000), "pairs add up");
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("400"), Ok(400), "a bare number is milliseconds");
        assert!(parse_duration("3 fortnights").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("5s3").is_err(), "a number after the last unit has none");
        assert!(parse_duration("").is_err());
    }
}
