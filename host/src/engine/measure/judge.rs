//! One measurement judged: a provider's answer (or its failure) against an
//! analysis template's ranges and no-data rule. Pure, so every case is a
//! unit test.
//!
//! The value of a series is its latest sample. NaN (0/0: no requests in the
//! window) is no value, as an empty answer is, and the template's `no-data`
//! rule decides; ±∞ compare as numbers. When a query matches several series
//! each is judged and the worst counts: one failing series fails the
//! measurement.

use hoist_registry::{AnalysisTemplate, NoData};
use serde::{Deserialize, Serialize};

use crate::engine::CallFailure;
use crate::runtime::provider::{MetricError, SampleValue, Series};

/// What a provider call came back with.
pub type Answer = Result<Result<Vec<Series>, MetricError>, CallFailure>;

/// How one measurement came out, worst last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measured {
    Successful,
    /// The provider could not answer; counted by `consecutive-error-limit`.
    Error,
    Inconclusive,
    Failed,
}

impl Measured {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Successful => "successful",
            Self::Error => "error",
            Self::Inconclusive => "inconclusive",
            Self::Failed => "failed",
        }
    }
}

/// A sample's value as stored and shown: a number, or `NaN`, `+Inf`,
/// `-Inf` as text (JSON has no such numbers, and a stored intent must read
/// back as it was written).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reading {
    Number(f64),
    Special(String),
}

impl Reading {
    pub fn of(value: SampleValue) -> Self {
        match value {
            SampleValue::Number(n) if n.is_finite() => Self::Number(n),
            SampleValue::Number(n) if n.is_nan() => Self::Special("NaN".into()),
            SampleValue::Number(n) if n > 0.0 => Self::Special("+Inf".into()),
            SampleValue::Number(_) => Self::Special("-Inf".into()),
            SampleValue::Nan => Self::Special("NaN".into()),
            SampleValue::PositiveInfinity => Self::Special("+Inf".into()),
            SampleValue::NegativeInfinity => Self::Special("-Inf".into()),
        }
    }
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(n) => f.write_str(&show(*n)),
            Self::Special(s) => f.write_str(s),
        }
    }
}

/// A number short enough to read: `0.0123`, `42`, `1.5e-7`.
pub fn show(n: f64) -> String {
    if n == n.trunc() && n.abs() < 1e15 {
        format!("{n:.0}")
    } else if n.abs() >= 1e-3 && n.abs() < 1e15 {
        let text = format!("{n:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{n:.3e}")
    }
}

/// One series' value as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesValue {
    pub labels: Vec<(String, String)>,
    pub value: Reading,
}

/// One measurement, judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub verdict: Measured,
    /// The latest value of each series the query matched.
    pub values: Vec<SeriesValue>,
    /// Why, in a sentence: the value against the range, or what failed.
    pub reason: String,
    /// An error retrying cannot help (the query or the provider's config
    /// is wrong): the metric is inconclusive at once.
    pub permanent: bool,
}

impl Measurement {
    fn error(reason: String, permanent: bool) -> Self {
        Self { verdict: Measured::Error, values: vec![], reason, permanent }
    }

    /// The value shown for the measurement: the only series' value, or the
    /// worst series' when there are several.
    pub fn value(&self) -> Option<&Reading> {
        self.values.first().map(|v| &v.value)
    }
}

