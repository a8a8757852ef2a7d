//! [`StrategyHarness`]: drives a [`Strategy`] against a perfect simulated
//! platform in virtual time and records every step.

use std::collections::{BTreeMap, VecDeque};

use crate::strategy::{Action, Context, Observation, OperatorCommand, Strategy, WaitFor};
use crate::testing::builders::revision;
use crate::testing::sim::Sim;
use crate::types::{PluginError, Revision, TimestampMs, Verdict, Weight};

/// How long a strategy waiting for ready instances waits before it is
/// asked again anyway — the engine's default `ready_recheck_ms`, so a
/// strategy behaves here as it does under `hoist simulate` and live.
pub const READY_RECHECK_MS: u64 = 30_000;

/// Replicas, readiness and traffic at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Instances per revision (revisions with none are left out).
    pub replicas: BTreeMap<String, u32>,
    /// Ready instances per revision (revisions with none are left out).
    pub ready: BTreeMap<String, u32>,
    /// The traffic split.
    pub weights: Vec<Weight>,
}

impl Snapshot {
    /// Instances of `revision`.
    pub fn replicas_of(&self, revision: &str) -> u32 {
        self.replicas.get(revision).copied().unwrap_or(0)
    }

    /// Ready instances of `revision`.
    pub fn ready_of(&self, revision: &str) -> u32 {
        self.ready.get(revision).copied().unwrap_or(0)
    }

    /// Instances of every revision.
    pub fn total(&self) -> u32 {
        self.replicas.values().sum()
    }

    /// Ready instances of every revision.
    pub fn total_ready(&self) -> u32 {
        self.ready.values().sum()
    }
}

/// One call of `decide` and what followed.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Virtual time of the call.
    pub at_ms: TimestampMs,
    /// What the strategy was shown.
    pub observed: Snapshot,
    /// Right after the actions were applied.
    pub applied: Snapshot,
    /// The operator command delivered with this call.
    pub command: Option<OperatorCommand>,
    /// The actions returned.
    pub actions: Vec<Action>,
    /// The status line returned.
    pub status: String,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The strategy returned `complete`.
    Complete,
    /// The strategy returned `rollback(reason)`.
    Rollback(String),
    /// The strategy returned an error.
    Error(PluginError),
    /// The strategy waits for an operator and no command is scripted.
    WaitingForOperator(String),
    /// The step cap was reached first.
    StepCap,
}

/// The record of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub outcome: Outcome,
    pub steps: Vec<Step>,
}

impl Run {
    /// The last step, if any.
    pub fn last(&self) -> Option<&Step> {
        self.steps.last()
    }

    /// Virtual time of the last call.
    pub fn end_ms(&self) -> TimestampMs {
        self.steps.last().map_or(0, |s| s.at_ms)
    }
}

/// Drives a strategy against a perfect platform: `scale` makes instances
/// appear at once (ready after [`ready_after_ms`](Self::ready_after_ms)) or
/// disappear (newest first), `set-weights` applies at once, `run-analysis`
/// yields the next scripted verdict (default pass) after its duration, and
/// `wait` advances virtual time. Operator commands are delivered at the
/// first call at or after their time, and a wait ends early for them —
/// except abort, which, as under the engine, the host carries out without
/// asking the strategy (the run ends `Rollback("aborted by operator")`).
///
/// Defaults: service `web`, stable `r1` with `replicas` ready instances,
/// candidate `r2`, instances ready after 1 s, start at time 1 000 000,
/// at most 1 000 steps, an unreachable `ready` wait ends after 600 s.
#[derive(Debug, Clone)]
pub struct StrategyHarness {
    pub(super) replicas: u32,
    pub(super) stable: Option<Revision>,
    candidate: Revision,
    config: String,
    pub(super) ready_after_ms: u64,
    pub(super) never_ready: Vec<String>,
    progress_deadline_ms: u64,
    max_steps: usize,
    verdicts: VecDeque<Verdict>,
    commands: Vec<(TimestampMs, OperatorCommand)>,
    started_at: TimestampMs,
    pub(super) stable_instances: Option<u32>,
}

