//! A target's health and the threshold rules that move it, without I/O.

use std::time::{Duration, Instant};

use crate::check::ProbeResult;
use crate::spec::ProbeSpec;

/// What the prober believes about one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    /// Enough consecutive successes, and not enough failures since.
    pub ready: bool,
    /// When it last became ready; `None` while not ready.
    pub ready_since: Option<Instant>,
    pub consecutive_successes: u32,
    pub consecutive_failures: u32,
    /// The last probe's detail, or "not probed yet".
    pub last_detail: String,
    pub last_probe: Option<Instant>,
    pub probes: u64,
    /// Set when the target missed its healthy deadline; it is no longer probed.
    pub failed: Option<String>,
}

impl TargetHealth {
    pub(crate) fn new() -> Self {
        TargetHealth {
            ready: false,
            ready_since: None,
            consecutive_successes: 0,
            consecutive_failures: 0,
            last_detail: "not probed yet".to_string(),
            last_probe: None,
            probes: 0,
            failed: None,
        }
    }

    /// How long it has been ready at `now`; `None` when not ready.
    pub fn ready_for(&self, now: Instant) -> Option<Duration> {
        self.ready_since.filter(|_| self.ready).map(|since| now.saturating_duration_since(since))
    }

    /// Apply one probe result taken at `at` under `spec`'s thresholds.
    pub(crate) fn record(&mut self, result: &ProbeResult, at: Instant, spec: &ProbeSpec) {
        self.probes += 1;
        self.last_probe = Some(at);
        self.last_detail.clone_from(&result.detail);
        if result.ok {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
            if !self.ready && self.consecutive_successes >= spec.success_threshold.get() {
                self.ready = true;
                self.ready_since = Some(at);
            }
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
            if self.ready && self.consecutive_failures >= spec.failure_threshold.get() {
                self.ready = false;
                self.ready_since = None;
            }
        }
    }

    /// Give up on the target: it missed its healthy deadline.
    pub(crate) fn fail(&mut self, reason: String) {
        self.ready = false;
        self.ready_since = None;
        self.failed = Some(reason);
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn run(spec: &ProbeSpec, outcomes: &str) -> Vec<bool> {
        let mut health = TargetHealth::new();
        let t0 = Instant::now();
        outcomes
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let result = ProbeResult { ok: c == '+', detail: c.to_string(), elapsed: Duration::ZERO };
                health.record(&result, t0 + Duration::from_secs(i as u64), spec);
                health.ready
            })
            .collect()
    }

    fn spec(success: u32, failure: u32) -> ProbeSpec {
        ProbeSpec {
            success_threshold: NonZeroU32::new(success).unwrap(),
            failure_threshold: NonZeroU32::new(failure).unwrap(),
            ..ProbeSpec::tcp()
        }
    }

    fn ready_string(spec: &ProbeSpec, outcomes: &str) -> String {
        run(spec, outcomes).into_iter().map(|r| if r { 'R' } else { '.' }).collect()
    }

    #[test]
    fn success_threshold_needs_consecutive_successes() {
        assert_eq!(ready_string(&spec(3, 1), "++-+++"), ".....R");
        assert_eq!(ready_string(&spec(1, 3), "-+"), ".R");
    }

    #[test]
    fn failure_threshold_needs_consecutive_failures() {
        assert_eq!(ready_string(&spec(1, 3), "+--+---+"), "RRRRRR.R");
    }

    #[test]
    fn flapping_never_satisfies_two_and_two() {
        assert_eq!(ready_string(&spec(2, 2), "+-+-+-+-"), "........");
        // Once ready under 1/3, flapping never takes it down.
        assert_eq!(ready_string(&spec(1, 3), "+-+-+-+-"), "RRRRRRRR");
    }

    #[test]
    fn ready_since_tracks_the_latest_transition() {
        let s = spec(1, 1);
        let mut health = TargetHealth::new();
        let t0 = Instant::now();
        let ok = ProbeResult { ok: true, detail: "ok".into(), elapsed: Duration::ZERO };
        let bad = ProbeResult { ok: false, detail: "bad".into(), elapsed: Duration::ZERO };
        health.record(&ok, t0, &s);
        health.record(&ok, t0 + Duration::from_secs(1), &s);
        assert_eq!(health.ready_since, Some(t0));
        assert_eq!(health.ready_for(t0 + Duration::from_secs(5)), Some(Duration::from_secs(5)));
        health.record(&bad, t0 + Duration::from_secs(2), &s);
        assert_eq!((health.ready, health.ready_for(t0)), (false, None));
        health.record(&ok, t0 + Duration::from_secs(3), &s);
        assert_eq!(health.ready_since, Some(t0 + Duration::from_secs(3)));
        assert_eq!((health.probes, health.last_detail.as_str()), (4, "ok"));
    }
}