/// Judges a provider's answer for `template`.
pub fn judge(template: &AnalysisTemplate, answer: &Answer) -> Measurement {
    let series = match answer {
        Ok(Ok(series)) => series,
        Ok(Err(MetricError::NoData(why))) => return no_data(template, why, vec![]),
        Ok(Err(MetricError::InvalidQuery(why))) => return Measurement::error(format!("invalid query: {why}"), true),
        Ok(Err(MetricError::InvalidConfig(why))) => {
            return Measurement::error(format!("the provider's config is refused: {why}"), true);
        }
        Ok(Err(MetricError::Unavailable(why))) => return Measurement::error(format!("unavailable: {why}"), false),
        Ok(Err(MetricError::Other(why))) => return Measurement::error(why.clone(), false),
        Err(CallFailure::Refused(why) | CallFailure::Fault(why)) => {
            return Measurement::error(format!("the provider failed: {why}"), false);
        }
    };
    let mut judged: Vec<(Measured, String, SeriesValue)> = Vec::new();
    let mut nan = Vec::new();
    for s in series {
        let Some(last) = s.samples.last() else { continue };
        let reading = Reading::of(last.value);
        let value = SeriesValue { labels: s.labels.clone(), value: reading.clone() };
        let number = match last.value {
            SampleValue::Number(n) if !n.is_nan() => n,
            SampleValue::PositiveInfinity => f64::INFINITY,
            SampleValue::NegativeInfinity => f64::NEG_INFINITY,
            SampleValue::Number(_) | SampleValue::Nan => {
                nan.push(value);
                continue;
            }
        };
        let (verdict, why) = against_ranges(template, number);
        let labels = if series.len() > 1 { format!("{} ", labels_text(&s.labels)) } else { String::new() };
        judged.push((verdict, format!("{labels}{reading} {why}"), value));
    }
    // The worst series first: its value is the measurement's.
    judged.sort_by_key(|(verdict, _, _)| std::cmp::Reverse(*verdict));
    let Some((verdict, reason, _)) = judged.first().cloned() else {
        let why = "the value is NaN (0/0: nothing to measure in the window?)".to_string();
        return no_data(template, &why, nan);
    };
    let values = judged.into_iter().map(|(_, _, v)| v).chain(nan).collect();
    Measurement { verdict, values, reason, permanent: false }
}

/// A value against the template's ranges: a value in `failure` fails;
/// otherwise in `success` succeeds; outside `success` fails, unless a
/// `failure` range is given too, when it is inconclusive (Argo's rule).
fn against_ranges(template: &AnalysisTemplate, value: f64) -> (Measured, String) {
    if let Some(failure) = &template.failure
        && failure.contains(value)
    {
        return (Measured::Failed, format!("in failure range {failure}"));
    }
    match (&template.success, &template.failure) {
        (Some(success), _) if success.contains(value) => (Measured::Successful, format!("in success range {success}")),
        (Some(success), None) => (Measured::Failed, format!("outside success range {success}")),
        (Some(success), Some(failure)) => {
            (Measured::Inconclusive, format!("in neither success range {success} nor failure range {failure}"))
        }
        (None, Some(failure)) => (Measured::Successful, format!("outside failure range {failure}")),
        (None, None) => (Measured::Successful, "with no range to judge it".into()),
    }
}

fn no_data(template: &AnalysisTemplate, why: &str, values: Vec<SeriesValue>) -> Measurement {
    let verdict = match template.no_data {
        NoData::Pause => Measured::Inconclusive,
        NoData::Fail => Measured::Failed,
        NoData::Pass => Measured::Successful,
    };
    let reason = format!("no data ({why}): {} by no-data = \"{}\"", verdict.as_str(), template.no_data.as_str());
    Measurement { verdict, values, reason, permanent: false }
}

