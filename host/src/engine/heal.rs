//! Desired state held at rest: a service with no rollout in flight keeps
//! its replica count. An instance that exits is replaced through the
//! platform per the service's restart policy, with a capped exponential
//! backoff between attempts, so a crash loop is visible and cheap instead
//! of a restart storm. Every replacement is a decision-log record with the
//! reason, and the backoff is rebuilt from those records when the control
//! plane starts (`restore_healing`), so a restart does not reset it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hoist_store::{DecisionKind, DecisionRecord, Revision, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Engine, ServiceSpec};
use crate::runtime::bindings::base::hoist::plugin::types::{Instance, InstanceState};

/// First wait between restarts of a crashing service; doubles each time.
pub const BACKOFF_START_MS: u64 = 1_000;
/// Longest wait between restarts.
pub const BACKOFF_MAX_MS: u64 = 5 * 60_000;
/// A service whose instances all ran this long is no longer crash-looping.
pub const STABLE_AFTER_MS: u64 = 60_000;

/// When a service's exited instances are replaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Whatever way it ended.
    #[default]
    Always,
    /// Unless it exited with code 0.
    OnFailure,
    /// Never: an exited instance stays exited.
    No,
}

/// What healing knows about one service at rest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HealState {
    /// Instances replaced (counted on across control-plane restarts).
    pub restarts: u32,
    /// Replacements since the service was last stable.
    pub attempts: u32,
    /// Not before this time is the next replacement made.
    pub next_at_ms: u64,
    /// How the last replaced instance ended.
    pub last_exit: Option<String>,
    /// Since when every instance has been running, if they all are.
    pub running_since_ms: Option<u64>,
}

impl HealState {
    /// Replaced more than once without ever becoming stable.
    pub fn crash_looping(&self) -> bool {
        self.attempts > 1
    }
}

/// Healing state of every service at rest.
#[derive(Default)]
pub struct Healing(Mutex<BTreeMap<(String, String), HealState>>);

impl Healing {
    pub fn of(&self, service: &str, environment: &str) -> Option<HealState> {
        self.lock().get(&(service.to_string(), environment.to_string())).cloned()
    }

    /// The earliest time after `now` a service waits for to be replaced
    /// (its backoff), so the at-rest loop wakes then rather than at its poll.
    pub fn next_due(&self, now_ms: u64) -> Option<u64> {
        self.lock().values().map(|h| h.next_at_ms).filter(|t| *t > now_ms).min()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), HealState>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What a heal record's input says of the backoff (`Engine::heal` writes it).
#[derive(Deserialize)]
struct Recorded {
    restarts: u32,
    attempts: u32,
    last_exit: String,
    /// Records written before it was recorded have the record's time plus
    /// the backoff.
    #[serde(default)]
    next_at_ms: Option<u64>,
}

/// The state a heal record made at `at_ms` leaves at `now_ms`. A service
/// that needed no replacement for [`STABLE_AFTER_MS`] past the end of that
/// backoff has been stable (or unwatched: then its backoff starts afresh,
/// as for a service found broken).
fn restored(recorded: Recorded, at_ms: u64, now_ms: u64) -> HealState {
    let next_at_ms = recorded.next_at_ms.unwrap_or_else(|| at_ms.saturating_add(backoff(recorded.attempts)));
    let stable = now_ms >= next_at_ms.saturating_add(STABLE_AFTER_MS);
    HealState {
        restarts: recorded.restarts,
        attempts: if stable { 0 } else { recorded.attempts },
        next_at_ms,
        last_exit: Some(recorded.last_exit),
        running_since_ms: None,
    }
}

fn backoff(attempts: u32) -> u64 {
    BACKOFF_START_MS.saturating_mul(1u64 << attempts.saturating_sub(1).min(20)).min(BACKOFF_MAX_MS)
}

impl Engine {
    /// Rebuilds healing from the last heal record of each service, so a
    /// restarted control plane keeps each service's backoff and restart
    /// count instead of replacing every crash-looping instance at once.
    ///
    /// A record whose input cannot be read is not taken as a fresh start:
    /// it is reported (an error log and an `error` record of the service)
    /// and the service's next replacement waits the longest backoff, the
    /// safe side of a crash loop. The control plane still starts: the log
    /// is append-only, so refusing would refuse for good. A store that
    /// cannot be read is an error.
    pub fn restore_healing(&self) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut unreadable = Vec::new();
        {
            let mut all = self.healing.lock();
            for record in self.store.latest_records(DecisionKind::Heal)? {
                let key = (record.service.clone(), record.environment.clone());
                let state = match serde_json::from_value::<Recorded>(record.input.clone()) {
                    Ok(recorded) => restored(recorded, record.at_ms, now),
                    Err(err) => {
                        unreadable.push((record, err.to_string()));
                        HealState { next_at_ms: now.saturating_add(BACKOFF_MAX_MS), ..HealState::default() }
                    }
                };
                all.insert(key, state);
            }
        }
        for (record, err) in unreadable {
            let message = format!(
                "the last heal record of `{}` in `{}` (seq {}) cannot be read ({err}); its backoff is unknown, so its next replacement waits {} s",
                record.service,
                record.environment,
                record.seq,
                BACKOFF_MAX_MS / 1000
            );
            tracing::error!(service = %record.service, environment = %record.environment, "{message}");
            let report = DecisionRecord {
                input: json!({ "heal_record": record.seq }),
                error: Some(message),
                reason: Some("restoring the heal backoff at start".into()),
                ..DecisionRecord::new(&record.service, &record.environment, now, DecisionKind::Error)
            };
            if let Err(err) = self.store.append_record(&report) {
                tracing::error!(service = %record.service, "cannot record it either: {err}");
            }
        }
        Ok(())
    }