impl StrategyHarness {
    /// A rollout from `r1` (at full size) to `r2` with `replicas` replicas.
    pub fn new(replicas: u32) -> Self {
        Self {
            replicas,
            stable: Some(revision("r1")),
            candidate: revision("r2"),
            config: String::new(),
            ready_after_ms: 1_000,
            never_ready: Vec::new(),
            progress_deadline_ms: 600_000,
            max_steps: 1_000,
            verdicts: VecDeque::new(),
            commands: Vec::new(),
            started_at: 1_000_000,
            stable_instances: None,
        }
    }

    /// No stable revision and no instances.
    pub fn first_deployment(mut self) -> Self {
        self.stable = None;
        self
    }

    /// Start with this many stable instances instead of `replicas`.
    pub fn stable_instances(mut self, count: u32) -> Self {
        self.stable_instances = Some(count);
        self
    }

    /// The strategy's config JSON.
    pub fn config(mut self, json: &str) -> Self {
        self.config = json.to_owned();
        self
    }

    /// New instances become ready this long after they appear.
    pub fn ready_after_ms(mut self, ms: u64) -> Self {
        self.ready_after_ms = ms;
        self
    }

    /// Instances of `revision` never become ready.
    pub fn never_ready(mut self, revision: &str) -> Self {
        self.never_ready.push(revision.to_owned());
        self
    }

    /// Candidate instances never become ready.
    pub fn candidate_never_ready(self) -> Self {
        let candidate = self.candidate.id.clone();
        self.never_ready(&candidate)
    }

    /// How long an unreachable `wait(ready)` lasts.
    pub fn progress_deadline_ms(mut self, ms: u64) -> Self {
        self.progress_deadline_ms = ms;
        self
    }

    /// Stop after this many calls.
    pub fn max_steps(mut self, steps: usize) -> Self {
        self.max_steps = steps;
        self
    }

    /// Verdicts of successive analyses (after they run out: pass).
    pub fn verdicts(mut self, verdicts: impl IntoIterator<Item = Verdict>) -> Self {
        self.verdicts.extend(verdicts);
        self
    }

    /// Deliver `command` at `offset_ms` after the start.
    pub fn command_at(mut self, offset_ms: u64, command: OperatorCommand) -> Self {
        self.commands.push((self.started_at.saturating_add(offset_ms), command));
        self.commands.sort_by_key(|(at, _)| *at);
        self
    }

    /// Virtual start time.
    pub fn started_at_ms(&self) -> TimestampMs {
        self.started_at
    }

    /// The candidate revision's id.
    pub fn candidate_id(&self) -> &str {
        &self.candidate.id
    }

    /// What the host does on an abort: all traffic and full size back on
    /// the stable revision (if any), the candidate removed, rolled back.
    /// Traffic moves only once a stable instance is ready, as the engine
    /// moves it.
    fn abort_actions(&self, stable_ready: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(stable) = &self.stable {
            if stable_ready {
                actions.push(Action::SetWeights(vec![Weight { revision: stable.id.clone(), percent: 100 }]));
            }
            actions
                .push(Action::Scale(crate::strategy::ScaleTo { revision: stable.id.clone(), replicas: self.replicas }));
        }
        actions.push(Action::Scale(crate::strategy::ScaleTo { revision: self.candidate.id.clone(), replicas: 0 }));
        actions.push(Action::Rollback("aborted by operator".into()));
        actions
    }

