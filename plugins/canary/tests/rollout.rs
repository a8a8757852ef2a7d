//! The canary strategy driven through whole rollouts by the SDK harness.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use canary::{Canary, Config, PlanStep, canary_replicas};
use hoist_sdk::prelude::*;
use hoist_sdk::testing::contract::{
    assert_aborted, assert_deadline_rollback, assert_first_deployment, assert_promoted, assert_well_formed,
    check_strategy,
};
use hoist_sdk::testing::{Outcome, Run, StrategyHarness, weights};

/// The candidate's share in every split the run sent.
fn candidate_weights(run: &Run) -> Vec<u8> {
    run.steps
        .iter()
        .flat_map(|s| &s.actions)
        .filter_map(|a| match a {
            Action::SetWeights(ws) => Some(ws.iter().find(|w| w.revision == "r2").map_or(0, |w| w.percent)),
            _ => None,
        })
        .collect()
}

fn analyses(run: &Run) -> usize {
    run.steps.iter().flat_map(|s| &s.actions).filter(|a| matches!(a, Action::RunAnalysis(_))).count()
}

/// The contract's rules; and weights never fall, traffic only reaches
/// ready instances, the stable revision keeps full size until promotion.
fn check_invariants(run: &Run, replicas: u32, label: &str) {
    assert_well_formed(run, label);
    let mut last = 0u8;
    for step in &run.steps {
        // An abort is the host's step (as under the engine), not the canary's.
        if step.command == Some(OperatorCommand::Abort) {
            continue;
        }
        let promoting = step.actions.iter().any(|a| matches!(a, Action::Complete));
        for action in &step.actions {
            if let Action::SetWeights(ws) = action {
                let w = ws.iter().find(|w| w.revision == "r2").map_or(0, |w| w.percent);
                assert!(w >= last, "{label}: weight fell from {last} to {w} at {step:?}");
                if w > 0 {
                    let need = canary_replicas(replicas, w);
                    assert!(
                        step.observed.ready_of("r2") >= need,
                        "{label}: {w} % to {} ready instances at {step:?}",
                        step.observed.ready_of("r2")
                    );
                }
                last = w;
            }
        }
        if !promoting {
            assert!(step.applied.replicas_of("r1") >= replicas, "{label}: stable shrank before promotion at {step:?}");
        }
    }
}

#[test]
fn compact_defaults_expand_like_flagger() {
    let config: Config = hoist_sdk::config::parse("").unwrap();
    let plan = config.plan().unwrap();
    let weights: Vec<u8> = plan
        .iter()
        .filter_map(|s| match s {
            PlanStep::SetWeight(w) => Some(*w),
            _ => None,
        })
        .collect();
    assert_eq!(weights, vec![10, 35, 60, 85, 100]);
    assert_eq!(plan.len(), 10);
    let capped: Config = hoist_sdk::config::parse(r#"{"max-steps": 2, "max-weight": 50}"#).unwrap();
    assert_eq!(capped.plan().unwrap().len(), 4);
}

#[test]
fn default_run_steps_through_every_weight_and_promotes() {
    let run = StrategyHarness::new(10).run::<Canary>();
    assert_promoted(&run, 10, "default");
    check_invariants(&run, 10, "default");
    assert_eq!(candidate_weights(&run), vec![10, 35, 60, 85, 100, 100]);
    assert_eq!(analyses(&run), 5);
}

#[test]
fn candidate_replicas_follow_the_weight() {
    assert_eq!(canary_replicas(10, 10), 1);
    assert_eq!(canary_replicas(10, 35), 4);
    assert_eq!(canary_replicas(3, 10), 1);
    assert_eq!(canary_replicas(3, 0), 1);
    assert_eq!(canary_replicas(3, 100), 3);
    assert_eq!(canary_replicas(0, 50), 0);
    let run = StrategyHarness::new(10).run::<Canary>();
    let at_35 = run.steps.iter().find(|s| s.applied.weights == weights(&[("r1", 65), ("r2", 35)])).unwrap();
    assert_eq!(at_35.applied.replicas_of("r2"), 4);
    assert_eq!(at_35.applied.replicas_of("r1"), 10);
}

#[test]
fn explicit_steps_with_timed_and_manual_pauses() {
    let config = r#"{"steps": [
        {"set-weight": 20}, {"pause": {"duration-ms": 60000}},
        {"set-weight": 50}, {"pause": {}},
        {"analysis": {"duration-ms": 30000}}
    ]}"#;
    let h = StrategyHarness::new(4).config(config);
    let run = h.run::<Canary>();
    assert_eq!(run.outcome, Outcome::WaitingForOperator("paused at step 4/5: promote to continue".into()));
    assert_eq!(candidate_weights(&run), vec![20, 50]);

    let run = h.command_at(600_000, OperatorCommand::Promote).run::<Canary>();
    assert_eq!(run.outcome, Outcome::Complete);
    check_invariants(&run, 4, "explicit");
    assert_eq!(candidate_weights(&run), vec![20, 50, 100]);
    assert_eq!(analyses(&run), 1);
    // The timed pause held the 20 % step for its full minute.
    let at_50 = run.steps.iter().find(|s| s.applied.weights == weights(&[("r1", 50), ("r2", 50)])).unwrap();
    assert!(at_50.at_ms >= 1_000_000 + 1_000 + 60_000, "{at_50:?}");
}

