//! The rules every strategy keeps, whatever its shape — what the host
//! relies on when it applies a decision. A strategy's tests call
//! [`check_strategy`] once with the strategy and a config, and the
//! `assert_*` rules on runs of their own.
//!
//! The rules read the harness's revisions: `r1` stable, `r2` candidate.

use crate::strategy::{Action, OperatorCommand, Strategy};
use crate::testing::builders::weights;
use crate::testing::harness::{Outcome, Run, StrategyHarness};

const STABLE: &str = "r1";
const CANDIDATE: &str = "r2";

/// Every decision ends with a wait, complete or rollback (so the host knows
/// when to call again); every split sums to 100 % and names only revisions
/// with a ready instance that keep their instances.
pub fn assert_well_formed(run: &Run, label: &str) {
    for step in &run.steps {
        for action in &step.actions {
            if let Action::SetWeights(ws) = action {
                let sum: u32 = ws.iter().map(|w| u32::from(w.percent)).sum();
                assert_eq!(sum, 100, "{label}: weights {ws:?}");
                for w in ws {
                    assert!(
                        step.observed.ready_of(&w.revision) > 0 && step.applied.replicas_of(&w.revision) > 0,
                        "{label}: a split names an unready revision at {step:?}"
                    );
                }
            }
        }
        assert!(
            matches!(step.actions.last(), Some(Action::Wait(_) | Action::Complete | Action::Rollback(_))),
            "{label}: decision does not end with wait, complete or rollback: {:?}",
            step.actions
        );
    }
}

/// The run completed with `replicas` instances of the candidate, none of
/// the stable revision, and (with any replicas) all traffic on the candidate.
pub fn assert_promoted(run: &Run, replicas: u32, label: &str) {
    assert_eq!(run.outcome, Outcome::Complete, "{label}: {:?}", run.last());
    let end = run.last().map(|s| s.applied.clone()).unwrap_or_default();
    assert_eq!(end.replicas_of(CANDIDATE), replicas, "{label}");
    assert_eq!(end.replicas_of(STABLE), 0, "{label}");
    if replicas > 0 {
        assert_eq!(end.weights, weights(&[(CANDIDATE, 100)]), "{label}");
    }
}

/// A first deployment scales the candidate straight to `replicas` and
/// completes on the next call, with all traffic on it.
pub fn assert_first_deployment(run: &Run, replicas: u32) {
    assert_eq!(run.outcome, Outcome::Complete, "first deployment: {:?}", run.last());
    assert_eq!(run.steps.len(), 2, "first deployment: {:#?}", run.steps);
    assert_eq!(run.steps[0].applied.replicas_of(CANDIDATE), replicas, "first deployment: {:?}", run.steps[0]);
    let end = run.last().map(|s| s.applied.weights.clone()).unwrap_or_default();
    assert_eq!(end, weights(&[(CANDIDATE, 100)]), "first deployment");
}

/// An operator's abort ends the run rolled back, saying so.
pub fn assert_aborted(run: &Run, label: &str) {
    assert_eq!(run.outcome, Outcome::Rollback("aborted by operator".into()), "{label}");
}

/// The run rolled back for the progress deadline; its reason.
pub fn assert_deadline_rollback(run: &Run) -> &str {
    let reason = match &run.outcome {
        Outcome::Rollback(reason) => reason.as_str(),
        _ => "",
    };
    assert!(reason.starts_with("progress deadline exceeded"), "not a progress-deadline rollback: {:?}", run.outcome);
    reason
}

/// `S` keeps the contract with `config` (JSON; its progress deadline left
/// at the default 600 s): a first deployment of 3 just scales up; a
/// rollout of 3 completes on the candidate alone; an abort mid-rollout
/// rolls back; a candidate that never becomes ready rolls back at the
/// progress deadline without ever getting traffic; every decision is well
/// formed throughout.
pub fn check_strategy<S: Strategy>(config: &str) {
    let h = StrategyHarness::new(3).config(config);

    assert_first_deployment(&h.clone().first_deployment().run::<S>(), 3);

    let run = h.run::<S>();
    assert_well_formed(&run, "rollout");
    assert_promoted(&run, 3, "rollout");

    let run = h.clone().ready_after_ms(5_000).command_at(2_000, OperatorCommand::Abort).run::<S>();
    assert_well_formed(&run, "abort");
    assert_aborted(&run, "abort mid-rollout");

    let run = h.clone().candidate_never_ready().run::<S>();
    assert_well_formed(&run, "never ready");
    assert_deadline_rollback(&run);
    let candidate_traffic =
        run.steps.iter().flat_map(|s| &s.actions).any(
            |a| matches!(a, Action::SetWeights(ws) if ws.iter().any(|w| w.revision == CANDIDATE && w.percent > 0)),
        );
    assert!(!candidate_traffic, "a candidate that never became ready got traffic: {:#?}", run.steps);
}