    /// Replaces the exited instances of `rev`, a service at rest, when its
    /// policy and backoff allow.
    pub(super) async fn heal(&self, rev: &Revision, spec: &ServiceSpec, instances: &[Instance]) {
        let now = self.clock.now_ms();
        let key = (rev.service.clone(), rev.environment.clone());
        let mine: Vec<&Instance> = instances.iter().filter(|i| i.revision == rev.id).collect();
        let exited: Vec<&str> = mine
            .iter()
            .filter_map(|i| match &i.state {
                InstanceState::Exited(how) => Some(how.as_str()),
                _ => None,
            })
            .collect();
        let alive = mine.len() - exited.len();
        let missing = (spec.replicas as usize).saturating_sub(alive);
        let wanted = match spec.restart {
            RestartPolicy::Always => missing > 0,
            RestartPolicy::OnFailure => missing > 0 && !exited.iter().all(|how| crate::exits::succeeded(how)),
            RestartPolicy::No => false,
        };
        // The current revision was read before the instances were listed:
        // read it again, so instances stopped by a stack rollback (which
        // makes the service not current before it stops them) are not
        // replaced and left orphaned.
        if wanted && self.store.current(&rev.service, &rev.environment).ok().flatten().is_none_or(|c| c.id != rev.id) {
            return;
        }
        let state = {
            let mut all = self.healing.lock();
            let state = all.entry(key.clone()).or_default();
            if missing == 0 {
                let since = *state.running_since_ms.get_or_insert(now);
                if now.saturating_sub(since) >= STABLE_AFTER_MS {
                    state.attempts = 0;
                }
                return;
            }
            state.running_since_ms = None;
            if !wanted || now < state.next_at_ms {
                return;
            }
            state.attempts = state.attempts.saturating_add(1);
            state.restarts = state.restarts.saturating_add(1);
            state.next_at_ms = now.saturating_add(backoff(state.attempts));
            state.last_exit = exited.first().map(|s| s.to_string()).or_else(|| Some("gone from the platform".into()));
            state.clone()
        };
        let how = state.last_exit.clone().unwrap_or_default();
        let reason = format!(
            "{missing} of {} instance(s) of {} not running (last: {how}); replacing, restart {} (next not before {} s)",
            spec.replicas,
            rev.id,
            state.restarts,
            backoff(state.attempts) / 1000
        );
        let result = match self.spec_of(&rev.service, &rev.environment, &rev.id) {
            Ok((revision_spec, replicas)) => {
                self.platform.ensure(&revision_spec, replicas).await.map_err(|e| e.to_string())
            }
            Err(err) => Err(err.to_string()),
        };
        tracing::warn!(service = %rev.service, environment = %rev.environment, "{reason}");
        let record = DecisionRecord {
            input: json!({
                "revision": rev.id,
                "missing": missing,
                "last_exit": how,
                "restarts": state.restarts,
                "attempts": state.attempts,
                "next_at_ms": state.next_at_ms,
            }),
            error: result.err(),
            reason: Some(reason),
            ..DecisionRecord::new(&rev.service, &rev.environment, now, DecisionKind::Heal)
        };
        if let Err(err) = self.store.append_record(&record) {
            tracing::error!(service = %rev.service, "cannot record a replacement: {err}");
        }
    }
}
