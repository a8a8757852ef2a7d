//! The strategy harness against a small blue-green-ish strategy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use hoist_sdk::prelude::*;
use hoist_sdk::testing::{Outcome, StrategyHarness};

/// Scale the candidate up, analyse once, switch, retire the stable.
struct Switch;

impl Strategy for Switch {
    fn decide(ctx: Context) -> Result<Decision, PluginError> {
        let cand = ctx.candidate.id.clone();
        let ready =
            ctx.observed.instances.iter().filter(|i| i.revision == cand && i.state == InstanceState::Ready).count()
                as u32;
        let mut actions = Vec::new();
        if ctx.observed.command == Some(OperatorCommand::Abort) {
            actions.push(Action::Rollback("aborted by operator".into()));
        } else if ready < ctx.replicas {
            actions.push(Action::Scale(ScaleTo { revision: cand.clone(), replicas: ctx.replicas }));
            actions.push(Action::Wait(WaitFor::Ready(ReadyTarget { revision: cand.clone(), count: ctx.replicas })));
        } else {
            match &ctx.observed.analysis {
                None => {
                    actions.push(Action::RunAnalysis(AnalysisRequest { name: "gate".into(), duration: 30_000 }));
                    actions.push(Action::Wait(WaitFor::Duration(30_000)));
                }
                Some(a) => match &a.verdict {
                    Verdict::Pass => {
                        actions.push(Action::SetWeights(vec![Weight { revision: cand.clone(), percent: 100 }]));
                        if let Some(s) = &ctx.stable {
                            actions.push(Action::Scale(ScaleTo { revision: s.id.clone(), replicas: 0 }));
                        }
                        actions.push(Action::Complete);
                    }
                    Verdict::Fail(r) => actions.push(Action::Rollback(r.clone())),
                    Verdict::Inconclusive(_) => actions.push(Action::Wait(WaitFor::Operator("look".into()))),
                },
            }
        }
        hoist_sdk::log::info(&format!("{cand} {ready} ready"));
        Ok(Decision { state: Vec::new(), actions, status: format!("{cand} {ready}/{}", ctx.replicas) })
    }
}

#[test]
fn completes_on_a_healthy_platform() {
    let h = StrategyHarness::new(3).ready_after_ms(5_000);
    let run = h.run::<Switch>();
    assert_eq!(run.outcome, Outcome::Complete);
    let first = &run.steps[0];
    assert_eq!(first.observed.replicas_of("r1"), 3);
    assert_eq!(first.applied.replicas_of("r2"), 3);
    assert_eq!(first.applied.ready_of("r2"), 0);
    // Woken when the candidate was ready, then after the analysis.
    assert_eq!(run.steps[1].at_ms, h.started_at_ms() + 5_000);
    assert_eq!(run.steps[1].observed.ready_of("r2"), 3);
    assert_eq!(run.steps[2].at_ms, h.started_at_ms() + 35_000);
    let last = &run.last().unwrap().applied;
    assert_eq!(last.replicas_of("r1"), 0);
    assert_eq!(last.weights, hoist_sdk::testing::weights(&[("r2", 100)]));
    assert!(hoist_sdk::testing::logged("r2 3 ready"));
}

#[test]
fn scripted_verdicts_are_delivered() {
    let run = StrategyHarness::new(2).verdicts([Verdict::Fail("error rate 9%".into())]).run::<Switch>();
    assert_eq!(run.outcome, Outcome::Rollback("error rate 9%".into()));
}

#[test]
fn commands_interrupt_waits() {
    let h = StrategyHarness::new(2).candidate_never_ready().command_at(10_000, OperatorCommand::Abort);
    let run = h.run::<Switch>();
    assert_eq!(run.outcome, Outcome::Rollback("aborted by operator".into()));
    let last = run.last().unwrap();
    assert_eq!(last.at_ms, h.started_at_ms() + 10_000);
    assert_eq!(last.command, Some(OperatorCommand::Abort));
}

#[test]
fn waiting_for_an_operator_ends_the_run() {
    let run = StrategyHarness::new(1).verdicts([Verdict::Inconclusive("no data".into())]).run::<Switch>();
    assert_eq!(run.outcome, Outcome::WaitingForOperator("look".into()));
}

#[test]
fn step_cap_stops_a_strategy_that_never_ends() {
    struct Forever;
    impl Strategy for Forever {
        fn decide(_: Context) -> Result<Decision, PluginError> {
            Ok(Decision {
                state: Vec::new(),
                actions: vec![Action::Wait(WaitFor::Duration(1_000))],
                status: String::new(),
            })
        }
    }
    let run = StrategyHarness::new(1).max_steps(7).run::<Forever>();
    assert_eq!(run.outcome, Outcome::StepCap);
    assert_eq!(run.steps.len(), 7);
}

#[test]
fn errors_end_the_run() {
    struct Broken;
    impl Strategy for Broken {
        fn decide(_: Context) -> Result<Decision, PluginError> {
            Err(PluginError::InvalidConfig("nope".into()))
        }
    }
    let run = StrategyHarness::new(1).run::<Broken>();
    assert_eq!(run.outcome, Outcome::Error(PluginError::InvalidConfig("nope".into())));
}
