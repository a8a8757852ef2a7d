//! The host's own paths: rolling back to the stable revision (an abort,
//! a failed verdict, a deadline), and `rollback --to` fast-tracked.

use hoist_store::{DecisionKind, Phase, Rollout};
use serde_json::{Value, json};

use super::{StepCtx, Tick};
use crate::engine::memory::{Memory, RollbackProgress, Wait};
use crate::engine::{Engine, EngineError};
use crate::runtime::bindings::base::hoist::plugin::types::Weight;

impl Engine {
    /// Restores the stable revision at full size with all traffic, then
    /// removes the candidate. Traffic moves back as soon as one stable
    /// instance is ready.
    pub(in crate::engine) async fn rollback_step(&self, cx: StepCtx<'_>) -> Result<Tick, EngineError> {
        let StepCtx { mut r, mut mem, observed, now, mut pass } = cx;
        let Some(mut rb) = mem.rollback.clone() else { return Ok(self.next(&r, &mem, now)) };
        mem.analysis = None;
        let outcome = rb.outcome;
        let Some(stable) = r.stable.clone() else {
            // A first deployment has nothing to return to: remove it, and
            // its front door with it.
            if let Err(err) = self.platform.remove(&r.service, &r.environment, &r.candidate).await {
                pass.record(&r, now, DecisionKind::Apply, json!({ "remove": r.candidate }), Value::Null).error =
                    Some(err);
            }
            self.traffic.detach(&r.service, &r.environment);
            mem.replicas.clear();
            return self.end(r, mem, outcome, rb.reason, now, pass);
        };
        let (_, replicas) = self.spec_of(&r.service, &r.environment, &stable)?;
        mem.replicas.insert(stable.clone(), replicas);
        mem.replicas.remove(&r.candidate);
        let ready = observed.ready(&stable);
        if observed.needs_ensure(&stable, replicas) {
            let (spec, _) = self.spec_of(&r.service, &r.environment, &stable)?;
            if let Err(err) = self.platform.ensure(&spec, replicas).await {
                pass.record(
                    &r,
                    now,
                    DecisionKind::Apply,
                    json!({ "scale": stable, "replicas": replicas }),
                    Value::Null,
                )
                .error = Some(err.to_string());
            }
        }
        if !rb.switched && ready >= 1 {
            mem.weights = vec![(stable.clone(), 100)];
            let weights = [Weight { revision: stable.clone(), percent: 100 }];
            match self.traffic.set_weights(&r.service, &r.environment, &weights) {
                Ok(()) => {
                    rb.switched = true;
                    pass.record(
                        &r,
                        now,
                        DecisionKind::Rollback,
                        json!({ "weights": { stable.as_str(): 100 } }),
                        Value::Null,
                    )
                    .reason = Some(rb.reason.clone());
                }
                Err(err) => {
                    pass.record(&r, now, DecisionKind::Apply, json!({ "weights": mem.weights }), Value::Null).error =
                        Some(err)
                }
            }
        }
        if rb.switched && ready >= replicas {
            self.traffic.drain(&r.service, &r.environment, &r.candidate).await;
            if let Err(err) = self.platform.remove(&r.service, &r.environment, &r.candidate).await {
                pass.record(&r, now, DecisionKind::Apply, json!({ "remove": r.candidate }), Value::Null).error =
                    Some(err);
                mem.rollback = Some(rb);
                self.persist(&mut r, &mem, now, None, pass)?;
                return Ok(Tick::At(now + self.config.poll_ms));
            }
            return self.end(r, mem, outcome, rb.reason, now, pass);
        }
        if now.saturating_sub(rb.started_ms) >= self.config.rollback_deadline_ms {
            let reason = format!(
                "rollback could not restore {stable}: {ready}/{replicas} ready after {} s ({}); the candidate is kept running",
                (now - rb.started_ms) / 1000,
                rb.reason
            );
            return self.end(r, mem, Phase::Failed, reason, now, pass);
        }
        r.status = format!("rolling back ({}): {stable} {ready}/{replicas} ready", rb.reason);
        mem.rollback = Some(rb);
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::At(now + self.config.poll_ms))
    }

    /// `rollback --to REV`: the host scales the target to full size, moves
    /// traffic to it once it serves, and removes every other revision.
    pub(in crate::engine) async fn fast_track_step(&self, cx: StepCtx<'_>) -> Result<Tick, EngineError> {
        let StepCtx { mut r, mut mem, observed, now, mut pass } = cx;
        let target = r.candidate.clone();
        let (spec, replicas) = self.spec_of(&r.service, &r.environment, &target)?;
        mem.replicas.insert(target.clone(), replicas);
        let mut error = None;
        if observed.needs_ensure(&target, replicas)
            && let Err(err) = self.platform.ensure(&spec, replicas).await
        {
            let err = err.to_string();
            pass.record(&r, now, DecisionKind::Apply, json!({ "scale": target, "replicas": replicas }), Value::Null)
                .error = Some(err.clone());
            error = Some(err);
        }
        let ready = observed.ready(&target);
        if ready >= replicas {
            return self.complete(StepCtx { r, mem, observed, now, pass }).await;
        }
        // Like an abort, a rollback moves traffic as soon as it can serve.
        if ready > 0 && mem.weights != [(target.clone(), 100)] {
            mem.weights = vec![(target.clone(), 100)];
            let weights = [Weight { revision: target.clone(), percent: 100 }];
            if let Err(err) = self.traffic.set_weights(&r.service, &r.environment, &weights) {
                pass.record(
                    &r,
                    now,
                    DecisionKind::Apply,
                    json!({ "weights": { target.as_str(): 100 } }),
                    Value::Null,
                )
                .error = Some(err.clone());
                error = Some(err);
            }
        }
        r.status = match error {
            Some(err) => format!("rollback to {target}: {ready}/{replicas} ready; retrying: {err}"),
            None => format!("rollback to {target}: {ready}/{replicas} ready"),
        };
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::At(now + self.config.poll_ms))
    }
}

pub(in crate::engine) fn begin_rollback(mem: &mut Memory, reason: String, outcome: Phase, now: u64) {
    mem.rollback = Some(RollbackProgress {
        reason,
        started_ms: now,
        switched: false,
        outcome: match outcome {
            Phase::Aborted | Phase::Failed => outcome,
            _ => Phase::RolledBack,
        },
    });
    mem.analysis = None;
    mem.wait = Wait::Now;
}

/// A rollout the platform cannot carry: rolled back to its stable revision,
/// or failed when there is none to return to.
pub(in crate::engine) fn failed_outcome(r: &Rollout) -> Phase {
    if r.stable.is_some() { Phase::RolledBack } else { Phase::Failed }
}