#[test]
fn failed_analysis_rolls_back() {
    let run =
        StrategyHarness::new(10).verdicts([Verdict::Pass, Verdict::Fail("error rate 9 %".into())]).run::<Canary>();
    assert_eq!(run.outcome, Outcome::Rollback("analysis failed at step 4/10 (35 % to r2): error rate 9 %".into()));
    check_invariants(&run, 10, "failed");
}

#[test]
fn thresholds_count_runs_per_step() {
    // Two passes per step; a single failure is tolerated, the second is not.
    let config = r#"{"initial-weight": 50, "step-weight": 50, "success-threshold": 2, "failure-threshold": 2}"#;
    let run = StrategyHarness::new(2)
        .config(config)
        .verdicts([Verdict::Fail("blip".into()), Verdict::Pass, Verdict::Pass])
        .run::<Canary>();
    assert_eq!(run.outcome, Outcome::Complete);
    assert_eq!(analyses(&run), 5);
    let run = StrategyHarness::new(2)
        .config(config)
        .verdicts([Verdict::Fail("a".into()), Verdict::Pass, Verdict::Fail("b".into())])
        .run::<Canary>();
    assert!(matches!(&run.outcome, Outcome::Rollback(r) if r.ends_with(": b")), "{:?}", run.outcome);
}

#[test]
fn inconclusive_analysis_waits_for_an_operator() {
    let h = StrategyHarness::new(4).verdicts([Verdict::Inconclusive("3 requests".into())]);
    let run = h.run::<Canary>();
    assert_eq!(run.outcome, Outcome::WaitingForOperator("analysis inconclusive: 3 requests".into()));
    let run = h.clone().command_at(300_000, OperatorCommand::Promote).run::<Canary>();
    assert_eq!(run.outcome, Outcome::Complete);
    check_invariants(&run, 4, "inconclusive+promote");
    let run = h.command_at(300_000, OperatorCommand::Abort).run::<Canary>();
    assert_aborted(&run, "inconclusive+abort");
}

#[test]
fn promote_full_goes_straight_to_promotion() {
    let run = StrategyHarness::new(6).command_at(30_000, OperatorCommand::PromoteFull).run::<Canary>();
    assert_eq!(run.outcome, Outcome::Complete);
    check_invariants(&run, 6, "promote-full");
    assert_eq!(candidate_weights(&run), vec![10, 100]);
    assert_eq!(analyses(&run), 1);
}

#[test]
fn skip_step_moves_on() {
    let config = r#"{"steps": [{"set-weight": 10}, {"pause": {}}, {"set-weight": 40}, {"pause": {}}]}"#;
    let run = StrategyHarness::new(5).config(config).command_at(10_000, OperatorCommand::SkipStep).run::<Canary>();
    assert_eq!(run.outcome, Outcome::WaitingForOperator("paused at step 4/4: promote to continue".into()));
    assert_eq!(candidate_weights(&run), vec![10, 40]);
}

