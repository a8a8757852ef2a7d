//! Making the platform and traffic match the stored intent, and judging
//! the platform faults met doing it.

use hoist_store::{DecisionKind, Rollout};
use serde_json::{Value, json};

use super::Pass;
use crate::engine::Engine;
use crate::engine::memory::Memory;
use crate::engine::observe::Observed;
use crate::engine::platform_faults::{Judgement, judge};
use crate::engine::ports::PlatformFault;
use crate::runtime::bindings::base::hoist::plugin::types::Weight;

impl Engine {
    /// Makes the platform and traffic match the stored intent (idempotent).
    /// Order matters for zero downtime: instances are added before traffic
    /// moves onto them, and taken away only after traffic has left them (a
    /// revision going to zero is drained on the router first).
    pub(in crate::engine) async fn reconcile(
        &self,
        r: &Rollout,
        mem: &Memory,
        observed: &Observed,
        now: u64,
        pass: &mut Pass,
    ) {
        // Ended instances (a killed container, a crashed process) do not
        // count: the platform's `ensure` clears and replaces them.
        let (ups, downs): (Vec<_>, Vec<_>) = mem
            .replicas
            .iter()
            .filter(|(revision, replicas)| observed.needs_ensure(revision, **replicas))
            .partition(|(revision, replicas)| **replicas > observed.live(revision));
        for (revision, replicas) in ups {
            self.scale(r, revision, *replicas, now, pass).await;
        }
        if !mem.weights.is_empty() {
            let want: Vec<Weight> = mem
                .weights
                .iter()
                .map(|(revision, percent)| Weight { revision: revision.clone(), percent: *percent })
                .collect();
            if observed.weights != want
                && let Err(err) = self.traffic.set_weights(&r.service, &r.environment, &want)
            {
                let rec = pass.record(r, now, DecisionKind::Apply, json!({ "weights": mem.weights }), Value::Null);
                rec.error = Some(err);
            }
        }
        for (revision, replicas) in downs {
            if *replicas == 0 && !mem.weights.iter().any(|(rev, w)| rev == revision && *w > 0) {
                self.traffic.drain(&r.service, &r.environment, revision).await;
            }
            self.scale(r, revision, *replicas, now, pass).await;
        }
    }

    pub(in crate::engine) async fn scale(&self, r: &Rollout, revision: &str, replicas: u32, now: u64, pass: &mut Pass) {
        let result = match self.spec_of(&r.service, &r.environment, revision) {
            Ok((spec, _)) => self.platform.ensure(&spec, replicas).await,
            Err(e) => Err(PlatformFault::Failed(e.to_string())),
        };
        if let Err(err) = result {
            let rec = pass.record(
                r,
                now,
                DecisionKind::Apply,
                json!({ "scale": revision, "replicas": replicas }),
                Value::Null,
            );
            rec.error = Some(err.to_string());
            pass.faults.push((revision.to_string(), err));
        }
    }

    /// Judges the platform faults of a reconciliation: a reason to roll
    /// back, or the status to show while retrying.
    pub(in crate::engine) fn judge_platform(
        &self,
        r: &mut Rollout,
        mem: &mut Memory,
        pass: &mut Pass,
        now: u64,
    ) -> Option<String> {
        match judge(mem, &pass.faults, now, &self.config) {
            Judgement::Fine => None,
            Judgement::Retry(status) => {
                r.status = status;
                None
            }
            Judgement::GiveUp(reason) => Some(reason),
        }
    }
}

/// Records each ended instance (a killed container, a crashed process) of
/// a revision that should run: the reconciliation then replaces it.
pub(in crate::engine) fn note_ended(r: &Rollout, mem: &Memory, observed: &Observed, now: u64, pass: &mut Pass) {
    for i in observed.ended() {
        if mem.replicas.get(&i.revision).is_some_and(|n| *n > 0) {
            let state = crate::engine::observe::state_text(&i.state);
            let input = json!({ "revision": i.revision, "instance": i.id, "state": state });
            pass.record(r, now, DecisionKind::Instance, input, Value::Null).reason =
                Some(format!("instance {} of {} has {state}; the platform replaces it", i.id, i.revision));
        }
    }
}
