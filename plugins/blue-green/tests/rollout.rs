//! The blue-green strategy driven through whole rollouts by the SDK harness.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use blue_green::BlueGreen;
use hoist_sdk::prelude::*;
use hoist_sdk::testing::contract::{
    assert_aborted, assert_deadline_rollback, assert_first_deployment, assert_promoted, assert_well_formed,
    check_strategy,
};
use hoist_sdk::testing::{Outcome, Run, StrategyHarness, weights};

/// The contract's rules; and traffic only moves to a fully ready
/// candidate; until the switch the stable revision stays at full size.
fn check_invariants(run: &Run, replicas: u32, label: &str) {
    assert_well_formed(run, label);
    let mut switched = false;
    for step in &run.steps {
        for action in &step.actions {
            if let Action::SetWeights(ws) = action
                && ws.iter().any(|w| w.revision == "r2" && w.percent > 0)
            {
                assert!(
                    step.observed.ready_of("r2") >= replicas,
                    "{label}: traffic to a candidate not fully ready at {step:?}"
                );
                switched = true;
            }
        }
        if !switched {
            assert!(step.applied.replicas_of("r1") >= replicas, "{label}: stable shrank before the switch at {step:?}");
        }
    }
}

fn analyses(run: &Run) -> Vec<String> {
    run.steps
        .iter()
        .flat_map(|s| &s.actions)
        .filter_map(|a| match a {
            Action::RunAnalysis(r) => Some(r.name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn default_run_previews_switches_and_retires_after_the_delay() {
    let h = StrategyHarness::new(3);
    let run = h.run::<BlueGreen>();
    assert_promoted(&run, 3, "default");
    check_invariants(&run, 3, "default");
    assert_eq!(run.steps[0].applied.replicas_of("r2"), 3);
    assert_eq!(run.steps[0].applied.replicas_of("r1"), 3);
    let switch = run.steps.iter().find(|s| s.applied.weights == weights(&[("r2", 100)])).unwrap();
    assert_eq!(switch.applied.replicas_of("r1"), 3, "old kept after the switch");
    assert_eq!(run.end_ms() - switch.at_ms, 30_000, "scale-down delay");
}

#[test]
fn analyses_run_before_and_after_the_switch() {
    let run = StrategyHarness::new(2)
        .config(
            r#"{"pre-promotion-analysis-ms": 20000, "post-promotion-analysis-ms": 10000, "scale-down-delay-ms": 0}"#,
        )
        .run::<BlueGreen>();
    assert_eq!(run.outcome, Outcome::Complete);
    check_invariants(&run, 2, "analyses");
    assert_eq!(analyses(&run), vec!["pre-promotion", "post-promotion"]);
}

#[test]
fn failed_pre_promotion_analysis_rolls_back_without_switching() {
    let run = StrategyHarness::new(2)
        .config(r#"{"pre-promotion-analysis-ms": 20000}"#)
        .verdicts([Verdict::Fail("error rate 12 %".into())])
        .run::<BlueGreen>();
    assert_eq!(run.outcome, Outcome::Rollback("pre-promotion analysis failed: error rate 12 %".into()));
    assert!(run.steps.iter().all(|s| s.applied.weights == weights(&[("r1", 100)])));
}

#[test]
fn failed_post_promotion_analysis_rolls_back_with_the_old_revision_at_full_size() {
    let run = StrategyHarness::new(4)
        .config(r#"{"post-promotion-analysis-ms": 10000}"#)
        .verdicts([Verdict::Fail("p99 900 ms".into())])
        .run::<BlueGreen>();
    assert_eq!(run.outcome, Outcome::Rollback("post-promotion analysis failed: p99 900 ms".into()));
    assert_eq!(run.last().unwrap().applied.replicas_of("r1"), 4);
    check_invariants(&run, 4, "post fail");
}

#[test]
fn manual_promotion_waits_for_an_operator() {
    let h = StrategyHarness::new(2).config(r#"{"auto-promote": false}"#);
    let run = h.run::<BlueGreen>();
    assert_eq!(run.outcome, Outcome::WaitingForOperator("awaiting promotion".into()));
    assert!(run.last().unwrap().status.contains("awaiting promotion"));

    let run = h.command_at(60_000, OperatorCommand::Promote).run::<BlueGreen>();
    assert_eq!(run.outcome, Outcome::Complete);
    check_invariants(&run, 2, "manual");
    let switch = run.steps.iter().find(|s| s.applied.weights == weights(&[("r2", 100)])).unwrap();
    assert_eq!(switch.at_ms, 1_000_000 + 60_000);
}

#[test]
fn auto_promotion_delay_holds_the_preview() {
    let run = StrategyHarness::new(2)
        .ready_after_ms(5_000)
        .config(r#"{"auto-promotion-delay-ms": 15000, "scale-down-delay-ms": 0}"#)
        .run::<BlueGreen>();
    assert_eq!(run.outcome, Outcome::Complete);
    let switch = run.steps.iter().find(|s| s.applied.weights == weights(&[("r2", 100)])).unwrap();
    assert_eq!(switch.at_ms, 1_000_000 + 5_000 + 15_000);
}

#[test]
fn promote_full_skips_analysis_and_gates() {
    let run = StrategyHarness::new(2)
        .config(r#"{"auto-promote": false, "pre-promotion-analysis-ms": 60000, "post-promotion-analysis-ms": 60000}"#)
        .command_at(0, OperatorCommand::PromoteFull)
        .run::<BlueGreen>();
    assert_eq!(run.outcome, Outcome::Complete);
    assert!(analyses(&run).is_empty());
    check_invariants(&run, 2, "promote-full");
}

#[test]
fn abort_at_any_point_rolls_back() {
    let config =
        r#"{"pre-promotion-analysis-ms": 10000, "post-promotion-analysis-ms": 10000, "auto-promotion-delay-ms": 5000}"#;
    let full = StrategyHarness::new(3).config(config).run::<BlueGreen>();
    assert_eq!(full.outcome, Outcome::Complete);
    for at in (0..full.end_ms() - 1_000_000).step_by(2_500) {
        let run = StrategyHarness::new(3).config(config).command_at(at, OperatorCommand::Abort).run::<BlueGreen>();
        assert_aborted(&run, &format!("abort at {at}"));
        check_invariants(&run, 3, &format!("abort at {at}"));
    }
}

#[test]
fn inconclusive_analysis_waits_for_an_operator() {
    let h = StrategyHarness::new(2)
        .config(r#"{"pre-promotion-analysis-ms": 10000}"#)
        .verdicts([Verdict::Inconclusive("12 requests".into())]);
    let run = h.run::<BlueGreen>();
    assert_eq!(run.outcome, Outcome::WaitingForOperator("analysis inconclusive: 12 requests".into()));
    let run = h.clone().command_at(100_000, OperatorCommand::Promote).run::<BlueGreen>();
    assert_eq!(run.outcome, Outcome::Complete);
    let run = h.command_at(100_000, OperatorCommand::Abort).run::<BlueGreen>();
    assert_aborted(&run, "inconclusive+abort");
}

#[test]
fn never_ready_preview_rolls_back_and_never_gets_traffic() {
    let run = StrategyHarness::new(3)
        .config(r#"{"progress-deadline-ms": 120000}"#)
        .candidate_never_ready()
        .progress_deadline_ms(120_000)
        .run::<BlueGreen>();
    assert_deadline_rollback(&run);
    check_invariants(&run, 3, "never ready");
}

#[test]
fn invariants_hold_for_many_configs() {
    let mut runs = 0;
    for replicas in [1, 2, 5] {
        for auto in [true, false] {
            for pre in [0, 10_000] {
                for post in [0, 7_000] {
                    for delay in [0, 30_000] {
                        for ready_after in [0, 4_000] {
                            for verdict in
                                [Verdict::Pass, Verdict::Fail("bad".into()), Verdict::Inconclusive("thin".into())]
                            {
                                let json = format!(
                                    r#"{{"auto-promote": {auto}, "pre-promotion-analysis-ms": {pre}, "post-promotion-analysis-ms": {post}, "scale-down-delay-ms": {delay}}}"#
                                );
                                let label = format!("{replicas} {json} {ready_after} {verdict:?}");
                                let run = StrategyHarness::new(replicas)
                                    .config(&json)
                                    .ready_after_ms(ready_after)
                                    .verdicts([verdict.clone(), verdict])
                                    .command_at(200_000, OperatorCommand::Promote)
                                    .command_at(400_000, OperatorCommand::Promote)
                                    .run::<BlueGreen>();
                                check_invariants(&run, replicas, &label);
                                match &run.outcome {
                                    Outcome::Complete => assert_promoted(&run, replicas, &label),
                                    Outcome::Rollback(r) => {
                                        assert!(r.contains("analysis failed: bad"), "{label}: {r}")
                                    }
                                    other => panic!("{label}: {other:?}"),
                                }
                                runs += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(runs >= 288);
}

#[test]
fn first_deployment_just_scales_up() {
    let run = StrategyHarness::new(3).first_deployment().run::<BlueGreen>();
    assert_first_deployment(&run, 3);
}

#[test]
fn bad_config_names_the_key() {
    for (json, key) in
        [(r#"{"auto-promote": "yes"}"#, "auto-promote"), (r#"{"scale-down-delay": 1}"#, "scale-down-delay")]
    {
        let run = StrategyHarness::new(1).config(json).run::<BlueGreen>();
        let Outcome::Error(PluginError::InvalidConfig(msg)) = &run.outcome else { panic!("{json}: {:?}", run.outcome) };
        assert!(msg.contains(key), "{msg}");
    }
}

#[test]
fn status_lines_are_readable() {
    let run = StrategyHarness::new(3).config(r#"{"pre-promotion-analysis-ms": 20000}"#).run::<BlueGreen>();
    let statuses: Vec<&str> = run.steps.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(
        statuses,
        vec![
            "preview r2: 0/3 ready",
            "preview r2 ready, pre-promotion analysis (20s left), r1 serving",
            "r2 serving, r1 kept for 30s",
            "r2 serving, r1 retired → complete",
        ]
    );
}

#[test]
fn keeps_the_strategy_contract() {
    check_strategy::<BlueGreen>("");
    check_strategy::<BlueGreen>(r#"{"auto-promotion-delay-ms": 1000, "scale-down-delay-ms": 0}"#);
}
