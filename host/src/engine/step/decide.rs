//! The strategy's decision: its context built from the rollout, its
//! answer recorded, its actions turned into the stored intent.

use hoist_store::{DecisionKind, Phase, Rollout, Step};
use serde_json::Value;

use super::{Pass, StepCtx, Tick, begin_rollback, failed_outcome};
use crate::engine::analysis::verdict_of;
use crate::engine::memory::{Memory, PendingAnalysis, StrategyCommand, Wait};
use crate::engine::observe::Observed;
use crate::engine::{CallFailure, Engine, EngineError};
use crate::runtime::bindings::base::hoist::plugin::types::Revision;
use crate::runtime::bindings::strategy::exports::hoist::plugin::strategy::{
    Action, AnalysisResult, Context, Observation, WaitFor,
};

impl Engine {
    pub(in crate::engine) async fn decide(&self, cx: StepCtx<'_>) -> Result<Tick, EngineError> {
        let StepCtx { mut r, mut mem, observed, now, mut pass } = cx;
        let strategy = self.strategy_for(&r.environment, &r.strategy)?.clone();
        let ctx = self.context(&r, &mem, observed, &strategy.config, now)?;
        let input = serde_json::to_value(&ctx).unwrap_or(Value::Null);
        let called = strategy.plugin.decide(&ctx).await;
        if let Some(elapsed) = called.elapsed {
            self.stats.plugin_time(elapsed);
        }
        let rec = pass.record(&r, now, DecisionKind::Decide, input, Value::Null);
        rec.plugin_output = called.printed;
        rec.plugin = Some(strategy.plugin.name().to_string());
        rec.plugin_digest = Some(strategy.plugin.digest().to_string());
        rec.operator = mem.command.map(|_| "operator".to_string());
        let decision = called.outcome.map_err(|failure| match failure {
            CallFailure::Refused(e) => format!("strategy `{}` refused: {e}", r.strategy),
            CallFailure::Fault(e) => e,
        });
        let decision = match decision {
            Ok(d) => d,
            Err(err) => {
                if let Some(rec) = pass.records.last_mut() {
                    rec.error = Some(err.clone());
                }
                mem.faults += 1;
                if mem.faults >= self.config.max_faults {
                    let reason = format!("strategy failed {} times in a row, last: {err}", mem.faults);
                    begin_rollback(&mut mem, reason, Phase::RolledBack, now);
                    return self.rollback_step(StepCtx { r, mem, observed, now, pass }).await;
                }
                r.status = format!("decision failed ({}/{}): {err}", mem.faults, self.config.max_faults);
                mem.wait = Wait::Until { at_ms: now + self.config.poll_ms };
                self.persist(&mut r, &mem, now, None, pass)?;
                return Ok(self.next(&r, &mem, now));
            }
        };
        if let Some(rec) = pass.records.last_mut() {
            rec.output = serde_json::to_value(&decision).unwrap_or(Value::Null);
        }
        mem.faults = 0;
        mem.command = None;
        mem.wait = Wait::Until { at_ms: now + self.config.poll_ms };
        let mut complete = false;
        let mut rollback = None;
        for action in &decision.actions {
            match action {
                Action::Scale(s) => {
                    mem.replicas.insert(s.revision.clone(), s.replicas);
                }
                Action::SetWeights(w) => {
                    mem.weights = w.iter().map(|w| (w.revision.clone(), w.percent)).collect();
                }
                Action::RunAnalysis(a) => {
                    let mut pending = PendingAnalysis::new(&a.name, now, a.duration);
                    self.start_metrics(&r.environment, &mut pending);
                    mem.held = None;
                    mem.analysis = Some(pending);
                }
                Action::Wait(WaitFor::Duration(ms)) => mem.wait = Wait::Until { at_ms: now + ms },
                Action::Wait(WaitFor::Ready(t)) => {
                    mem.wait = Wait::Ready { revision: t.revision.clone(), count: t.count, since_ms: now }
                }
                Action::Wait(WaitFor::Operator(reason)) => mem.wait = Wait::Operator { reason: reason.clone() },
                Action::Complete => complete = true,
                Action::Rollback(reason) => rollback = Some(reason.clone()),
            }
        }
        // The outcome is part of the intent: a restart must finish it, not
        // ask again.
        if let Some(reason) = &rollback {
            begin_rollback(&mut mem, reason.clone(), Phase::RolledBack, now);
        }
        mem.completing = complete && rollback.is_none();
        r.plugin_state = Some(decision.state.clone());
        r.status = decision.status.clone();
        r.step += 1;
        let step = Step {
            rollout_id: r.id.clone(),
            seq: r.step,
            at_ms: now,
            actions: serde_json::to_value(&decision.actions).unwrap_or(Value::Null),
            status: decision.status.clone(),
            observed: observed.summary(),
            commands: vec![],
        };
        // Written before acted on.
        self.persist(&mut r, &mem, now, Some(step), pass)?;
        self.stats.decisions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.config.halt_after_step == Some(r.step) {
            return Err(EngineError::Halted(r.step));
        }

        let mut pass = Pass::default();
        if mem.rollback.is_some() {
            return self.rollback_step(StepCtx { r, mem, observed, now, pass }).await;
        }
        self.reconcile(&r, &mem, observed, now, &mut pass).await;
        if let Some(reason) = self.judge_platform(&mut r, &mut mem, &mut pass, now) {
            begin_rollback(&mut mem, reason, failed_outcome(&r), now);
            return self.rollback_step(StepCtx { r, mem, observed, now, pass }).await;
        }
        if mem.completing {
            return self.complete(StepCtx { r, mem, observed, now, pass }).await;
        }
        if !pass.records.is_empty() {
            self.persist(&mut r, &mem, now, None, pass)?;
        }
        Ok(self.next(&r, &mem, now))
    }

