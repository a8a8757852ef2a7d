//! One template's run within one analysis: when it measures next, what
//! its measurements came to, and — by the template's limits — whether it
//! has succeeded, failed or become inconclusive. Stored with the rollout's
//! intent, so a restarted engine goes on counting where it was.

use hoist_registry::AnalysisTemplate;
use serde::{Deserialize, Serialize};

use super::judge::{Measured, Measurement, Reading};

/// Where a metric's run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricPhase {
    Running,
    Successful,
    Failed,
    Inconclusive,
}

impl MetricPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Successful => "successful",
            Self::Failed => "failed",
            Self::Inconclusive => "inconclusive",
        }
    }
}

/// The latest measurement of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LastMeasurement {
    pub at_ms: u64,
    pub verdict: Measured,
    #[serde(default)]
    pub value: Option<Reading>,
    pub reason: String,
}

/// One template's measurements in one analysis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MetricRun {
    pub provider: String,
    pub dry_run: bool,
    /// Measurements to take.
    pub count: u32,
    pub taken: u32,
    pub successful: u32,
    pub failed: u32,
    pub inconclusive: u32,
    pub errors: u32,
    pub consecutive_errors: u32,
    /// When the next measurement is due.
    pub next_at_ms: u64,
    pub phase: MetricPhase,
    #[serde(default)]
    pub last: Option<LastMeasurement>,
    /// Why the run ended as it did.
    #[serde(default)]
    pub reason: Option<String>,
}

impl MetricRun {
    /// A run for an analysis from `started_ms` to `until_ms`: the first
    /// measurement one interval after the initial delay; without a
    /// `count`, as many intervals as fit in the analysis (at least one).
    pub fn start(template: &AnalysisTemplate, started_ms: u64, until_ms: u64) -> Self {
        let interval = millis(template.interval).max(1);
        let delay = millis(template.initial_delay);
        let fit = until_ms.saturating_sub(started_ms).saturating_sub(delay) / interval;
        let count = template.count.unwrap_or_else(|| u32::try_from(fit).unwrap_or(u32::MAX).clamp(1, 1_000));
        Self {
            provider: template.provider.to_string(),
            dry_run: template.dry_run,
            count,
            taken: 0,
            successful: 0,
            failed: 0,
            inconclusive: 0,
            errors: 0,
            consecutive_errors: 0,
            next_at_ms: started_ms.saturating_add(delay).saturating_add(interval),
            phase: MetricPhase::Running,
            last: None,
            reason: None,
        }
    }

    pub fn due(&self, now: u64) -> bool {
        self.phase == MetricPhase::Running && now >= self.next_at_ms
    }

    /// Counts measurement `m`, taken at `now`, and applies the limits:
    /// more failures than `failure-limit` fail the metric; an error that
    /// retrying cannot help, more errors in a row than
    /// `consecutive-error-limit` or more inconclusive measurements than
    /// `inconclusive-limit` make it inconclusive; once `count` are taken it
    /// has succeeded, unless not one of them was successful.
    pub fn record(&mut self, template: &AnalysisTemplate, m: &Measurement, now: u64) {
        self.taken += 1;
        match m.verdict {
            Measured::Successful => self.successful += 1,
            Measured::Failed => self.failed += 1,
            Measured::Inconclusive => self.inconclusive += 1,
            Measured::Error => {
                self.errors += 1;
                self.consecutive_errors += 1;
            }
        }
        if m.verdict != Measured::Error {
            self.consecutive_errors = 0;
        }
        self.last = Some(LastMeasurement {
            at_ms: now,
            verdict: m.verdict,
            value: m.value().cloned(),
            reason: m.reason.clone(),
        });
        let (taken, count) = (self.taken, self.count);
        let last = &m.reason;
        let ended = if self.failed > template.failure_limit {
            Some((
                MetricPhase::Failed,
                format!(
                    "{} of {taken} measurements failed (failure-limit {}), last: {last}",
                    self.failed, template.failure_limit
                ),
            ))
        } else if m.verdict == Measured::Error && m.permanent {
            Some((MetricPhase::Inconclusive, format!("cannot be measured: {last}")))
        } else if self.consecutive_errors > template.consecutive_error_limit {
            Some((
                MetricPhase::Inconclusive,
                format!(
                    "{} errors in a row (consecutive-error-limit {}), last: {last}",
                    self.consecutive_errors, template.consecutive_error_limit
                ),
            ))
        } else if self.inconclusive > template.inconclusive_limit {
            Some((
                MetricPhase::Inconclusive,
                format!(
                    "{} of {taken} measurements inconclusive (inconclusive-limit {}), last: {last}",
                    self.inconclusive, template.inconclusive_limit
                ),
            ))
        } else if taken >= count && self.successful == 0 {
            Some((MetricPhase::Inconclusive, format!("none of {taken} measurements was successful, last: {last}")))
        } else if taken >= count {
            Some((
                MetricPhase::Successful,
                format!("{} of {taken} measurements successful, last: {last}", self.successful),
            ))
        } else {
            None
        };
        match ended {
            Some((phase, reason)) => {
                self.phase = phase;
                self.reason = Some(reason);
            }
            None => {
                // On the interval's grid; a step that came late (a restart)
                // measures once, not once per missed interval.
                let interval = millis(template.interval).max(1);
                self.next_at_ms = self.next_at_ms.saturating_add(interval);
                if self.next_at_ms <= now {
                    self.next_at_ms = now.saturating_add(interval);
                }
            }
        }
    }

