//! The rolling strategy driven through whole rollouts by the SDK harness.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use hoist_sdk::prelude::*;
use hoist_sdk::testing::contract::{
    assert_aborted, assert_deadline_rollback, assert_first_deployment, assert_promoted, assert_well_formed,
    check_strategy,
};
use hoist_sdk::testing::{Outcome, Run, StrategyHarness};
use rolling::{Config, Rolling};

fn fenceposts(replicas: u32, surge: &str, unavailable: &str) -> (u32, u32) {
    let json = format!(r#"{{"max-surge": {surge}, "max-unavailable": {unavailable}}}"#);
    let config: Config = hoist_sdk::config::parse(&json).unwrap();
    config.fenceposts(replicas).unwrap()
}

#[test]
fn kubernetes_rounding_table() {
    // (replicas, max-surge, max-unavailable) -> (surge, unavailable)
    let table = [
        (10, r#""25%""#, r#""25%""#, (3, 2)),
        (4, r#""25%""#, r#""25%""#, (1, 1)),
        (1, r#""25%""#, r#""25%""#, (1, 0)),
        (3, r#""25%""#, r#""25%""#, (1, 0)),
        (5, r#""30%""#, r#""30%""#, (2, 1)),
        (10, r#""0%""#, r#""0%""#, (0, 1)),
        (3, "0", "0", (0, 1)),
        (3, "0", r#""10%""#, (0, 1)),
        (10, "2", "0", (2, 0)),
        (7, r#""100%""#, "0", (7, 0)),
        (2, "0", "5", (0, 2)),
        (0, r#""25%""#, r#""25%""#, (0, 0)),
    ];
    for (replicas, surge, unavailable, want) in table {
        assert_eq!(fenceposts(replicas, surge, unavailable), want, "{replicas} {surge} {unavailable}");
    }
}

#[test]
fn defaults_are_25_percent() {
    let config: Config = hoist_sdk::config::parse("").unwrap();
    assert_eq!(config.fenceposts(10).unwrap(), (3, 2));
    assert_eq!(config.progress_deadline_ms, 600_000);
    assert_eq!(config.min_ready_ms, 0);
}

#[test]
fn bad_config_is_invalid_config() {
    for json in [r#"{"max-surge": "lots"}"#, r#"{"max-surge": -1}"#, r#"{"surge": 1}"#] {
        let run = StrategyHarness::new(3).config(json).run::<Rolling>();
        assert!(matches!(run.outcome, Outcome::Error(PluginError::InvalidConfig(_))), "{json}: {:?}", run.outcome);
    }
}

/// The bounds of every step, the contract's rules, and the end state of a
/// finished rollout.
fn check(run: &Run, replicas: u32, surge: u32, unavailable: u32, label: &str) {
    assert_eq!(run.outcome, Outcome::Complete, "{label}: {:?}", run.last());
    let min_available = replicas.saturating_sub(unavailable);
    for step in &run.steps {
        for snap in [&step.observed, &step.applied] {
            assert!(snap.total() <= replicas + surge, "{label}: surge bound broken at {step:?}");
            assert!(snap.total_ready() >= min_available, "{label}: availability bound broken at {step:?}");
        }
    }
    assert_well_formed(run, label);
    assert_promoted(run, replicas, label);
}

#[test]
fn bounds_hold_and_rollouts_complete_for_many_shapes() {
    let values = ["0", "1", "2", r#""25%""#, r#""50%""#, r#""100%""#, r#""0%""#];
    let mut runs = 0;
    for replicas in 0..=12 {
        for surge in values {
            for unavailable in values {
                for (min_ready, delay) in [(0, 1_000), (1_500, 0), (2_000, 3_000)] {
                    let json = format!(
                        r#"{{"max-surge": {surge}, "max-unavailable": {unavailable}, "min-ready-ms": {min_ready}}}"#
                    );
                    let (s, u) = fenceposts(replicas, surge, unavailable);
                    let run = StrategyHarness::new(replicas).config(&json).ready_after_ms(delay).run::<Rolling>();
                    check(&run, replicas, s, u, &format!("replicas={replicas} {json} delay={delay}"));
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 1_000);
}

#[test]
fn first_deployment_scales_straight_to_replicas() {
    let run = StrategyHarness::new(4).first_deployment().run::<Rolling>();
    assert_first_deployment(&run, 4);
}

#[test]
fn status_lines_are_readable() {
    let run = StrategyHarness::new(10).run::<Rolling>();
    assert_eq!(run.steps[0].status, "r2 0/10 ready, r1 10 → waiting for readiness");
    assert!(run.last().unwrap().status.ends_with("→ complete"), "{}", run.last().unwrap().status);
}

#[test]
fn first_step_surges_then_drains_within_bounds() {
    let run = StrategyHarness::new(10).run::<Rolling>();
    let first = &run.steps[0];
    // 25 % surge of 10 rounds up to 3; 25 % unavailable rounds down to 2:
    // 2 old instances go, so the first batch uses the whole room of 13.
    assert_eq!(first.applied.replicas_of("r1"), 8);
    assert_eq!(first.applied.replicas_of("r2"), 5);
}

#[test]
fn traffic_follows_ready_instances() {
    let run = StrategyHarness::new(4).config(r#"{"max-surge": 1, "max-unavailable": 0}"#).run::<Rolling>();
    let mixed = run
        .steps
        .iter()
        .find_map(|s| {
            s.actions.iter().find_map(|a| match a {
                Action::SetWeights(w) if w.len() == 2 => Some(w.clone()),
                _ => None,
            })
        })
        .unwrap();
    // One candidate instance ready beside four (then three) stable ones.
    assert!(mixed.iter().any(|w| w.revision == "r2" && (w.percent == 20 || w.percent == 25)), "{mixed:?}");
}

#[test]
fn min_ready_delays_scale_down() {
    let h = StrategyHarness::new(2)
        .config(r#"{"max-surge": 1, "max-unavailable": 0, "min-ready-ms": 5000}"#)
        .ready_after_ms(1_000);
    let run = h.run::<Rolling>();
    assert_eq!(run.outcome, Outcome::Complete);
    let first_drain = run.steps.iter().find(|s| s.applied.replicas_of("r1") < 2).unwrap();
    assert!(first_drain.at_ms >= h.started_at_ms() + 6_000, "{first_drain:?}");
}

#[test]
fn progress_deadline_rolls_back() {
    let h = StrategyHarness::new(3)
        .config(r#"{"progress-deadline-ms": 60000}"#)
        .candidate_never_ready()
        .progress_deadline_ms(60_000);
    let run = h.run::<Rolling>();
    let reason = assert_deadline_rollback(&run);
    assert!(reason.starts_with("progress deadline exceeded: "), "{reason}");
    assert!(reason.contains("0/3"), "{reason}");
    assert_eq!(run.end_ms(), h.started_at_ms() + 60_000);
    // The stable revision kept serving meanwhile.
    assert!(run.steps.iter().all(|s| s.applied.ready_of("r1") >= 3));
}

#[test]
fn progress_resets_the_deadline() {
    // Each candidate instance takes 40 s, the deadline is 60 s: slow but progressing.
    let run = StrategyHarness::new(4)
        .config(r#"{"max-surge": 1, "max-unavailable": 0, "progress-deadline-ms": 60000}"#)
        .ready_after_ms(40_000)
        .run::<Rolling>();
    assert_eq!(run.outcome, Outcome::Complete);
}

#[test]
fn abort_rolls_back() {
    let run = StrategyHarness::new(6).ready_after_ms(5_000).command_at(7_000, OperatorCommand::Abort).run::<Rolling>();
    assert_aborted(&run, "abort");
    assert_eq!(run.last().unwrap().command, Some(OperatorCommand::Abort));
}

#[test]
fn promote_full_ignores_surge() {
    let run = StrategyHarness::new(10)
        .config(r#"{"max-surge": 0, "max-unavailable": 1}"#)
        .command_at(0, OperatorCommand::PromoteFull)
        .run::<Rolling>();
    assert_eq!(run.outcome, Outcome::Complete);
    assert_eq!(run.steps[0].applied.replicas_of("r2"), 10);
    assert_eq!(run.steps[0].applied.replicas_of("r1"), 0);
    assert_eq!(run.steps.len(), 2);
}

#[test]
fn state_survives_a_restart_and_garbage_is_refused() {
    use hoist_sdk::testing::{ContextBuilder, ObservationBuilder};
    let ctx = ContextBuilder::new()
        .replicas(2)
        .state(Some(b"not json".to_vec()))
        .observed(ObservationBuilder::new().ready("r1", 2, 0).build())
        .build();
    assert!(matches!(Rolling::decide(ctx), Err(PluginError::InvalidState(_))));
}

#[test]
fn unavailable_stable_does_not_block_a_full_size_candidate() {
    // The stable revision is below size; the candidate still reaches full size.
    let run = StrategyHarness::new(4).stable_instances(1).run::<Rolling>();
    assert_eq!(run.outcome, Outcome::Complete);
    assert_eq!(run.last().unwrap().applied.replicas_of("r2"), 4);
}

#[test]
fn keeps_the_strategy_contract() {
    check_strategy::<Rolling>("");
    check_strategy::<Rolling>(r#"{"max-surge": 1, "max-unavailable": 0}"#);
}
