//! One step of a rollout: operator commands, observation, reconciliation of
//! the stored intent, analysis, then — when what the strategy waits for has
//! happened — a decision, committed before it is applied.

use hoist_store::{CommandKind, DecisionRecord, Phase, Rollout, Step};
use serde_json::{Value, json};

use super::analysis::verdict_of;
use super::memory::{Memory, PendingAnalysis, RollbackProgress, Wait};
use super::observe::Observed;
use super::platform_faults::{Judgement, judge};
use super::ports::PlatformFault;
use super::{Engine, EngineError};
use crate::runtime::bindings::base::hoist::plugin::types::{Revision, Weight};
use crate::runtime::bindings::strategy::exports::hoist::plugin::strategy::{
    Action, AnalysisResult, Context, Observation, OperatorCommand, WaitFor,
};

/// The strategy name of a host-driven `rollback --to` rollout.
pub const FAST_TRACK: &str = "hoist:fast-track";

/// When the rollout wants its next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tick {
    /// At this time (or sooner, on an operator command).
    At(u64),
    /// Only when an operator command arrives.
    Operator,
    /// The rollout has ended.
    Done(Phase),
}

/// What one step collects to persist.
#[derive(Default)]
pub(super) struct Pass {
    records: Vec<DecisionRecord>,
    /// Operator commands this pass acted on: consumed in the transaction
    /// that stores what they did, so an error in between loses none.
    commands: Vec<u64>,
    /// Failed `ensure` calls of the forward path: (revision, fault).
    faults: Vec<(String, PlatformFault)>,
}

impl Pass {
    pub(super) fn record(
        &mut self,
        r: &Rollout,
        now: u64,
        kind: &str,
        input: Value,
        output: Value,
    ) -> &mut DecisionRecord {
        self.records.push(DecisionRecord {
            seq: 0,
            rollout_id: Some(r.id.clone()),
            step: None,
            service: r.service.clone(),
            environment: r.environment.clone(),
            at_ms: now,
            kind: kind.into(),
            plugin: None,
            plugin_digest: None,
            input,
            output,
            error: None,
            operator: None,
            reason: None,
            plugin_output: None,
        });
        let last = self.records.len() - 1;
        &mut self.records[last]
    }
}