    /// `error-rate 2/3 measured (2 successful), last 0.01 (successful)`.
    pub fn summary(&self, name: &str) -> String {
        let dry = if self.dry_run { " (dry-run)" } else { "" };
        let counts = [
            ("successful", self.successful),
            ("failed", self.failed),
            ("inconclusive", self.inconclusive),
            ("errors", self.errors),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ");
        let last = match &self.last {
            Some(l) => format!(
                ", last {} ({})",
                l.value.as_ref().map_or("no value".into(), |v| v.to_string()),
                l.verdict.as_str()
            ),
            None => String::new(),
        };
        let counts = if counts.is_empty() { String::new() } else { format!(" ({counts})") };
        format!("{name}{dry} {}: {}/{} measured{counts}{last}", self.phase.as_str(), self.taken, self.count)
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_registry::{Location, NoData, PluginName, Range};
    use std::time::Duration;

    fn template(count: Option<u32>) -> AnalysisTemplate {
        AnalysisTemplate {
            name: "error-rate".into(),
            provider: PluginName::new("prometheus").unwrap(),
            query: "q".into(),
            success: Some(Range { min: None, max: Some(0.05) }),
            failure: None,
            interval: Duration::from_secs(10),
            count,
            initial_delay: Duration::from_secs(5),
            failure_limit: 1,
            inconclusive_limit: 0,
            consecutive_error_limit: 1,
            no_data: NoData::Pause,
            dry_run: false,
            variables: Default::default(),
            location: Location { file: "r.toml".into(), line: 1, column: 1 },
        }
    }

    fn m(verdict: Measured) -> Measurement {
        Measurement { verdict, values: vec![], reason: verdict.as_str().into(), permanent: false }
    }

    #[test]
    fn a_run_measures_on_the_interval_grid_after_the_delay_and_fits_the_analysis_without_a_count() {
        let fixed = MetricRun::start(&template(Some(3)), 1_000, 31_000);
        assert_eq!((fixed.count, fixed.next_at_ms), (3, 16_000));
        let fitted = MetricRun::start(&template(None), 0, 60_000);
        assert_eq!(fitted.count, 5, "(60 s - 5 s) / 10 s");
        assert_eq!(MetricRun::start(&template(None), 0, 1_000).count, 1, "at least one");
        let mut run = fixed;
        assert!(!run.due(15_999) && run.due(16_000));
        run.record(&template(Some(3)), &m(Measured::Successful), 16_000);
        assert_eq!(run.next_at_ms, 26_000);
        run.record(&template(Some(3)), &m(Measured::Successful), 90_000);
        assert_eq!(run.next_at_ms, 100_000, "a late step measures once, then keeps the interval");
    }

    #[test]
    fn limits_end_a_run_failed_inconclusive_or_successful() {
        let t = template(Some(3));
        let mut run = MetricRun::start(&t, 0, 30_000);
        run.record(&t, &m(Measured::Failed), 15_000);
        assert_eq!(run.phase, MetricPhase::Running, "one failure is tolerated (failure-limit 1)");
        run.record(&t, &m(Measured::Failed), 25_000);
        assert_eq!(run.phase, MetricPhase::Failed);
        assert_eq!(run.reason.as_deref(), Some("2 of 2 measurements failed (failure-limit 1), last: failed"));

        let mut run = MetricRun::start(&t, 0, 30_000);
        run.record(&t, &m(Measured::Error), 15_000);
        run.record(&t, &m(Measured::Error), 25_000);
        assert_eq!(run.phase, MetricPhase::Inconclusive);
        assert!(run.reason.as_deref().unwrap().starts_with("2 errors in a row (consecutive-error-limit 1)"));

        let mut run = MetricRun::start(&t, 0, 30_000);
        run.record(&t, &m(Measured::Inconclusive), 15_000);
        assert_eq!(run.phase, MetricPhase::Inconclusive, "inconclusive-limit 0");

        let mut run = MetricRun::start(&t, 0, 30_000);
        for (i, v) in [Measured::Error, Measured::Successful, Measured::Failed].into_iter().enumerate() {
            run.record(&t, &m(v), 15_000 + 10_000 * i as u64);
        }
        assert_eq!(run.phase, MetricPhase::Successful, "an error between successes resets the streak");
        assert_eq!(
            run.summary("error-rate"),
            "error-rate successful: 3/3 measured (1 successful, 1 failed, 1 errors), last no value (failed)"
        );

        let mut permanent = m(Measured::Error);
        permanent.permanent = true;
        let mut run = MetricRun::start(&t, 0, 30_000);
        run.record(&t, &permanent, 15_000);
        assert_eq!(run.phase, MetricPhase::Inconclusive, "a query that cannot run is not retried");
    }

    #[test]
    fn a_run_without_one_successful_measurement_is_inconclusive() {
        let mut t = template(Some(1));
        t.failure_limit = 0;
        t.consecutive_error_limit = 4;
        let mut run = MetricRun::start(&t, 0, 30_000);
        run.record(&t, &m(Measured::Error), 15_000);
        assert_eq!(run.phase, MetricPhase::Inconclusive);
        assert!(run.reason.as_deref().unwrap().starts_with("none of 1 measurements was successful"));
    }
}
