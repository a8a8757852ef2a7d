//! Analysis templates: `[environments.ENV.analysis.METRIC]`, a metric that
//! a metrics-provider plugin measures every `interval` while a rollout of
//! the environment is analysed, each measurement judged against the
//! template's success and failure ranges, with Argo Rollouts' limits.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::diagnostic::Location;
use crate::names::PluginName;

/// The rollout facts every query may use as `{{name}}`; a template's own
/// variables may not shadow them.
pub const FACTS: [&str; 6] = ["service", "environment", "revision", "candidate", "stable", "interval"];

/// The longest query a template may write (the runtime's cap too).
pub const MAX_QUERY: usize = 16 * 1024;
/// The most variables a template may declare.
pub const MAX_VARIABLES: usize = 64;
/// The most measurements `count` may ask for, and the highest limit.
pub const MAX_COUNT: u32 = 1_000;
/// The longest `interval` or `initial-delay`.
pub const MAX_SPAN: Duration = Duration::from_secs(24 * 3600);

/// One `[environments.ENV.analysis.METRIC]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisTemplate {
    /// The table's name: the metric's name in records and messages.
    pub name: String,
    /// The metrics-provider plugin that runs `query`.
    pub provider: PluginName,
    /// The query as written, `{{placeholders}}` included (the provider
    /// substitutes them).
    pub query: String,
    /// A measurement in this range is successful (`success = { max = 0.05 }`).
    pub success: Option<Range>,
    /// A measurement in this range has failed; it wins over `success`.
    pub failure: Option<Range>,
    /// Time between measurements, and the window `{{interval}}` looks back over.
    pub interval: Duration,
    /// Measurements to take; `None`: as many intervals as fit in the
    /// analysis the strategy asked for (at least one).
    pub count: Option<u32>,
    /// Time from the start of an analysis before the first interval begins.
    pub initial_delay: Duration,
    /// Failed measurements tolerated; one more fails the metric.
    pub failure_limit: u32,
    /// Inconclusive measurements tolerated; one more makes the metric
    /// inconclusive, which pauses the rollout.
    pub inconclusive_limit: u32,
    /// Errors in a row tolerated (the provider down or failing); one more
    /// makes the metric inconclusive.
    pub consecutive_error_limit: u32,
    /// What a measurement with no value (no series, or NaN) counts as.
    pub no_data: NoData,
    /// Measured and recorded, but never fails, pauses or holds up a rollout.
    pub dry_run: bool,
    /// Substituted as `{{name}}` in the query.
    pub variables: BTreeMap<String, String>,
    /// Where the table is declared.
    pub location: Location,
}

/// Values from `min` to `max`, both included; an absent bound is open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Range {
    /// Whether `value` lies in the range (±∞ compare as numbers).
    pub fn contains(&self, value: f64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }
}

impl fmt::Display for Range {
    /// `≤ 0.05`, `≥ 0.99`, `0.1..=0.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(min), Some(max)) => write!(f, "{min}..={max}"),
            (Some(min), None) => write!(f, "≥ {min}"),
            (None, Some(max)) => write!(f, "≤ {max}"),
            (None, None) => f.write_str("any value"),
        }
    }
}

/// What a measurement without a value counts as (`no-data = "pause"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoData {
    /// Inconclusive: past `inconclusive-limit` the rollout pauses for an
    /// operator. The default: no data is not evidence either way.
    #[default]
    Pause,
    /// A failed measurement.
    Fail,
    /// A successful measurement.
    Pass,
}

impl NoData {
    pub const ALL: [NoData; 3] = [NoData::Pause, NoData::Fail, NoData::Pass];

    pub fn as_str(self) -> &'static str {
        match self {
            NoData::Pause => "pause",
            NoData::Fail => "fail",
            NoData::Pass => "pass",
        }
    }
}

/// The `{{name}}` placeholders of `query`, in order (names trimmed), or
/// why the query is malformed.
pub fn placeholders(query: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = query;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err("`{{` without a closing `}}`".into());
        };
        names.push(after[..close].trim());
        rest = &after[close + 2..];
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_include_their_bounds_and_compare_infinities_as_numbers() {
        let at_most = Range { min: None, max: Some(0.05) };
        assert!(at_most.contains(0.05) && at_most.contains(0.0) && !at_most.contains(0.051));
        assert!(!at_most.contains(f64::INFINITY) && at_most.contains(f64::NEG_INFINITY));
        let between = Range { min: Some(0.1), max: Some(0.5) };
        assert!(between.contains(0.1) && between.contains(0.5) && !between.contains(0.6));
        assert_eq!(between.to_string(), "0.1..=0.5");
        assert_eq!(at_most.to_string(), "≤ 0.05");
    }

    #[test]
    fn placeholders_are_listed_and_an_unclosed_one_is_an_error() {
        assert_eq!(placeholders("a{{ service }}b{{x}}").unwrap(), ["service", "x"]);
        assert!(placeholders("up{{service").is_err());
        assert!(placeholders("no placeholders").unwrap().is_empty());
    }
}