fn labels_text(labels: &[(String, String)]) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::provider::Sample;
    use hoist_registry::Range;

    fn template(success: Option<Range>, failure: Option<Range>, no_data: NoData) -> AnalysisTemplate {
        AnalysisTemplate {
            name: "error-rate".into(),
            provider: hoist_registry::PluginName::new("prometheus").unwrap(),
            query: "q".into(),
            success,
            failure,
            interval: std::time::Duration::from_secs(10),
            count: Some(3),
            initial_delay: std::time::Duration::ZERO,
            failure_limit: 0,
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
            no_data,
            dry_run: false,
            variables: Default::default(),
            location: hoist_registry::Location { file: "r.toml".into(), line: 1, column: 1 },
        }
    }

    fn at_most(max: f64) -> Option<Range> {
        Some(Range { min: None, max: Some(max) })
    }

    fn at_least(min: f64) -> Option<Range> {
        Some(Range { min: Some(min), max: None })
    }

    fn one(value: SampleValue) -> Answer {
        Ok(Ok(vec![Series { labels: vec![], samples: vec![Sample { timestamp_ms: 1, value }] }]))
    }

    #[test]
    fn a_value_is_judged_by_the_success_range_and_the_failure_range_wins() {
        let t = template(at_most(0.05), None, NoData::Pause);
        let ok = judge(&t, &one(SampleValue::Number(0.01)));
        assert_eq!((ok.verdict, ok.reason.as_str()), (Measured::Successful, "0.01 in success range ≤ 0.05"));
        let bad = judge(&t, &one(SampleValue::Number(0.25)));
        assert_eq!((bad.verdict, bad.reason.as_str()), (Measured::Failed, "0.25 outside success range ≤ 0.05"));
        assert_eq!(bad.value(), Some(&Reading::Number(0.25)));
        let both = template(at_most(0.05), at_least(0.2), NoData::Pause);
        assert_eq!(judge(&both, &one(SampleValue::Number(0.1))).verdict, Measured::Inconclusive);
        assert_eq!(judge(&both, &one(SampleValue::Number(0.3))).verdict, Measured::Failed);
        let only_failure = template(None, at_least(0.2), NoData::Pause);
        assert_eq!(judge(&only_failure, &one(SampleValue::Number(0.1))).verdict, Measured::Successful);
        let inf = judge(&t, &one(SampleValue::PositiveInfinity));
        assert_eq!((inf.verdict, inf.value()), (Measured::Failed, Some(&Reading::Special("+Inf".into()))));
    }

    #[test]
    fn no_data_and_nan_follow_the_no_data_rule() {
        let empty: Answer = Ok(Err(MetricError::NoData("matched no series".into())));
        for (rule, verdict) in [
            (NoData::Pause, Measured::Inconclusive),
            (NoData::Fail, Measured::Failed),
            (NoData::Pass, Measured::Successful),
        ] {
            let t = template(at_most(0.05), None, rule);
            let m = judge(&t, &empty);
            assert_eq!(m.verdict, verdict);
            assert!(m.reason.contains("no data (matched no series)"), "{}", m.reason);
            let nan = judge(&t, &one(SampleValue::Nan));
            assert_eq!(nan.verdict, verdict, "NaN is no data");
            assert!(nan.reason.contains("NaN"), "{}", nan.reason);
            assert_eq!(nan.value(), Some(&Reading::Special("NaN".into())));
        }
    }

    #[test]
    fn errors_say_whether_retrying_can_help() {
        let t = template(at_most(0.05), None, NoData::Pause);
        let down = judge(&t, &Ok(Err(MetricError::Unavailable("connection refused".into()))));
        assert_eq!((down.verdict, down.permanent), (Measured::Error, false));
        let bad = judge(&t, &Ok(Err(MetricError::InvalidQuery("parse error".into()))));
        assert_eq!((bad.verdict, bad.permanent), (Measured::Error, true));
        let trap = judge(&t, &Err(CallFailure::Fault("plugin `prometheus` trapped".into())));
        assert_eq!((trap.verdict, trap.permanent), (Measured::Error, false));
    }

    #[test]
    fn the_worst_of_several_series_counts_and_nan_ones_are_set_aside() {
        let t = template(at_most(0.05), None, NoData::Pause);
        let sample = |v| vec![Sample { timestamp_ms: 1, value: SampleValue::Number(v) }];
        let series = |rev: &str, samples| Series { labels: vec![("revision".into(), rev.into())], samples };
        let answer = Ok(Ok(vec![
            series("a", sample(0.01)),
            series("b", vec![Sample { timestamp_ms: 1, value: SampleValue::Nan }]),
            series("c", sample(0.5)),
        ]));
        let m = judge(&t, &answer);
        assert_eq!(m.verdict, Measured::Failed);
        assert_eq!(m.reason, "{revision=\"c\"} 0.5 outside success range ≤ 0.05");
        assert_eq!(m.values.len(), 3);
        assert_eq!(m.value(), Some(&Reading::Number(0.5)));
    }

    #[test]
    fn numbers_are_shown_short() {
        assert_eq!(show(42.0), "42");
        assert_eq!(show(0.012_000_000_1), "0.012");
        assert_eq!(show(0.000_000_15), "1.500e-7");
        assert_eq!(Reading::of(SampleValue::Number(f64::NAN)).to_string(), "NaN");
    }
}
