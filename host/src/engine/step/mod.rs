//! One step of a rollout: operator commands, observation, reconciliation of
//! the stored intent, analysis, then — when what the strategy waits for has
//! happened — a decision, committed before it is applied.
//!
//! The step is split by concern: the strategy's decision (`decide.rs`),
//! making the platform and traffic match the intent (`reconcile.rs`), the
//! host's own rollbacks (`rollback.rs`), and ending and storing a step
//! (`finish.rs`); each works on the step's `StepCtx`.

mod decide;
mod finish;
mod hold;
mod reconcile;
mod rollback;

use reconcile::note_ended;
pub(super) use rollback::{begin_rollback, failed_outcome};

use hoist_store::{CommandKind, DecisionKind, DecisionRecord, Phase, Rollout};
use serde_json::{Value, json};

use super::memory::{AnalysisVerdict, Memory, StrategyCommand, Wait};
use super::observe::Observed;
use super::ports::PlatformFault;
use super::{Engine, EngineError};

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
pub(in crate::engine) struct Pass {
    records: Vec<DecisionRecord>,
    /// Operator commands this pass acted on: consumed in the transaction
    /// that stores what they did, so an error in between loses none.
    commands: Vec<u64>,
    /// Failed `ensure` calls of the forward path: (revision, fault).
    faults: Vec<(String, PlatformFault)>,
}

impl Pass {
    pub(in crate::engine) fn record(
        &mut self,
        r: &Rollout,
        now: u64,
        kind: DecisionKind,
        input: Value,
        output: Value,
    ) -> &mut DecisionRecord {
        self.records.push(DecisionRecord {
            rollout_id: Some(r.id.clone()),
            input,
            output,
            ..DecisionRecord::new(&r.service, &r.environment, now, kind)
        });
        let last = self.records.len() - 1;
        &mut self.records[last]
    }
}

/// What one step works on: the rollout and the engine's memory of it as
/// loaded, what was observed of its service, the step's time, and what it
/// collected to persist.
pub(in crate::engine) struct StepCtx<'o> {
    r: Rollout,
    mem: Memory,
    observed: &'o Observed,
    now: u64,
    pass: Pass,
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
            let rec = pass.record(
                &r,
                now,
                DecisionKind::Operator,
                json!({ "verb": c.kind.name(), "arg": c.kind.arg() }),
                Value::Null,
            );
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
                    r.status = match hold::measure_again(&mut mem, now) {
                        Some(analysis) => format!("resumed by {who}: measuring analysis `{analysis}` again"),
                        None => format!("resumed by {who}"),
                    };
                }
                CommandKind::Approve if r.phase == Phase::AwaitingApproval => {
                    self.start(&mut r, now)?;
                    r.status = format!("approved by {who}");
                }
                // Abort is the host's: it must work even when the strategy does not.
                CommandKind::Abort if mem.rollback.is_none() => {
                    let why = c.reason.clone().unwrap_or_default();
                    begin_rollback(&mut mem, format!("aborted by {who}: {why}"), Phase::Aborted, now);
                    mem.held = None;
                    if r.phase == Phase::Paused || r.phase == Phase::AwaitingApproval {
                        r.phase = Phase::Running;
                    }
                }
                CommandKind::Promote | CommandKind::PromoteFull | CommandKind::SkipStep => {
                    if r.phase == Phase::Paused && hold::accept(&mut mem) {
                        r.phase = Phase::Running;
                        r.status = format!("inconclusive analysis accepted by {who}");
                    }
                    mem.command = Some(match &c.kind {
                        CommandKind::PromoteFull => StrategyCommand::PromoteFull,
                        CommandKind::SkipStep => StrategyCommand::SkipStep,
                        _ => StrategyCommand::Promote,
                    });
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
            return self.rollback_step(StepCtx { r, mem, observed: &observed, now, pass }).await;
        }
        if r.strategy == FAST_TRACK {
            return self.fast_track_step(StepCtx { r, mem, observed: &observed, now, pass }).await;
        }
        if mem.completing {
            return self.complete(StepCtx { r, mem, observed: &observed, now, pass }).await;
        }

        let mut analysed = false;
        if let Some(mut pending) = mem.analysis.take() {
            pass.records.extend(self.measure(&r, &mut pending, now).await?);
            if pending.is_over(now) {
                let (finished, records) = self.evaluate(&r, &mut pending, now).await;
                pass.records.extend(records);
                if finished.verdict == AnalysisVerdict::Inconclusive {
                    let duration = pending.until_ms.saturating_sub(pending.started_ms);
                    return self.hold(StepCtx { r, mem, observed: &observed, now, pass }, finished, duration);
                }
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
            return self.rollback_step(StepCtx { r, mem, observed: &observed, now, pass }).await;
        }

        let due = woke
            || analysed
            || mem.command.is_some()
            || match &mem.wait {
                Wait::Now => true,
                // A timed wait that ends while the analysis the strategy
                // asked for goes on (its metrics take longer than its
                // window, or it was measured again) waits for its verdict.
                Wait::Until { .. } if mem.analysis.is_some() => false,
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
        self.decide(StepCtx { r, mem, observed: &observed, now, pass }).await
    }

    pub(super) async fn observe(&self, r: &Rollout) -> Result<Observed, String> {
        let instances = self.platform.instances(&r.service, &r.environment).await?;
        self.traffic.observe(&r.service, &r.environment, &instances, self.clock.now_ms());
        let weights = self.traffic.weights(&r.service, &r.environment);
        Ok(Observed { instances, weights })
    }

    pub(super) fn next(&self, r: &Rollout, mem: &Memory, now: u64) -> Tick {
        let mut at = match &mem.wait {
            Wait::Now => Some(now),
            Wait::Until { .. } if mem.analysis.is_some() => None,
            Wait::Until { at_ms } => Some(*at_ms),
            Wait::Ready { .. } => Some(now + self.config.poll_ms),
            Wait::Operator { .. } => None,
        };
        if let Some(a) = &mem.analysis {
            let wake = a.wake_ms(now);
            at = Some(at.map_or(wake, |t| t.min(wake)));
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
