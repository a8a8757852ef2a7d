//! One decision of the rolling strategy.

use hoist_sdk::strategy::{Action, Context, Decision, OperatorCommand, ReadyTarget, WaitFor, scale};
use hoist_sdk::types::PluginError;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::observed::{Counts, count};
use crate::weights::proportional;

/// How long to wait before looking again when nothing specific is awaited.
const POLL_MS: u64 = 1_000;

/// What the strategy remembers between calls: only what the observation
/// cannot tell it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct State {
    /// Most candidate instances ever seen available.
    best_available: u32,
    /// When `best_available` last grew (or the rollout's first decision).
    progress_at_ms: u64,
    /// An operator asked for `promote-full`.
    promote_full: bool,
}

pub fn decide(ctx: &Context) -> Result<Decision, PluginError> {
    let config: Config = hoist_sdk::config::parse(&ctx.config)?;
    let (surge, unavailable) = config.fenceposts(ctx.replicas)?;
    let mut state = hoist_sdk::state::decode::<State>(ctx.state.as_deref())?
        .unwrap_or(State { progress_at_ms: ctx.now_ms, ..State::default() });

    let candidate = ctx.candidate.id.as_str();
    let replicas = ctx.replicas;
    let counts = count(&ctx.observed.instances, config.min_ready_ms);
    let cand = counts.get(candidate).copied().unwrap_or_default();
    // Older revisions with instances: strays first, the stable one last.
    let stable_id = ctx.stable.as_ref().map(|s| s.id.as_str());
    let mut olds: Vec<(&str, Counts)> = counts
        .iter()
        .filter(|(rev, c)| rev.as_str() != candidate && c.count > 0)
        .map(|(rev, c)| (rev.as_str(), *c))
        .collect();
    olds.sort_by_key(|(rev, _)| Some(*rev) == stable_id);
    let old_total: u32 = olds.iter().map(|(_, c)| c.count).sum();
    let old_label = stable_id.unwrap_or("old");

    match &ctx.observed.command {
        Some(OperatorCommand::Abort) => {
            return finish(
                &state,
                Action::Rollback("aborted by operator".to_owned()),
                "aborted by operator, rolling back".to_owned(),
            );
        }
        Some(OperatorCommand::PromoteFull) => {
            hoist_sdk::log::info(&format!("promote-full: {candidate} to {replicas}, old revisions to 0"));
            state.promote_full = true;
        }
        Some(other) => hoist_sdk::log::info(&format!("rolling ignores operator command {other:?}")),
        None => {}
    }

    if cand.available > state.best_available {
        state.best_available = cand.available;
        state.progress_at_ms = ctx.now_ms;
    }

    let summary = if olds.is_empty() {
        format!("{candidate} {}/{replicas} ready", cand.available)
    } else {
        format!("{candidate} {}/{replicas} ready, {old_label} {old_total}", cand.available)
    };

    // Every candidate is available: all traffic to it, the last old
    // instances stop, done (no need to watch them go).
    if cand.available >= replicas {
        let mut actions = Vec::new();
        if cand.count != replicas {
            actions.push(scale(candidate, replicas));
        }
        push_weights(&mut actions, ctx, &[(candidate.to_owned(), cand.ready.min(replicas))]);
        for (rev, _) in &olds {
            actions.push(scale(rev, 0));
        }
        actions.push(Action::Complete);
        return Ok(Decision {
            state: hoist_sdk::state::encode(&state)?,
            actions,
            status: format!("{summary} → complete"),
        });
    }

    let stalled_for = ctx.now_ms.saturating_sub(state.progress_at_ms);
    if stalled_for >= config.progress_deadline_ms {
        let reason = format!(
            "progress deadline exceeded: {candidate} has {}/{replicas} available, no progress for {}s",
            cand.available,
            stalled_for / 1000
        );
        return finish(&state, Action::Rollback(reason.clone()), format!("{summary} → {reason}"));
    }

    // Targets, from the observation alone.
    let mut old_targets: Vec<(&str, Counts, u32)> = olds.iter().map(|(r, c)| (*r, *c, c.count)).collect();
    let (cand_target, phase) = if state.promote_full {
        old_targets.iter_mut().for_each(|t| t.2 = 0);
        (replicas, "promoting")
    } else if cand.count > replicas {
        (replicas, "scaling")
    } else {
        let min_available = replicas.saturating_sub(unavailable);
        let all_available = cand.available + olds.iter().map(|(_, c)| c.available).sum::<u32>();
        let mut budget = all_available.saturating_sub(min_available);
        for target in &mut old_targets {
            let down = target.1.count.min(budget);
            target.2 = target.1.count - down;
            budget -= down;
        }
        // Room left under the surge once this decision's scale-downs are
        // applied (they come first), so the next batch starts now rather
        // than one observation later.
        let max_total = replicas.saturating_add(surge);
        let total = cand.count + old_targets.iter().map(|t| t.2).sum::<u32>();
        let up = max_total.saturating_sub(total).min(replicas - cand.count);
        (cand.count + up, "scaling")
    };

    // Traffic leaves the instances to stop, they stop, then the candidate
    // grows: in this order the surge bound holds at every moment.
    let mut actions = Vec::new();
    let mut ready: Vec<(String, u32)> = vec![(candidate.to_owned(), cand.ready.min(cand_target))];
    ready.extend(old_targets.iter().map(|(r, c, t)| ((*r).to_owned(), c.ready.min(*t))));
    push_weights(&mut actions, ctx, &ready);
    for (rev, c, target) in &old_targets {
        if *target != c.count {
            actions.push(scale(rev, *target));
        }
    }
    if cand_target != cand.count {
        actions.push(scale(candidate, cand_target));
    }

    let (wait, phase) = if cand.ready < cand_target {
        (WaitFor::Ready(ReadyTarget { revision: candidate.to_owned(), count: cand_target }), "waiting for readiness")
    } else if let Some(left) = cand.next_available_in_ms {
        (WaitFor::Duration(left.max(1)), "waiting for min-ready")
    } else {
        (WaitFor::Duration(POLL_MS), phase)
    };
    actions.push(Action::Wait(wait));
    Ok(Decision { state: hoist_sdk::state::encode(&state)?, actions, status: format!("{summary} → {phase}") })
}

/// Adds `set-weights` when some revision is ready and the split changes.
fn push_weights(actions: &mut Vec<Action>, ctx: &Context, ready: &[(String, u32)]) {
    if let Some(weights) = proportional(ready)
        && weights != ctx.observed.weights
    {
        actions.push(Action::SetWeights(weights));
    }
}

fn finish(state: &State, action: Action, status: String) -> Result<Decision, PluginError> {
    Ok(Decision { state: hoist_sdk::state::encode(state)?, actions: vec![action], status })
}
