//! One decision of the canary strategy. The plan comes from the config on
//! every call; the state holds the position in it and the analysis tally.

use std::collections::BTreeSet;

use hoist_sdk::strategy::{
    Action, AnalysisRequest, Context, Decision, OperatorCommand, ReadyTarget, RevisionCount, WaitFor, count, decision,
    rollback, scale,
};
use hoist_sdk::types::{PluginError, Verdict, Weight};
use serde::{Deserialize, Serialize};

use crate::config::{Config, PlanStep};

/// How long to wait before looking again when a result is overdue.
const POLL_MS: u64 = 1_000;
/// Leave room under the host's 64-action cap.
const MAX_ACTIONS: usize = 48;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Pending {
    name: String,
    requested_at_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct State {
    /// Index of the current plan step; the plan's length means promotion.
    step: usize,
    step_started_ms: u64,
    /// The candidate's traffic share now.
    weight: u8,
    waiting_ready_since_ms: Option<u64>,
    /// The analysis run in flight.
    pending: Option<Pending>,
    /// Analysis runs requested, passed and failed in this step.
    runs: u32,
    passes: u32,
    failures: u32,
    /// The last run was inconclusive; an operator must decide.
    inconclusive: Option<String>,
    promoting: bool,
}

impl State {
    fn advance(&mut self, now: u64) {
        *self = Self {
            step: self.step + 1,
            step_started_ms: now,
            weight: self.weight,
            promoting: self.promoting,
            ..Self::default()
        };
    }
}

/// What one call builds up.
struct Out<'c> {
    ctx: &'c Context,
    actions: Vec<Action>,
    candidate_target: Option<u32>,
}

impl Out<'_> {
    /// Scale the candidate to `n` unless that is already asked or true; a
    /// later target in the same call replaces an earlier one.
    fn scale_candidate(&mut self, n: u32, have: u32) {
        let id = &self.ctx.candidate.id;
        self.actions.retain(|a| !matches!(a, Action::Scale(s) if &s.revision == id));
        if have != n {
            self.actions.push(scale(id, n));
        }
        self.candidate_target = Some(n);
    }

    /// Set the split, replacing an adjacent split from this same call.
    fn set_weights(&mut self, weights: Vec<Weight>) {
        if let Some(Action::SetWeights(last)) = self.actions.last_mut() {
            *last = weights;
        } else {
            self.actions.push(Action::SetWeights(weights));
        }
    }
}

