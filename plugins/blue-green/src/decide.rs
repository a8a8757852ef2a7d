//! One decision of the blue-green strategy: a small phase machine whose
//! phase lives in the opaque state.

use std::collections::BTreeSet;

use hoist_sdk::strategy::{
    Action, AnalysisRequest, Context, Decision, OperatorCommand, ReadyTarget, RevisionCount, WaitFor, count, decision,
    rollback, scale,
};
use hoist_sdk::types::{PluginError, Verdict, Weight};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// How long to wait before looking again when a result is overdue.
const POLL_MS: u64 = 1_000;
const PRE: &str = "pre-promotion";
const POST: &str = "post-promotion";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "phase")]
enum Phase {
    /// The candidate scales to full size beside the stable revision.
    Preview,
    /// The ready preview is being analysed.
    PreAnalysis { requested_at_ms: u64 },
    /// Waiting for the auto-promotion delay or an operator.
    AwaitPromotion,
    /// All traffic is on the candidate, which is being analysed.
    PostAnalysis { requested_at_ms: u64 },
    /// All traffic is on the candidate; the old revision is kept a while.
    ScaleDownDelay,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct State {
    phase: Phase,
    /// When the current phase began.
    since_ms: u64,
    /// When the current wait for a fully ready candidate began.
    waiting_ready_since_ms: Option<u64>,
    /// An operator promoted: the manual gate is passed.
    approved: bool,
    /// An operator asked for `promote-full`: no analysis runs.
    skip_analysis: bool,
    /// The last analysis was inconclusive; an operator must decide.
    inconclusive: Option<String>,
}

pub fn decide(ctx: &Context) -> Result<Decision, PluginError> {
    let config: Config = hoist_sdk::config::parse(&ctx.config)?;
    let mut state = hoist_sdk::state::decode::<State>(ctx.state.as_deref())?.unwrap_or(State {
        phase: Phase::Preview,
        since_ms: ctx.now_ms,
        waiting_ready_since_ms: None,
        approved: false,
        skip_analysis: false,
        inconclusive: None,
    });
    let candidate = ctx.candidate.id.as_str();
    let replicas = ctx.replicas;
    let now = ctx.now_ms;
    let cand = count(&ctx.observed, candidate);

    // Commands first: `finish` ends the phase current at this call.
    let mut finish = false;
    match &ctx.observed.command {
        Some(OperatorCommand::Abort) => {
            return rollback(&state, "aborted by operator".to_owned());
        }
        Some(OperatorCommand::PromoteFull) => {
            hoist_sdk::log::info("promote-full: skipping every gate and analysis left");
            state.approved = true;
            state.skip_analysis = true;
            finish = true;
        }
        Some(OperatorCommand::Promote | OperatorCommand::SkipStep) => {
            state.approved = true;
            finish = true;
        }
        Some(OperatorCommand::Other(other)) => {
            hoist_sdk::log::info(&format!("blue-green ignores operator command `{other}`"));
        }
        None => {}
    }
    if finish {
        state.inconclusive = None;
    }

    let mut actions = Vec::new();
    if cand.count != replicas && !matches!(state.phase, Phase::ScaleDownDelay) {
        actions.push(scale(candidate, replicas));
    }

    let Some(stable) = ctx.stable.as_ref().map(|s| s.id.as_str()) else {
        // First deployment: nothing to preview against.
        if cand.ready < replicas {
            return wait_ready(&config, &mut state, actions, now, candidate, &cand, replicas);
        }
        push_switch(&mut actions, ctx, candidate, replicas);
        actions.push(Action::Complete);
        return decision(&state, actions, format!("{candidate} {}/{replicas} ready → complete", cand.ready));
    };

    // Each pass handles one phase; a phase that ends moves on in the same
    // decision. Phases only move forward, so this ends.
    loop {
        match state.phase {
            Phase::Preview => {
                if cand.ready < replicas {
                    return wait_ready(&config, &mut state, actions, now, candidate, &cand, replicas);
                }
                state.waiting_ready_since_ms = None;
                if config.pre_promotion_analysis_ms > 0 && !state.skip_analysis {
                    actions.push(analyse(PRE, config.pre_promotion_analysis_ms));
                    enter(&mut state, Phase::PreAnalysis { requested_at_ms: now }, now);
                } else {
                    enter(&mut state, Phase::AwaitPromotion, now);
                }
                // Promote given while starting approved the switch; it
                // does not also skip the analysis.
                finish = false;
            }
            Phase::PreAnalysis { requested_at_ms } => {
                match analysis_outcome(ctx, &mut state, PRE, requested_at_ms, finish)? {
                    Outcome::Passed => enter(&mut state, Phase::AwaitPromotion, now),
                    Outcome::Failed(reason) => {
                        return rollback(&state, format!("pre-promotion analysis failed: {reason}"));
                    }
                    Outcome::Wait(wait) => {
                        let left = requested_at_ms.saturating_add(config.pre_promotion_analysis_ms).saturating_sub(now);
                        actions.push(Action::Wait(wait_or(wait, left)));
                        let status = match &state.inconclusive {
                            Some(r) => format!(
                                "preview {candidate} ready, pre-promotion analysis inconclusive ({r}): promote or abort"
                            ),
                            None => format!(
                                "preview {candidate} ready, pre-promotion analysis ({}s left), {stable} serving",
                                left / 1000
                            ),
                        };
                        return decision(&state, actions, status);
                    }
                }
                finish = false;
            }
            Phase::AwaitPromotion => {
                let due = state.since_ms.saturating_add(config.auto_promotion_delay_ms);
                let go = finish || state.approved || (config.auto_promote && now >= due);
                if !go {
                    let (wait, status) = if config.auto_promote {
                        let left = due - now;
                        (
                            WaitFor::Duration(left),
                            format!(
                                "preview {candidate} ready, switching in {}s, {stable} serving",
                                left.div_ceil(1000)
                            ),
                        )
                    } else {
                        (
                            WaitFor::Operator("awaiting promotion".to_owned()),
                            format!("preview {candidate} ready, awaiting promotion, {stable} serving"),
                        )
                    };
                    actions.push(Action::Wait(wait));
                    return decision(&state, actions, status);
                }
                state.approved = true;
                if cand.ready < replicas {
                    // The preview lost an instance: no traffic until whole again.
                    return wait_ready(&config, &mut state, actions, now, candidate, &cand, replicas);
                }
                state.waiting_ready_since_ms = None;
                push_switch(&mut actions, ctx, candidate, replicas);
                if config.post_promotion_analysis_ms > 0 && !state.skip_analysis {
                    actions.push(analyse(POST, config.post_promotion_analysis_ms));
                    enter(&mut state, Phase::PostAnalysis { requested_at_ms: now }, now);
                } else {
                    enter(&mut state, Phase::ScaleDownDelay, now);
                }
                finish = false;
            }
            Phase::PostAnalysis { requested_at_ms } => {
                match analysis_outcome(ctx, &mut state, POST, requested_at_ms, finish)? {
                    Outcome::Passed => enter(&mut state, Phase::ScaleDownDelay, now),
                    Outcome::Failed(reason) => {
                        return rollback(&state, format!("post-promotion analysis failed: {reason}"));
                    }
                    Outcome::Wait(wait) => {
                        let left =
                            requested_at_ms.saturating_add(config.post_promotion_analysis_ms).saturating_sub(now);
                        actions.push(Action::Wait(wait_or(wait, left)));
                        let status = match &state.inconclusive {
                            Some(r) => format!(
                                "{candidate} serving, post-promotion analysis inconclusive ({r}): promote or abort"
                            ),
                            None => format!(
                                "{candidate} serving, post-promotion analysis ({}s left), {stable} on standby",
                                left / 1000
                            ),
                        };
                        return decision(&state, actions, status);
                    }
                }
                finish = false;
            }
            Phase::ScaleDownDelay => {
                let due = state.since_ms.saturating_add(config.scale_down_delay_ms);
                if !finish && now < due {
                    let left = due - now;
                    actions.push(Action::Wait(WaitFor::Duration(left)));
                    return decision(
                        &state,
                        actions,
                        format!("{candidate} serving, {stable} kept for {}s", left.div_ceil(1000)),
                    );
                }
                let mut olds: BTreeSet<&str> =
                    ctx.observed.instances.iter().map(|i| i.revision.as_str()).filter(|r| *r != candidate).collect();
                olds.insert(stable);
                actions.extend(olds.into_iter().map(|r| scale(r, 0)));
                actions.push(Action::Complete);
                return decision(&state, actions, format!("{candidate} serving, {stable} retired → complete"));
            }
        }
    }
}

enum Outcome {
    Passed,
    Failed(String),
    Wait(Option<WaitFor>),
}

/// Reads the verdict of analysis `name` requested at `requested_at_ms`.
/// `finish` (an operator's promote) counts as a pass.
fn analysis_outcome(
    ctx: &Context,
    state: &mut State,
    name: &str,
    requested_at_ms: u64,
    finish: bool,
) -> Result<Outcome, PluginError> {
    if finish {
        return Ok(Outcome::Passed);
    }
    if let Some(reason) = &state.inconclusive {
        return Ok(Outcome::Wait(Some(WaitFor::Operator(format!("analysis inconclusive: {reason}")))));
    }
    let result = ctx.observed.analysis.as_ref().filter(|a| a.name == name && a.at_ms >= requested_at_ms);
    Ok(match result.map(|a| &a.verdict) {
        Some(Verdict::Pass) => Outcome::Passed,
        Some(Verdict::Fail(reason)) => Outcome::Failed(reason.clone()),
        Some(Verdict::Inconclusive(reason)) => {
            state.inconclusive = Some(reason.clone());
            Outcome::Wait(Some(WaitFor::Operator(format!("analysis inconclusive: {reason}"))))
        }
        None => Outcome::Wait(None),
    })
}

/// The given wait, or the time left (at least a poll interval when overdue).
fn wait_or(wait: Option<WaitFor>, left: u64) -> WaitFor {
    wait.unwrap_or(WaitFor::Duration(if left == 0 { POLL_MS } else { left }))
}

fn enter(state: &mut State, phase: Phase, now: u64) {
    state.phase = phase;
    state.since_ms = now;
}

fn analyse(name: &str, duration: u64) -> Action {
    Action::RunAnalysis(AnalysisRequest { name: name.to_owned(), duration })
}

/// Waits for a fully ready candidate, or rolls back past the deadline.
fn wait_ready(
    config: &Config,
    state: &mut State,
    mut actions: Vec<Action>,
    now: u64,
    candidate: &str,
    cand: &RevisionCount,
    replicas: u32,
) -> Result<Decision, PluginError> {
    let since = *state.waiting_ready_since_ms.get_or_insert(now);
    let waited = now.saturating_sub(since);
    if waited >= config.progress_deadline_ms {
        return rollback(
            state,
            format!(
                "progress deadline exceeded: {candidate} has {}/{replicas} ready after {}s",
                cand.ready,
                waited / 1000
            ),
        );
    }
    actions.push(Action::Wait(WaitFor::Ready(ReadyTarget { revision: candidate.to_owned(), count: replicas })));
    decision(state, actions, format!("preview {candidate}: {}/{replicas} ready", cand.ready))
}

/// All traffic to the candidate (when it has instances to serve it).
fn push_switch(actions: &mut Vec<Action>, ctx: &Context, candidate: &str, replicas: u32) {
    let all = [Weight { revision: candidate.to_owned(), percent: 100 }];
    if replicas > 0 && ctx.observed.weights != all {
        actions.push(Action::SetWeights(all.to_vec()));
    }
}