    pub(in crate::engine) fn context(
        &self,
        r: &Rollout,
        mem: &Memory,
        observed: &Observed,
        config: &str,
        now: u64,
    ) -> Result<Context, EngineError> {
        let revision = |id: &str| -> Result<Revision, EngineError> {
            let rev = self.store.revision(&r.service, &r.environment, id)?;
            Ok(Revision { id: id.into(), version: rev.map(|r| r.version).unwrap_or_default(), extensions: vec![] })
        };
        // The candidate read once: its version, its replicas, and its own
        // strategy settings over the environment's.
        let candidate = self.store.revision(&r.service, &r.environment, &r.candidate)?.ok_or_else(|| {
            EngineError::UnknownRevision {
                service: r.service.clone(),
                environment: r.environment.clone(),
                revision: r.candidate.clone(),
            }
        })?;
        let spec = crate::engine::stored_spec(&candidate)?;
        let command = mem.command.map(StrategyCommand::to_wit);
        Ok(Context {
            rollout_id: r.id.clone(),
            service: r.service.clone(),
            environment: r.environment.clone(),
            stable: match &r.stable {
                Some(id) => Some(revision(id)?),
                None => None,
            },
            candidate: Revision { id: candidate.id.clone(), version: candidate.version.clone(), extensions: vec![] },
            replicas: spec.replicas,
            config: crate::engine::strategy_config::merged(config, spec.strategy_config.as_ref()),
            state: r.plugin_state.clone(),
            now_ms: now,
            started_at_ms: r.started_at_ms,
            observed: Observation {
                instances: observed.instances.clone(),
                weights: observed.weights.clone(),
                analysis: mem.last_analysis.as_ref().map(|a| AnalysisResult {
                    name: a.name.clone(),
                    verdict: verdict_of(a),
                    at_ms: a.at_ms,
                }),
                command,
                extensions: vec![],
            },
            extensions: vec![("hoist.step".into(), r.step.to_string())],
        })
    }
}
