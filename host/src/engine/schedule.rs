//! When each active rollout takes its next step: at the time its last step
//! asked for (watched at least every `watch_ms`), at once on an operator
//! command or a new deployment, at once when its service's readiness
//! changes. One schedule serves the live driver (wall time), `hoist
//! simulate` and the stack tests (virtual time); only the clock differs.

use std::collections::{BTreeMap, BTreeSet};

use super::Tick;

/// A rollout's service, as readiness changes name it.
pub type ServiceKey = (String, String);

#[derive(Debug, Default)]
pub struct Schedule {
    /// When each active rollout wants its next step.
    due: BTreeMap<String, u64>,
    /// The service of each active rollout.
    owner: BTreeMap<String, ServiceKey>,
    /// Being stepped now.
    stepping: BTreeSet<String>,
    /// Asked for while being stepped: step again as soon as it ends.
    again: BTreeSet<String>,
    /// A rollout waiting longer is still stepped this often, so an instance
    /// that dies meanwhile is seen and replaced.
    watch_ms: u64,
}

/// How a step ended, for the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stepped {
    Tick(Tick),
    /// It failed inside Hoist; try again after this long.
    Retry(u64),
}

impl Schedule {
    pub fn new(watch_ms: u64) -> Self {
        Self { watch_ms, ..Self::default() }
    }

    /// The rollouts now active: new ones are due at once, ended ones
    /// forgotten (unless a step of theirs is under way).
    pub fn track(&mut self, active: impl IntoIterator<Item = (String, ServiceKey)>, now: u64) {
        self.owner = active.into_iter().collect();
        let (owner, stepping) = (&self.owner, &self.stepping);
        self.due.retain(|id, _| owner.contains_key(id) || stepping.contains(id));
        for id in self.owner.keys() {
            self.due.entry(id.clone()).or_insert(now);
        }
    }

    /// The rollouts due by `now` that are not being stepped, at most
    /// `limit` in all being stepped; they count as being stepped until
    /// `finished`.
    pub fn take_due(&mut self, now: u64, limit: usize) -> Vec<String> {
        let room = limit.saturating_sub(self.stepping.len());
        let ready: Vec<String> = self
            .due
            .iter()
            .filter(|(id, at)| **at <= now && !self.stepping.contains(*id))
            .map(|(id, _)| id.clone())
            .take(room)
            .collect();
        self.stepping.extend(ready.iter().cloned());
        ready
    }

    /// Rollouts being stepped.
    pub fn stepping(&self) -> usize {
        self.stepping.len()
    }

    /// A step of `id` ended at `now`.
    pub fn finished(&mut self, id: &str, stepped: Stepped, now: u64) {
        self.stepping.remove(id);
        let next = match stepped {
            Stepped::Tick(Tick::At(t)) => t.min(now.saturating_add(self.watch_ms)),
            Stepped::Tick(Tick::Operator) => u64::MAX,
            Stepped::Tick(Tick::Done(_)) => {
                self.due.remove(id);
                self.again.remove(id);
                return;
            }
            Stepped::Retry(ms) => now.saturating_add(ms),
        };
        let next = if self.again.remove(id) { now } else { next };
        self.due.insert(id.to_string(), next);
    }

    /// An operator command or a new rollout: every rollout is due now.
    pub fn poke(&mut self, now: u64) {
        for at in self.due.values_mut() {
            *at = (*at).min(now);
        }
        self.again.extend(self.stepping.iter().cloned());
    }

    /// The readiness of these services changed: their rollouts are due now.
    pub fn changed(&mut self, services: &BTreeSet<ServiceKey>, now: u64) {
        for (id, at) in self.due.iter_mut() {
            if self.owner.get(id).is_some_and(|key| services.contains(key)) {
                *at = (*at).min(now);
                if self.stepping.contains(id) {
                    self.again.insert(id.clone());
                }
            }
        }
    }

    /// When the next rollout not being stepped is due; `None` when every
    /// one waits for an operator (or none is active).
    pub fn next_due(&self) -> Option<u64> {
        self.due.iter().filter(|(id, at)| !self.stepping.contains(*id) && **at != u64::MAX).map(|(_, t)| *t).min()
    }

    /// Whether rollout `id` is scheduled at all.
    pub fn contains(&self, id: &str) -> bool {
        self.due.contains_key(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ServiceKey {
        (s.to_string(), "prod".to_string())
    }

    #[test]
    fn a_new_rollout_is_due_at_once_and_then_when_it_asks_but_watched() {
        let mut s = Schedule::new(5_000);
        s.track([("r1".to_string(), key("api"))], 100);
        assert_eq!(s.take_due(100, 16), ["r1"]);
        assert!(s.take_due(100, 16).is_empty(), "a rollout being stepped is not stepped twice");
        s.finished("r1", Stepped::Tick(Tick::At(60_000)), 200);
        assert_eq!(s.next_due(), Some(5_200), "a long wait is watched every watch_ms");
        s.finished("r1", Stepped::Tick(Tick::At(300)), 200);
        assert_eq!(s.next_due(), Some(300));
    }

    #[test]
    fn an_operator_wait_sleeps_until_poked_and_an_ended_rollout_is_forgotten() {
        let mut s = Schedule::new(5_000);
        s.track([("r1".to_string(), key("api"))], 0);
        s.take_due(0, 16);
        s.finished("r1", Stepped::Tick(Tick::Operator), 10);
        assert_eq!(s.next_due(), None);
        s.poke(20);
        assert_eq!(s.take_due(20, 16), ["r1"]);
        s.finished("r1", Stepped::Tick(Tick::Done(hoist_store::Phase::Completed)), 30);
        assert!(!s.contains("r1"));
    }

    #[test]
    fn a_poke_or_a_readiness_change_during_a_step_steps_again_at_once() {
        let mut s = Schedule::new(5_000);
        s.track([("r1".to_string(), key("api")), ("r2".to_string(), key("db"))], 0);
        assert_eq!(s.take_due(0, 16).len(), 2);
        s.changed(&BTreeSet::from([key("api")]), 5);
        s.finished("r1", Stepped::Tick(Tick::At(1_000)), 10);
        s.finished("r2", Stepped::Tick(Tick::At(1_000)), 10);
        assert_eq!(s.take_due(10, 16), ["r1"], "only the changed service's rollout");
    }

    #[test]
    fn the_limit_bounds_steps_in_flight_and_a_failed_step_backs_off() {
        let mut s = Schedule::new(5_000);
        s.track((0..5).map(|i| (format!("r{i}"), key("api"))), 0);
        assert_eq!(s.take_due(0, 2).len(), 2);
        assert!(s.take_due(0, 2).is_empty());
        s.finished("r0", Stepped::Retry(4_000), 0);
        assert_eq!(s.take_due(0, 2).len(), 1);
        assert_eq!(s.stepping(), 2);
        s.track([("r0".to_string(), key("api"))], 0);
        assert_eq!(s.next_due(), Some(4_000), "untracked rollouts are dropped once their steps end");
    }
}