pub fn decide(ctx: &Context) -> Result<Decision, PluginError> {
    let config: Config = hoist_sdk::config::parse(&ctx.config)?;
    let plan = config.plan()?;
    let now = ctx.now_ms;
    let mut state = hoist_sdk::state::decode::<State>(ctx.state.as_deref())?
        .unwrap_or(State { step_started_ms: now, ..State::default() });
    if state.step > plan.len() {
        return Err(PluginError::InvalidState(format!("step {} is past the plan's {} steps", state.step, plan.len())));
    }
    let candidate = ctx.candidate.id.as_str();
    let replicas = ctx.replicas;
    let cand = count(&ctx.observed, candidate);
    let total = plan.len();

    let current = plan.get(state.step).copied();
    match &ctx.observed.command {
        Some(OperatorCommand::Abort) => {
            return rollback(&state, "aborted by operator".to_owned());
        }
        Some(OperatorCommand::PromoteFull) => {
            hoist_sdk::log::info("promote-full: skipping every step left");
            state.promoting = true;
        }
        Some(OperatorCommand::SkipStep) if current.is_some() => {
            hoist_sdk::log::info(&format!("skip-step: step {}/{total} skipped", state.step + 1));
            state.advance(now);
        }
        Some(OperatorCommand::Promote) => match current {
            Some(PlanStep::Pause(_) | PlanStep::Analysis { .. }) => {
                hoist_sdk::log::info(&format!("promote: step {}/{total} finished", state.step + 1));
                state.advance(now);
            }
            _ => hoist_sdk::log::info("promote: nothing to finish, the step ends by itself"),
        },
        Some(other) => hoist_sdk::log::info(&format!("canary ignores operator command {other:?}")),
        None => {}
    }

    let mut out = Out { ctx, actions: Vec::new(), candidate_target: None };
    if ctx.stable.is_none() || replicas == 0 {
        state.promoting = true;
    }
    if !state.promoting {
        // Keep the candidate sized for the traffic it has now.
        out.scale_candidate(canary_replicas(replicas, state.weight), cand.count);
    }

    loop {
        if out.actions.len() >= MAX_ACTIONS {
            out.actions.push(Action::Wait(WaitFor::Duration(1)));
            let status = status(&state, total, candidate, "continuing");
            return decision(&state, out.actions, status);
        }
        let step = match plan.get(state.step) {
            Some(step) if !state.promoting => *step,
            _ => return promote(ctx, &config, &mut state, out, &cand, total),
        };
        match step {
            PlanStep::SetWeight(w) => {
                let w = w.max(state.weight);
                let need = canary_replicas(replicas, w);
                out.scale_candidate(need, cand.count);
                if cand.ready < need {
                    let activity = format!("next {w} %, waiting for {}/{need} ready", cand.ready);
                    return wait_ready(&config, &mut state, out, need, total, &activity);
                }
                out.set_weights(split(ctx, w));
                state.weight = w;
                state.advance(now);
            }
            PlanStep::Pause(Some(duration)) => {
                let due = state.step_started_ms.saturating_add(duration);
                if now >= due {
                    state.advance(now);
                    continue;
                }
                let left = due - now;
                out.actions.push(Action::Wait(WaitFor::Duration(left)));
                let activity = format!("paused ({}s left)", left.div_ceil(1000));
                let status = status(&state, total, candidate, &activity);
                return decision(&state, out.actions, status);
            }
            PlanStep::Pause(None) => {
                let reason = format!("paused at step {}/{total}: promote to continue", state.step + 1);
                out.actions.push(Action::Wait(WaitFor::Operator(reason)));
                let status = status(&state, total, candidate, "paused until promoted");
                return decision(&state, out.actions, status);
            }
            PlanStep::Analysis { duration_ms, success_threshold, failure_threshold } => {
                let progress = format!("{}/{success_threshold} passed", state.passes);
                if let Some(reason) = &state.inconclusive {
                    let wait = format!("analysis inconclusive: {reason}");
                    out.actions.push(Action::Wait(WaitFor::Operator(wait.clone())));
                    let status = status(&state, total, candidate, &format!("{wait} ({progress}); promote or abort"));
                    return decision(&state, out.actions, status);
                }
                let Some(pending) = state.pending.clone() else {
                    state.runs += 1;
                    let name = format!("step-{}-run-{}", state.step + 1, state.runs);
                    out.actions
                        .push(Action::RunAnalysis(AnalysisRequest { name: name.clone(), duration: duration_ms }));
                    out.actions.push(Action::Wait(WaitFor::Duration(duration_ms)));
                    state.pending = Some(Pending { name, requested_at_ms: now });
                    let status = status(&state, total, candidate, &format!("analysing ({progress})"));
                    return decision(&state, out.actions, status);
                };
                let verdict = ctx
                    .observed
                    .analysis
                    .as_ref()
                    .filter(|a| a.name == pending.name && a.at_ms >= pending.requested_at_ms)
                    .map(|a| a.verdict.clone());
                match verdict {
                    Some(Verdict::Pass) => {
                        state.pending = None;
                        state.passes += 1;
                        if state.passes >= success_threshold {
                            state.advance(now);
                        }
                    }
                    Some(Verdict::Fail(reason)) => {
                        state.pending = None;
                        state.failures += 1;
                        if state.failures >= failure_threshold {
                            return rollback(
                                &state,
                                format!(
                                    "analysis failed at step {}/{total} ({} % to {candidate}): {reason}",
                                    state.step + 1,
                                    state.weight
                                ),
                            );
                        }
                        hoist_sdk::log::warn(&format!(
                            "analysis failed ({}/{failure_threshold}): {reason}",
                            state.failures
                        ));
                    }
                    Some(Verdict::Inconclusive(reason)) => {
                        state.pending = None;
                        state.inconclusive = Some(reason);
                    }
                    None => {
                        let due = pending.requested_at_ms.saturating_add(duration_ms);
                        let left = due.saturating_sub(now);
                        let wait = if left == 0 { POLL_MS } else { left };
                        out.actions.push(Action::Wait(WaitFor::Duration(wait)));
                        let status = status(&state, total, candidate, &format!("analysing ({progress})"));
                        return decision(&state, out.actions, status);
                    }
                }
            }
        }
    }
}

