//! One decision of the recreate strategy.

use std::collections::BTreeMap;

use hoist_sdk::strategy::{Action, Context, Decision, OperatorCommand, ReadyTarget, WaitFor, scale};
use hoist_sdk::types::{InstanceState, PluginError, Weight};
use serde::{Deserialize, Serialize};

/// How long to wait before looking again while old instances drain.
const POLL_MS: u64 = 1_000;

/// Config keys (all optional): `progress-deadline-ms` (default 600000).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default = "ten_minutes")]
    pub progress_deadline_ms: u64,
}

fn ten_minutes() -> u64 {
    600_000
}

/// What the observation cannot tell: when the candidate was started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct State {
    candidate_started_at_ms: Option<u64>,
}

pub fn decide(ctx: &Context) -> Result<Decision, PluginError> {
    let config: Config = hoist_sdk::config::parse(&ctx.config)?;
    let mut state = hoist_sdk::state::decode::<State>(ctx.state.as_deref())?.unwrap_or_default();
    let candidate = ctx.candidate.id.as_str();
    let replicas = ctx.replicas;

    match &ctx.observed.command {
        Some(OperatorCommand::Abort) => {
            return decision(
                &state,
                vec![Action::Rollback("aborted by operator".to_owned())],
                "aborted by operator, rolling back".to_owned(),
            );
        }
        Some(other) => {
            hoist_sdk::log::info(&format!("recreate ignores operator command {other:?}"));
        }
        None => {}
    }

    // Instances per revision, stopping ones included: an old instance that
    // is still draining is still running.
    let mut old: BTreeMap<&str, u32> = BTreeMap::new();
    let (mut cand_count, mut cand_ready) = (0u32, 0u32);
    for instance in &ctx.observed.instances {
        if instance.revision == candidate {
            if instance.state != InstanceState::Stopping {
                cand_count += 1;
            }
            if instance.state == InstanceState::Ready {
                cand_ready += 1;
            }
        } else {
            *old.entry(instance.revision.as_str()).or_default() += 1;
        }
    }

    if !old.is_empty() {
        let mut actions = Vec::new();
        if cand_count > 0 {
            // Leftovers from an earlier attempt: never run both at once.
            actions.push(scale(candidate, 0));
        }
        actions.extend(old.keys().map(|rev| scale(rev, 0)));
        actions.push(Action::Wait(WaitFor::Duration(POLL_MS)));
        let left: u32 = old.values().sum();
        let names: Vec<&str> = old.keys().copied().collect();
        return decision(
            &state,
            actions,
            format!("stopping {}: {left} instance(s) left before starting {candidate}", names.join(", ")),
        );
    }

    let started_at = *state.candidate_started_at_ms.get_or_insert(ctx.now_ms);
    if cand_ready >= replicas {
        let mut actions = Vec::new();
        if cand_count != replicas {
            actions.push(scale(candidate, replicas));
        }
        if replicas > 0 && !is_all_to(&ctx.observed.weights, candidate) {
            actions.push(Action::SetWeights(vec![Weight { revision: candidate.to_owned(), percent: 100 }]));
        }
        actions.push(Action::Complete);
        return decision(&state, actions, format!("{candidate} {cand_ready}/{replicas} ready → complete"));
    }

    let waited = ctx.now_ms.saturating_sub(started_at);
    if waited >= config.progress_deadline_ms {
        let reason = format!(
            "progress deadline exceeded: {candidate} has {cand_ready}/{replicas} ready after {}s",
            waited / 1000
        );
        return decision(
            &state,
            vec![Action::Rollback(reason.clone())],
            format!("{candidate} {cand_ready}/{replicas} ready → {reason}"),
        );
    }
    let mut actions = Vec::new();
    if cand_count != replicas {
        actions.push(scale(candidate, replicas));
    }
    actions.push(Action::Wait(WaitFor::Ready(ReadyTarget { revision: candidate.to_owned(), count: replicas })));
    decision(&state, actions, format!("starting {candidate}: {cand_ready}/{replicas} ready"))
}

fn is_all_to(weights: &[Weight], revision: &str) -> bool {
    matches!(weights, [w] if w.revision == revision && w.percent == 100)
}

fn decision(state: &State, actions: Vec<Action>, status: String) -> Result<Decision, PluginError> {
    Ok(Decision { state: hoist_sdk::state::encode(state)?, actions, status })
}