impl Engine {
    /// Runs one step of rollout `id`.
    pub async fn tick(&self, id: &str) -> Result<Tick, EngineError> {
        let now = self.clock.now_ms();
        let mut r = self.store.rollout(id)?.ok_or_else(|| EngineError::UnknownRollout(id.into()))?;
        if r.phase.is_terminal() {
            return Ok(Tick::Done(r.phase));
        }
        let mut mem = match Memory::from_json(&r.id, &r.intent) {
            Ok(mem) => mem,
            Err(err) => return self.stop_unreadable(r, err, now),
        };
        let mut pass = Pass::default();

        let commands = self.store.pending_commands(id)?;
        pass.commands = commands.iter().map(|c| c.seq).collect();
        let woke = !commands.is_empty();
        for c in &commands {
            let rec =
                pass.record(&r, now, "operator", json!({ "verb": c.kind.name(), "arg": c.kind.arg() }), Value::Null);
            rec.operator = Some(c.operator.clone());
            rec.reason = c.reason.clone();
            let who = &c.operator;
            match &c.kind {
                CommandKind::Pause if r.phase == Phase::Running => {
                    r.phase = Phase::Paused;
                    r.status = format!("paused by {who}");
                }
                CommandKind::Resume if r.phase == Phase::Paused => {
                    r.phase = Phase::Running;
                    r.status = format!("resumed by {who}");
                }
                CommandKind::Approve if r.phase == Phase::AwaitingApproval => {
                    self.start(&mut r, now)?;
                    r.status = format!("approved by {who}");
                }
                // Abort is the host's: it must work even when the strategy does not.
                CommandKind::Abort if mem.rollback.is_none() => {
                    let why = c.reason.clone().unwrap_or_default();
                    begin_rollback(&mut mem, format!("aborted by {who}: {why}"), Phase::Aborted, now);
                    if r.phase == Phase::Paused || r.phase == Phase::AwaitingApproval {
                        r.phase = Phase::Running;
                    }
                }
                CommandKind::Promote | CommandKind::PromoteFull | CommandKind::SkipStep => {
                    mem.command = Some(c.kind.name().to_string());
                }
                _ => {}
            }
        }
        if !matches!(r.phase, Phase::Running) {
            self.persist(&mut r, &mem, now, None, pass)?;
            return Ok(if r.phase.is_terminal() { Tick::Done(r.phase) } else { Tick::Operator });
        }

        let observed = match self.observe(&r).await {
            Ok(o) => o,
            Err(err) => return self.unobservable(r, mem, err, now, pass),
        };
        let rolling_back = mem.rollback.is_some();
        let streak = mem.platform_failures.clone();
        note_ended(&r, &mem, &observed, now, &mut pass);
        self.reconcile(&r, &mem, &observed, now, &mut pass).await;
        if !rolling_back && let Some(reason) = self.judge_platform(&mut r, &mut mem, &mut pass, now) {
            begin_rollback(&mut mem, reason, failed_outcome(&r), now);
        }

        if mem.rollback.is_some() {
            return self.rollback_step(r, mem, &observed, now, pass).await;
        }
        if r.strategy == FAST_TRACK {
            return self.fast_track_step(r, mem, &observed, now, pass).await;
        }
        if mem.completing {
            return self.complete(r, mem, &observed, now, pass).await;
        }

        let mut analysed = false;
        if let Some(mut pending) = mem.analysis.take() {
            if now >= pending.until_ms {
                let (finished, records) = self.evaluate(&r, &mut pending, now).await;
                pass.records.extend(records);
                mem.last_analysis = Some(finished);
                analysed = true;
            } else {
                mem.analysis = Some(pending);
            }
        }
        if r.deadline_ms.is_some_and(|d| now >= d) {
            let reason = format!(
                "progress deadline exceeded: not completed {} s after it started",
                now.saturating_sub(r.started_at_ms) / 1000
            );
            begin_rollback(&mut mem, reason, Phase::RolledBack, now);
            return self.rollback_step(r, mem, &observed, now, pass).await;
        }

        let due = woke
            || analysed
            || mem.command.is_some()
            || match &mem.wait {
                Wait::Now => true,
                Wait::Until { at_ms } => now >= *at_ms,
                Wait::Ready { revision, count, since_ms } => {
                    observed.ready(revision) >= *count || now >= since_ms + self.config.ready_recheck_ms
                }
                Wait::Operator { .. } => false,
            };
        if !due {
            // A rollout that waits long (a canary step of an hour) still
            // writes itself every half lock TTL, which renews its lock.
            let renew = now >= r.updated_at_ms.saturating_add(self.config.lock_ttl_ms / 2);
            if renew || !pass.records.is_empty() || mem.platform_failures != streak {
                self.persist(&mut r, &mem, now, None, pass)?;
            }
            return Ok(self.next(&r, &mem, now));
        }
        self.decide(r, mem, &observed, now, pass).await
    }

