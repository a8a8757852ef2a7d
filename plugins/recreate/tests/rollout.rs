//! The recreate strategy driven through whole rollouts by the SDK harness.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use hoist_sdk::prelude::*;
use hoist_sdk::testing::contract::{
    assert_aborted, assert_deadline_rollback, assert_first_deployment, assert_promoted, assert_well_formed,
    check_strategy,
};
use hoist_sdk::testing::{ContextBuilder, ObservationBuilder, Outcome, Run, StrategyHarness};
use recreate::Recreate;

/// Both revisions never run at once, and the contract's rules hold.
fn check_invariants(run: &Run, label: &str) {
    assert_well_formed(run, label);
    for step in &run.steps {
        for snap in [&step.observed, &step.applied] {
            assert!(
                snap.replicas_of("r1") == 0 || snap.replicas_of("r2") == 0,
                "{label}: both revisions run at {step:?}"
            );
        }
    }
}

#[test]
fn stops_the_old_revision_then_starts_the_new_one() {
    let run = StrategyHarness::new(3).run::<Recreate>();
    assert_promoted(&run, 3, "3 replicas");
    check_invariants(&run, "3 replicas");
    assert_eq!(run.steps[0].applied.replicas_of("r1"), 0);
    assert_eq!(run.steps[0].applied.replicas_of("r2"), 0);
    assert_eq!(run.steps[1].applied.replicas_of("r2"), 3);
}

#[test]
fn never_runs_both_revisions_for_many_shapes() {
    for replicas in 0..=8 {
        for delay in [0, 1, 1_000, 45_000] {
            for stable in [0, 1, replicas, replicas + 2] {
                let label = format!("replicas={replicas} delay={delay} stable={stable}");
                let run =
                    StrategyHarness::new(replicas).ready_after_ms(delay).stable_instances(stable).run::<Recreate>();
                assert_eq!(run.outcome, Outcome::Complete, "{label}");
                check_invariants(&run, &label);
                assert_eq!(run.last().unwrap().applied.replicas_of("r2"), replicas);
            }
        }
    }
}

#[test]
fn draining_old_instances_block_the_start() {
    // An old instance still stopping counts: nothing of r2 may start yet.
    let ctx = ContextBuilder::new()
        .replicas(2)
        .observed(ObservationBuilder::new().with_state("r1", 1, InstanceState::Stopping).build())
        .build();
    let d = Recreate::decide(ctx).unwrap();
    assert!(
        !d.actions.iter().any(|a| matches!(a, Action::Scale(s) if s.revision == "r2" && s.replicas > 0)),
        "{:?}",
        d.actions
    );
    assert!(d.status.contains("1 instance(s) left"), "{}", d.status);
}

#[test]
fn first_deployment_just_scales_up() {
    let run = StrategyHarness::new(4).first_deployment().run::<Recreate>();
    assert_first_deployment(&run, 4);
}

#[test]
fn abort_rolls_back() {
    let run =
        StrategyHarness::new(3).ready_after_ms(10_000).command_at(2_000, OperatorCommand::Abort).run::<Recreate>();
    assert_aborted(&run, "abort");
}

#[test]
fn never_ready_candidate_rolls_back_at_the_deadline() {
    let h = StrategyHarness::new(3)
        .config(r#"{"progress-deadline-ms": 30000}"#)
        .candidate_never_ready()
        .progress_deadline_ms(30_000);
    let run = h.run::<Recreate>();
    let reason = assert_deadline_rollback(&run);
    assert!(reason.contains("0/3"), "{reason}");
    check_invariants(&run, "never ready");
}

#[test]
fn other_commands_are_ignored() {
    for command in [OperatorCommand::Promote, OperatorCommand::PromoteFull, OperatorCommand::SkipStep] {
        let run = StrategyHarness::new(2).command_at(500, command).run::<Recreate>();
        assert_eq!(run.outcome, Outcome::Complete);
        check_invariants(&run, "command");
    }
}

#[test]
fn bad_config_names_the_key() {
    for json in [r#"{"progress-deadline": 1}"#, r#"{"progress-deadline-ms": "soon"}"#] {
        let run = StrategyHarness::new(1).config(json).run::<Recreate>();
        let Outcome::Error(PluginError::InvalidConfig(msg)) = &run.outcome else { panic!("{json}: {:?}", run.outcome) };
        assert!(msg.contains("progress-deadline"), "{msg}");
    }
}

#[test]
fn status_lines_are_readable() {
    let run = StrategyHarness::new(3).run::<Recreate>();
    assert_eq!(run.steps[0].status, "stopping r1: 3 instance(s) left before starting r2");
    assert_eq!(run.steps[1].status, "starting r2: 0/3 ready");
    assert_eq!(run.last().unwrap().status, "r2 3/3 ready → complete");
}

#[test]
fn keeps_the_strategy_contract() {
    check_strategy::<Recreate>("");
}