/// Candidate → replicas; once ready: all traffic to it, old revisions → 0.
fn promote(
    ctx: &Context,
    config: &Config,
    state: &mut State,
    mut out: Out<'_>,
    cand: &RevisionCount,
    total: usize,
) -> Result<Decision, PluginError> {
    let candidate = ctx.candidate.id.as_str();
    let replicas = ctx.replicas;
    state.promoting = true;
    out.scale_candidate(replicas, cand.count);
    if cand.ready < replicas {
        let activity = format!("promoting, {}/{replicas} ready", cand.ready);
        return wait_ready(config, state, out, replicas, total, &activity);
    }
    if replicas > 0 {
        out.set_weights(vec![Weight { revision: candidate.to_owned(), percent: 100 }]);
        state.weight = 100;
    }
    let mut olds: BTreeSet<&str> =
        ctx.observed.instances.iter().map(|i| i.revision.as_str()).filter(|r| *r != candidate).collect();
    if let Some(stable) = &ctx.stable {
        olds.insert(stable.id.as_str());
    }
    out.actions.extend(olds.into_iter().map(|r| scale(r, 0)));
    out.actions.push(Action::Complete);
    Ok(Decision {
        state: hoist_sdk::state::encode(state)?,
        actions: out.actions,
        status: format!("promoted: {candidate} {}/{replicas} ready, 100 % → complete", cand.ready),
    })
}

/// Waits until the candidate has `need` ready instances, or rolls back
/// past the progress deadline.
fn wait_ready(
    config: &Config,
    state: &mut State,
    mut out: Out<'_>,
    need: u32,
    total: usize,
    activity: &str,
) -> Result<Decision, PluginError> {
    let now = out.ctx.now_ms;
    let candidate = out.ctx.candidate.id.as_str();
    let since = *state.waiting_ready_since_ms.get_or_insert(now);
    let waited = now.saturating_sub(since);
    if waited >= config.progress_deadline_ms {
        return rollback(
            state,
            format!("progress deadline exceeded: {candidate} not {need} ready after {}s", waited / 1000),
        );
    }
    out.actions.push(Action::Wait(WaitFor::Ready(ReadyTarget { revision: candidate.to_owned(), count: need })));
    let status = status(state, total, candidate, activity);
    decision(state, out.actions, status)
}

/// "step 3/7: 25 % to r8, analysing (2/3 passed)".
fn status(state: &State, total: usize, candidate: &str, activity: &str) -> String {
    if state.promoting || state.step >= total {
        return format!("{activity} ({candidate})");
    }
    format!("step {}/{total}: {} % to {candidate}, {activity}", state.step + 1, state.weight)
}

/// `weight` % to the candidate, the rest to the stable revision.
fn split(ctx: &Context, weight: u8) -> Vec<Weight> {
    let mut weights = Vec::with_capacity(2);
    if let Some(stable) = &ctx.stable
        && weight < 100
    {
        weights.push(Weight { revision: stable.id.clone(), percent: 100 - weight });
    }
    if weight > 0 || weights.is_empty() {
        weights.push(Weight {
            revision: ctx.candidate.id.clone(),
            percent: weight.max(if weights.is_empty() { 100 } else { 0 }),
        });
    }
    weights
}

/// `max(1, ceil(replicas × weight / 100))`, never above `replicas` (and 0
/// when no replicas are wanted).
pub fn canary_replicas(replicas: u32, weight: u8) -> u32 {
    if replicas == 0 {
        return 0;
    }
    let n = (u64::from(replicas) * u64::from(weight)).div_ceil(100);
    u32::try_from(n).unwrap_or(replicas).clamp(1, replicas)
}