    /// A step the platform cannot be observed for. Blind, nothing can be
    /// applied, but time still counts: the progress deadline passing starts
    /// a rollback (as it would with a platform that answers), and a rollback
    /// — an operator's abort included, recorded already — that cannot start
    /// before the rollback deadline ends the rollout as failed, leaving the
    /// instances as they are. Status says what is pending and why.
    fn unobservable(
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
            pass.record(&r, now, "error", Value::Null, Value::Null).error = Some(err);
        }
        r.status = status;
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::At(now + self.config.poll_ms))
    }

    async fn decide(
        &self,
        mut r: Rollout,
        mut mem: Memory,
        observed: &Observed,
        now: u64,
        mut pass: Pass,
    ) -> Result<Tick, EngineError> {
        let strategy = self.strategy_for(&r.environment, &r.strategy)?.clone();
        let ctx = self.context(&r, &mem, observed, &strategy.config, now)?;
        let input = serde_json::to_value(&ctx).unwrap_or(Value::Null);
        let answer = strategy.plugin.decide_async(&ctx).await;
        if let Ok(called) = &answer {
            self.stats.plugin_time(called.elapsed);
        }
        let printed = match &answer {
            Ok(called) => called.output.to_record(),
            Err(fault) => fault.output.to_record(),
        };
        let rec = pass.record(&r, now, "decide", input, Value::Null);
        rec.plugin_output = printed;
        rec.plugin = Some(strategy.plugin.name.to_string());
        rec.plugin_digest = Some(strategy.plugin.digest.clone());
        rec.operator = mem.command.clone().map(|_| "operator".to_string());
        let decision = match answer {
            Ok(called) => match called.value {
                Ok(d) => Ok(d),
                Err(e) => Err(format!("strategy `{}` refused: {e:?}", r.strategy)),
            },
            Err(e) => Err(e.to_string()),
        };
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
                    return self.rollback_step(r, mem, observed, now, pass).await;
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
                    mem.analysis = Some(PendingAnalysis {
                        name: a.name.clone(),
                        started_ms: now,
                        until_ms: now + a.duration,
                        policy_state: Default::default(),
                    });
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
            return self.rollback_step(r, mem, observed, now, pass).await;
        }
        self.reconcile(&r, &mem, observed, now, &mut pass).await;
        if let Some(reason) = self.judge_platform(&mut r, &mut mem, &mut pass, now) {
            begin_rollback(&mut mem, reason, failed_outcome(&r), now);
            return self.rollback_step(r, mem, observed, now, pass).await;
        }
        if mem.completing {
            return self.complete(r, mem, observed, now, pass).await;
        }
        if !pass.records.is_empty() {
            self.persist(&mut r, &mem, now, None, pass)?;
        }
        Ok(self.next(&r, &mem, now))
    }

    /// Makes the platform and traffic match the stored intent (idempotent).
    /// Order matters for zero downtime: instances are added before traffic
    /// moves onto them, and taken away only after traffic has left them (a
    /// revision going to zero is drained on the router first).
    async fn reconcile(&self, r: &Rollout, mem: &Memory, observed: &Observed, now: u64, pass: &mut Pass) {
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
                let rec = pass.record(r, now, "apply", json!({ "weights": mem.weights }), Value::Null);
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

    async fn scale(&self, r: &Rollout, revision: &str, replicas: u32, now: u64, pass: &mut Pass) {
        let result = match self.spec_of(&r.service, &r.environment, revision) {
            Ok((spec, _)) => self.platform.ensure(&spec, replicas).await,
            Err(e) => Err(PlatformFault::Failed(e.to_string())),
        };
        if let Err(err) = result {
            let rec = pass.record(r, now, "apply", json!({ "scale": revision, "replicas": replicas }), Value::Null);
            rec.error = Some(err.to_string());
            pass.faults.push((revision.to_string(), err));
        }
    }

    pub(super) async fn observe(&self, r: &Rollout) -> Result<Observed, String> {
        let instances = self.platform.instances(&r.service, &r.environment).await?;
        self.traffic.observe(&r.service, &r.environment, &instances, self.clock.now_ms());
        let weights = self.traffic.weights(&r.service, &r.environment);
        Ok(Observed { instances, weights })
    }

    fn context(
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
        let (_, replicas) = self.spec_of(&r.service, &r.environment, &r.candidate)?;
        let command = mem.command.as_deref().map(|c| match c {
            "promote" => OperatorCommand::Promote,
            "promote-full" => OperatorCommand::PromoteFull,
            "skip-step" => OperatorCommand::SkipStep,
            "abort" => OperatorCommand::Abort,
            other => OperatorCommand::Other(other.to_string()),
        });
        Ok(Context {
            rollout_id: r.id.clone(),
            service: r.service.clone(),
            environment: r.environment.clone(),
            stable: match &r.stable {
                Some(id) => Some(revision(id)?),
                None => None,
            },
            candidate: revision(&r.candidate)?,
            replicas,
            config: config.to_string(),
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

    /// The candidate is the new stable revision: full traffic to it, every
    /// other revision removed, lock released.
    async fn complete(
        &self,
        mut r: Rollout,
        mut mem: Memory,
        observed: &Observed,
        now: u64,
        mut pass: Pass,
    ) -> Result<Tick, EngineError> {
        self.store.set_current(&r.service, &r.environment, &r.candidate)?;
        // All traffic to the new stable revision, whatever the strategy set,
        // so the old revisions drain before they are removed.
        mem.weights = vec![(r.candidate.clone(), 100)];
        if let Err(err) = self.traffic.set_weights(
            &r.service,
            &r.environment,
            &[Weight { revision: r.candidate.clone(), percent: 100 }],
        ) {
            pass.record(&r, now, "apply", json!({ "weights": mem.weights }), Value::Null).error = Some(err);
        }
        for revision in revisions_other_than(observed, &mem, &r.candidate) {
            self.traffic.drain(&r.service, &r.environment, &revision).await;
            if let Err(err) = self.platform.remove(&r.service, &r.environment, &revision).await {
                pass.record(&r, now, "apply", json!({ "remove": revision }), Value::Null).error = Some(err);
            }
            mem.replicas.remove(&revision);
        }
        r.phase = Phase::Completed;
        r.reason = None;
        pass.record(&r, now, "complete", json!({ "stable": r.candidate }), Value::Null);
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::Done(Phase::Completed))
    }

    /// Restores the stable revision at full size with all traffic, then
    /// removes the candidate. Traffic moves back as soon as one stable
    /// instance is ready.
    async fn rollback_step(
        &self,
        mut r: Rollout,
        mut mem: Memory,
        observed: &Observed,
        now: u64,
        mut pass: Pass,
    ) -> Result<Tick, EngineError> {
        let Some(mut rb) = mem.rollback.clone() else { return Ok(self.next(&r, &mem, now)) };
        mem.analysis = None;
        let outcome = match rb.outcome.as_str() {
            "aborted" => Phase::Aborted,
            "failed" => Phase::Failed,
            _ => Phase::RolledBack,
        };
        let Some(stable) = r.stable.clone() else {
            // A first deployment has nothing to return to: remove it, and
            // its front door with it.
            if let Err(err) = self.platform.remove(&r.service, &r.environment, &r.candidate).await {
                pass.record(&r, now, "apply", json!({ "remove": r.candidate }), Value::Null).error = Some(err);
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
                pass.record(&r, now, "apply", json!({ "scale": stable, "replicas": replicas }), Value::Null).error =
                    Some(err.to_string());
            }
        }
        if !rb.switched && ready >= 1 {
            mem.weights = vec![(stable.clone(), 100)];
            let weights = [Weight { revision: stable.clone(), percent: 100 }];
            match self.traffic.set_weights(&r.service, &r.environment, &weights) {
                Ok(()) => {
                    rb.switched = true;
                    pass.record(&r, now, "rollback", json!({ "weights": { stable.as_str(): 100 } }), Value::Null)
                        .reason = Some(rb.reason.clone());
                }
                Err(err) => {
                    pass.record(&r, now, "apply", json!({ "weights": mem.weights }), Value::Null).error = Some(err)
                }
            }
        }
        if rb.switched && ready >= replicas {
            self.traffic.drain(&r.service, &r.environment, &r.candidate).await;
            if let Err(err) = self.platform.remove(&r.service, &r.environment, &r.candidate).await {
                pass.record(&r, now, "apply", json!({ "remove": r.candidate }), Value::Null).error = Some(err);
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
    async fn fast_track_step(
        &self,
        mut r: Rollout,
        mut mem: Memory,
        observed: &Observed,
        now: u64,
        mut pass: Pass,
    ) -> Result<Tick, EngineError> {
        let target = r.candidate.clone();
        let (spec, replicas) = self.spec_of(&r.service, &r.environment, &target)?;
        mem.replicas.insert(target.clone(), replicas);
        let mut error = None;
        if observed.needs_ensure(&target, replicas)
            && let Err(err) = self.platform.ensure(&spec, replicas).await
        {
            let err = err.to_string();
            pass.record(&r, now, "apply", json!({ "scale": target, "replicas": replicas }), Value::Null).error =
                Some(err.clone());
            error = Some(err);
        }
        let ready = observed.ready(&target);
        if ready >= replicas {
            return self.complete(r, mem, observed, now, pass).await;
        }
        // Like an abort, a rollback moves traffic as soon as it can serve.
        if ready > 0 && mem.weights != [(target.clone(), 100)] {
            mem.weights = vec![(target.clone(), 100)];
            let weights = [Weight { revision: target.clone(), percent: 100 }];
            if let Err(err) = self.traffic.set_weights(&r.service, &r.environment, &weights) {
                pass.record(&r, now, "apply", json!({ "weights": { target.as_str(): 100 } }), Value::Null).error =
                    Some(err.clone());
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

    /// Judges the platform faults of a reconciliation: a reason to roll
    /// back, or the status to show while retrying.
    fn judge_platform(&self, r: &mut Rollout, mem: &mut Memory, pass: &mut Pass, now: u64) -> Option<String> {
        match judge(mem, &pass.faults, now, &self.config) {
            Judgement::Fine => None,
            Judgement::Retry(status) => {
                r.status = status;
                None
            }
            Judgement::GiveUp(reason) => Some(reason),
        }
    }

    pub(super) fn end(
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
        pass.record(&r, now, phase.as_str(), Value::Null, Value::Null).reason = Some(reason.clone());
        r.reason = Some(reason);
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::Done(phase))
    }

    /// Ends a rollout whose stored intent cannot be read, visibly: failed,
    /// with the reason in its status and log, its instances left as they
    /// are (nothing can say what they should be) and the bad document kept.
    fn stop_unreadable(&self, mut r: Rollout, err: EngineError, now: u64) -> Result<Tick, EngineError> {
        let reason = err.to_string();
        let mut pass = Pass::default();
        pass.record(&r, now, "error", Value::Null, Value::Null).error = Some(reason.clone());
        r.phase = Phase::Failed;
        r.status = format!("failed: {reason}; its instances were left as they are");
        r.reason = Some(reason);
        r.updated_at_ms = now;
        self.store.save_rollout_with(&r, &[], &pass.records)?;
        Ok(Tick::Done(Phase::Failed))
    }

    /// Stores the pass with the rollout; its deploy lock is renewed (or, once
    /// it has ended, released) in the same transaction.
    pub(super) fn persist(
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

    fn next(&self, r: &Rollout, mem: &Memory, now: u64) -> Tick {
        let mut at = match &mem.wait {
            Wait::Now => Some(now),
            Wait::Until { at_ms } => Some(*at_ms),
            Wait::Ready { .. } => Some(now + self.config.poll_ms),
            Wait::Operator { .. } => None,
        };
        if let Some(a) = &mem.analysis {
            at = Some(at.map_or(a.until_ms, |t| t.min(a.until_ms)));
        }
        if let Some(deadline) = r.deadline_ms {
            at = Some(at.map_or(deadline, |t| t.min(deadline)));
        }
        if r.phase == Phase::Running {
            let renew = r.updated_at_ms.saturating_add(self.config.lock_ttl_ms / 2);
            at = Some(at.map_or(renew, |t| t.min(renew)));
        }
        // A failing platform is retried at every poll, whatever the wait.
        if mem.platform_failures.is_some() {
            at = Some(at.map_or(now + self.config.poll_ms, |t| t.min(now + self.config.poll_ms)));
        }
        match at {
            Some(t) => Tick::At(t.max(now)),
            None => Tick::Operator,
        }
    }
}

pub(super) fn begin_rollback(mem: &mut Memory, reason: String, outcome: Phase, now: u64) {
    mem.rollback = Some(RollbackProgress {
        reason,
        started_ms: now,
        switched: false,
        outcome: match outcome {
            Phase::Aborted => "aborted".into(),
            Phase::Failed => "failed".into(),
            _ => "rolled-back".into(),
        },
    });
    mem.analysis = None;
    mem.wait = Wait::Now;
}

/// Records each ended instance (a killed container, a crashed process) of
/// a revision that should run: the reconciliation then replaces it.
fn note_ended(r: &Rollout, mem: &Memory, observed: &Observed, now: u64, pass: &mut Pass) {
    for i in observed.ended() {
        if mem.replicas.get(&i.revision).is_some_and(|n| *n > 0) {
            let state = super::observe::state_text(&i.state);
            let input = json!({ "revision": i.revision, "instance": i.id, "state": state });
            pass.record(r, now, "instance", input, Value::Null).reason =
                Some(format!("instance {} of {} has {state}; the platform replaces it", i.id, i.revision));
        }
    }
}

/// A rollout the platform cannot carry: rolled back to its stable revision,
/// or failed when there is none to return to.
pub(super) fn failed_outcome(r: &Rollout) -> Phase {
    if r.stable.is_some() { Phase::RolledBack } else { Phase::Failed }
}

fn revisions_other_than(observed: &Observed, mem: &Memory, keep: &str) -> Vec<String> {
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