    /// Run `S` until it completes, rolls back, fails or hits the step cap.
    pub fn run<S: Strategy>(&self) -> Run {
        let mut sim = Sim::new(self);
        let mut steps = Vec::new();
        let mut state: Option<Vec<u8>> = None;
        let mut commands: VecDeque<(TimestampMs, OperatorCommand)> = self.commands.iter().cloned().collect();
        let mut verdicts = self.verdicts.clone();
        let mut now = self.started_at;
        for _ in 0..self.max_steps {
            let command = match commands.front() {
                Some((at, _)) if *at <= now => commands.pop_front().map(|(_, c)| c),
                _ => None,
            };
            sim.finish_analysis(now);
            let observed = sim.snapshot(now);
            // Abort is the host's, as under the engine: the strategy is not
            // asked; traffic and size go back to the stable revision and the
            // candidate is removed.
            if command == Some(OperatorCommand::Abort) {
                let actions =
                    self.abort_actions(observed.ready_of(self.stable.as_ref().map_or("", |r| r.id.as_str())) > 0);
                for action in &actions {
                    match action {
                        Action::Scale(s) => sim.scale(&s.revision, s.replicas, now),
                        Action::SetWeights(w) => sim.weights = w.clone(),
                        _ => {}
                    }
                }
                steps.push(Step {
                    at_ms: now,
                    observed,
                    applied: sim.snapshot(now),
                    command,
                    actions,
                    status: "aborted by operator".into(),
                });
                return Run { outcome: Outcome::Rollback("aborted by operator".into()), steps };
            }
            let ctx = Context {
                rollout_id: "rollout-1".to_owned(),
                service: "web".to_owned(),
                environment: "test".to_owned(),
                stable: self.stable.clone(),
                candidate: self.candidate.clone(),
                replicas: self.replicas,
                config: self.config.clone(),
                state: state.take(),
                now_ms: now,
                started_at_ms: self.started_at,
                observed: Observation {
                    instances: sim.instances(now),
                    weights: sim.weights.clone(),
                    analysis: sim.analysis.clone(),
                    command: command.clone(),
                    extensions: Vec::new(),
                },
                extensions: Vec::new(),
            };
            crate::testing::set_now_ms(now);
            let decision = match S::decide(ctx) {
                Ok(d) => d,
                Err(e) => {
                    return Run { outcome: Outcome::Error(e), steps };
                }
            };
            state = Some(decision.state);
            let mut end = None;
            let mut wait = None;
            for action in &decision.actions {
                match action {
                    Action::Scale(s) => sim.scale(&s.revision, s.replicas, now),
                    Action::SetWeights(w) => sim.weights = w.clone(),
                    Action::RunAnalysis(a) => {
                        let verdict = verdicts.pop_front().unwrap_or(Verdict::Pass);
                        sim.pending = Some((a.name.clone(), now.saturating_add(a.duration), verdict));
                    }
                    Action::Wait(w) => wait = Some(w.clone()),
                    Action::Complete => end = Some(Outcome::Complete),
                    Action::Rollback(r) => end = Some(Outcome::Rollback(r.clone())),
                }
            }
            steps.push(Step {
                at_ms: now,
                observed,
                applied: sim.snapshot(now),
                command,
                actions: decision.actions,
                status: decision.status,
            });
            if let Some(outcome) = end {
                return Run { outcome, steps };
            }
            let next_command = commands.front().map(|(at, _)| *at);
            let next = match wait {
                None => Some(now),
                Some(WaitFor::Duration(d)) => Some(now.saturating_add(d.max(1))),
                // As under the engine: asked again when the instances are
                // ready, or after `READY_RECHECK_MS` if they are not yet.
                Some(WaitFor::Ready(t)) => Some(
                    sim.ready_time(&t.revision, t.count)
                        .map_or(now.saturating_add(self.progress_deadline_ms), |at| at.max(now))
                        .min(now.saturating_add(READY_RECHECK_MS)),
                ),
                Some(WaitFor::Operator(_)) => None,
            };
            now = match (next, next_command) {
                (Some(a), Some(b)) => a.min(b.max(now)),
                (Some(a), None) => a,
                (None, Some(b)) => b.max(now),
                (None, None) => {
                    let reason = match steps.last().and_then(|s| s.actions.last()) {
                        Some(Action::Wait(WaitFor::Operator(r))) => r.clone(),
                        _ => String::new(),
                    };
                    return Run { outcome: Outcome::WaitingForOperator(reason), steps };
                }
            };
        }
        Run { outcome: Outcome::StepCap, steps }
    }
}