#[test]
fn never_ready_candidate_rolls_back_without_traffic() {
    let run = StrategyHarness::new(4)
        .config(r#"{"progress-deadline-ms": 90000}"#)
        .candidate_never_ready()
        .progress_deadline_ms(90_000)
        .run::<Canary>();
    assert_deadline_rollback(&run);
    assert!(candidate_weights(&run).is_empty());
}

#[test]
fn first_deployment_just_scales_up() {
    let run = StrategyHarness::new(3).first_deployment().run::<Canary>();
    assert_first_deployment(&run, 3);
    assert_eq!(analyses(&run), 0);
}

#[test]
fn bad_configs_name_the_key() {
    for (json, key) in [
        (r#"{"steps": [{"set-weight": 10}], "step-weight": 5}"#, "step-weight"),
        (r#"{"steps": [{"set-weight": 50}, {"set-weight": 20}]}"#, "steps[1].set-weight"),
        (r#"{"steps": [{"set-weight": 101}]}"#, "steps[0].set-weight"),
        (r#"{"steps": [{"set-weight": 300}]}"#, "set-weight"),
        (r#"{"steps": [{"wait": {}}]}"#, "wait"),
        (r#"{"steps": [{"analysis": {"duration-ms": 0}}]}"#, "steps[0].analysis.duration-ms"),
        (r#"{"initial-weight": 0}"#, "initial-weight"),
        (r#"{"initial-weight": 60, "max-weight": 50}"#, "max-weight"),
        (r#"{"success-threshold": 0}"#, "success-threshold"),
        (r#"{"step-duration": 10}"#, "step-duration"),
    ] {
        let run = StrategyHarness::new(2).config(json).run::<Canary>();
        let Outcome::Error(PluginError::InvalidConfig(msg)) = &run.outcome else { panic!("{json}: {:?}", run.outcome) };
        assert!(msg.contains(key), "{json}: {msg}");
    }
}

#[test]
fn status_lines_are_readable() {
    let run = StrategyHarness::new(10).config(r#"{"success-threshold": 3}"#).run::<Canary>();
    let statuses: Vec<&str> = run.steps.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(statuses[0], "step 1/10: 0 % to r2, next 10 %, waiting for 0/1 ready");
    assert_eq!(statuses[1], "step 2/10: 10 % to r2, analysing (0/3 passed)");
    assert_eq!(statuses[2], "step 2/10: 10 % to r2, analysing (1/3 passed)");
    assert!(run.last().unwrap().status.starts_with("promoted: r2 10/10 ready"), "{statuses:?}");
}

#[test]
fn invariants_hold_for_many_configs() {
    let mut runs = 0;
    let configs = [
        String::new(),
        r#"{"initial-weight": 5, "step-weight": 5, "max-weight": 50, "step-duration-ms": 1000}"#.into(),
        r#"{"initial-weight": 50, "step-weight": 100}"#.into(),
        r#"{"max-steps": 2, "success-threshold": 2, "failure-threshold": 2}"#.into(),
        r#"{"steps": [{"set-weight": 1}, {"set-weight": 2}, {"pause": {"duration-ms": 10}}, {"set-weight": 100}, {"analysis": {}}]}"#.into(),
        r#"{"steps": [{"analysis": {"duration-ms": 5}}, {"set-weight": 33}, {"pause": {}}, {"set-weight": 66}]}"#.into(),
        r#"{"steps": []}"#.into(),
    ];
    let scripts = [
        vec![],
        vec![Verdict::Fail("f".into())],
        vec![Verdict::Pass, Verdict::Inconclusive("i".into()), Verdict::Fail("f".into())],
        vec![Verdict::Pass, Verdict::Pass, Verdict::Fail("f".into()), Verdict::Pass],
    ];
    let commands = [
        None,
        Some((5_000, OperatorCommand::SkipStep)),
        Some((70_000, OperatorCommand::PromoteFull)),
        Some((45_000, OperatorCommand::Abort)),
        Some((120_000, OperatorCommand::Promote)),
    ];
    for replicas in [1, 3, 10] {
        for config in &configs {
            for script in &scripts {
                for command in &commands {
                    for ready_after in [0, 2_500] {
                        let label = format!("{replicas} {config} {script:?} {command:?} {ready_after}");
                        let mut h = StrategyHarness::new(replicas)
                            .config(config)
                            .ready_after_ms(ready_after)
                            .verdicts(script.clone())
                            .command_at(1_000_000, OperatorCommand::Promote)
                            .command_at(2_000_000, OperatorCommand::Promote);
                        if let Some((at, c)) = command {
                            h = h.command_at(*at, c.clone());
                        }
                        let run = h.run::<Canary>();
                        check_invariants(&run, replicas, &label);
                        match &run.outcome {
                            Outcome::Complete => assert_promoted(&run, replicas, &label),
                            Outcome::Rollback(r) => {
                                assert!(r == "aborted by operator" || r.contains("analysis failed"), "{label}: {r}")
                            }
                            Outcome::WaitingForOperator(_) => {}
                            other => panic!("{label}: {other:?}"),
                        }
                        let aborted = run.steps.iter().any(|s| s.command == Some(OperatorCommand::Abort));
                        if aborted {
                            assert_aborted(&run, &label);
                        }
                        runs += 1;
                    }
                }
            }
        }
    }
    assert!(runs >= 800);
}

#[test]
fn keeps_the_strategy_contract() {
    check_strategy::<Canary>("");
    check_strategy::<Canary>(r#"{"steps": [{"set-weight": 50}, {"analysis": {"duration-ms": 1000}}]}"#);
}
