//! Ending a step: completing the rollout, ending it, failing one that
//! cannot be read or observed, and storing what the step did.

use hoist_store::{DecisionKind, Phase, Rollout, Step};
use serde_json::{Value, json};

use super::{Pass, StepCtx, Tick, begin_rollback};
use crate::engine::memory::Memory;
use crate::engine::observe::Observed;
use crate::engine::{Engine, EngineError};
use crate::runtime::bindings::base::hoist::plugin::types::Weight;

impl Engine {
    /// The candidate is the new stable revision: full traffic to it, every
    /// other revision removed, lock released.
    pub(in crate::engine) async fn complete(&self, cx: StepCtx<'_>) -> Result<Tick, EngineError> {
        let StepCtx { mut r, mut mem, observed, now, mut pass } = cx;
        self.store.set_current(&r.service, &r.environment, &r.candidate)?;
        // All traffic to the new stable revision, whatever the strategy set,
        // so the old revisions drain before they are removed.
        mem.weights = vec![(r.candidate.clone(), 100)];
        if let Err(err) = self.traffic.set_weights(
            &r.service,
            &r.environment,
            &[Weight { revision: r.candidate.clone(), percent: 100 }],
        ) {
            pass.record(&r, now, DecisionKind::Apply, json!({ "weights": mem.weights }), Value::Null).error = Some(err);
        }
        for revision in revisions_other_than(observed, &mem, &r.candidate) {
            self.traffic.drain(&r.service, &r.environment, &revision).await;
            if let Err(err) = self.platform.remove(&r.service, &r.environment, &revision).await {
                pass.record(&r, now, DecisionKind::Apply, json!({ "remove": revision }), Value::Null).error = Some(err);
            }
            mem.replicas.remove(&revision);
        }
        r.phase = Phase::Completed;
        r.reason = None;
        pass.record(&r, now, DecisionKind::Complete, json!({ "stable": r.candidate }), Value::Null);
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::Done(Phase::Completed))
    }

    pub(in crate::engine) fn end(
        &self,
        mut r: Rollout,
        mut mem: Memory,
        phase: Phase,
        reason: String,
        now: u64,
        mut pass: Pass,
    ) -> Result<Tick, EngineError> {
        mem.rollback = None;
        r.phase = phase;
        r.status = format!("{phase}: {reason}");
        pass.record(&r, now, DecisionKind::ended(phase), Value::Null, Value::Null).reason = Some(reason.clone());
        r.reason = Some(reason);
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::Done(phase))
    }

    /// Ends a rollout whose stored intent cannot be read, visibly: failed,
    /// with the reason in its status and log, its instances left as they
    /// are (nothing can say what they should be) and the bad document kept.
    pub(in crate::engine) fn stop_unreadable(
        &self,
        mut r: Rollout,
        err: EngineError,
        now: u64,
    ) -> Result<Tick, EngineError> {
        let reason = err.to_string();
        let mut pass = Pass::default();
        pass.record(&r, now, DecisionKind::Error, Value::Null, Value::Null).error = Some(reason.clone());
        r.phase = Phase::Failed;
        r.status = format!("failed: {reason}; its instances were left as they are");
        r.reason = Some(reason);
        r.updated_at_ms = now;
        self.store.save_rollout_with(&r, &[], &pass.records)?;
        Ok(Tick::Done(Phase::Failed))
    }

    /// A step the platform cannot be observed for. Blind, nothing can be
    /// applied, but time still counts: the progress deadline passing starts
    /// a rollback (as it would with a platform that answers), and a rollback
    /// — an operator's abort included, recorded already — that cannot start
    /// before the rollback deadline ends the rollout as failed, leaving the
    /// instances as they are. Status says what is pending and why.
    pub(in crate::engine) fn unobservable(
        &self,
        mut r: Rollout,
        mut mem: Memory,
        err: String,
        now: u64,
        mut pass: Pass,
    ) -> Result<Tick, EngineError> {
        if mem.rollback.is_none() && r.deadline_ms.is_some_and(|d| now >= d) {
            let reason = format!(
                "progress deadline exceeded: not completed {} s after it started (the platform could not be observed: {err})",
                now.saturating_sub(r.started_at_ms) / 1000
            );
            begin_rollback(&mut mem, reason, Phase::RolledBack, now);
        }
        let status = match &mem.rollback {
            Some(rb) if now.saturating_sub(rb.started_ms) >= self.config.rollback_deadline_ms => {
                let reason = format!(
                    "{}; the rollback could not start: the platform has not answered for {} s ({err}); its instances were left as they are",
                    rb.reason,
                    (now - rb.started_ms) / 1000
                );
                return self.end(r, mem, Phase::Failed, reason, now, pass);
            }
            Some(rb) => format!(
                "rollback pending ({}): cannot observe the platform ({err}); it starts once the platform answers, or the rollout fails in {} s",
                rb.reason,
                (rb.started_ms + self.config.rollback_deadline_ms).saturating_sub(now) / 1000
            ),
            None => format!(
                "cannot observe the platform, retrying; the rollout goes on once it answers, or rolls back at its deadline in {} s: {err}",
                r.deadline_ms.map_or(0, |d| d.saturating_sub(now) / 1000)
            ),
        };
        // Once per distinct error, not once per poll of an outage.
        if !r.status.ends_with(&err) && !r.status.contains(&format!("({err})")) {
            pass.record(&r, now, DecisionKind::Error, Value::Null, Value::Null).error = Some(err);
        }
        r.status = status;
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::At(now + self.config.poll_ms))
    }

    /// Stores the pass with the rollout; its deploy lock is renewed (or, once
    /// it has ended, released) in the same transaction.
    pub(in crate::engine) fn persist(
        &self,
        r: &mut Rollout,
        mem: &Memory,
        now: u64,
        step: Option<Step>,
        pass: Pass,
    ) -> Result<(), EngineError> {
        r.intent = mem.to_json();
        r.wait = serde_json::to_value(&mem.wait).unwrap_or(Value::Null);
        r.updated_at_ms = now;
        match step {
            Some(mut step) => {
                step.commands = pass.commands;
                self.store.commit_step(r, &step, &pass.records)?;
            }
            None => {
                self.store.save_rollout_with(r, &pass.commands, &pass.records)?;
            }
        }
        Ok(())
    }
}

pub(in crate::engine) fn revisions_other_than(observed: &Observed, mem: &Memory, keep: &str) -> Vec<String> {
    let mut revs: Vec<String> = observed
        .instances
        .iter()
        .map(|i| i.revision.clone())
        .chain(mem.replicas.keys().cloned())
        .filter(|r| r != keep)
        .collect();
    revs.sort();
    revs.dedup();
    revs
}
