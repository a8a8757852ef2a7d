//! Decision record → rollout events: which records a subscriber hears of.
//!
//! | record | event |
//! |---|---|
//! | `decide` of step 1 | `started` (and `step`) |
//! | `decide` of any step | `step`; `approval-needed` when it waits for an operator |
//! | `admit` requiring approval | `approval-needed` |
//! | `operator` `rollback` (`hoist rollback --to`, a rollout of its own) | `started` |
//! | `operator` `pause` | `paused` |
//! | `evaluate` holding the rollout on an inconclusive analysis | `paused` |
//! | `evaluate` failing (a policy, or an analysis's metrics) | `analysis-failed` |
//! | `evaluate` inconclusive | `inconclusive` |
//! | `complete` | `completed` |
//! | `rolled-back`, `aborted`, `failed` | `rolled-back` (the phase says which) |
//! | `heal` | `healed` |
//!
//! Every other record (measurements, actions, errors, notify failures) is
//! no event. The records of one analysis share a time, so an analysis that
//! fails on a policy and its metrics is one `analysis-failed`, not two.

use hoist_registry::NotifyEvent;
use hoist_store::{DecisionKind, DecisionRecord};
use serde::Deserialize;
use serde_json::Value;

use crate::engine::memory::AnalysisVerdict;
use crate::runtime::bindings::admission::exports::hoist::plugin::admission::AdmissionVerdict;
use crate::runtime::bindings::base::hoist::plugin::types::Verdict;
use crate::runtime::bindings::health::exports::hoist::plugin::health::Evaluation;
use crate::runtime::bindings::strategy::exports::hoist::plugin::strategy::{Action, Decision, WaitFor};

/// One event read from a record: what happened, why, and the phase it left the rollout in.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event: NotifyEvent,
    pub reason: Option<String>,
    pub phase: Option<&'static str>,
}

/// The events of `record`, in the order a subscriber gets them.
pub fn events_of(record: &DecisionRecord) -> Vec<Event> {
    let ev = |event, reason: Option<String>, phase| Event { event, reason, phase };
    match record.kind {
        DecisionKind::Decide => {
            let Ok(decision) = serde_json::from_value::<Decision>(record.output.clone()) else {
                return Vec::new();
            };
            let status = Some(decision.status.clone()).filter(|s| !s.is_empty());
            let mut out = Vec::new();
            if record.step == Some(1) {
                out.push(ev(NotifyEvent::Started, status.clone(), Some("running")));
            }
            out.push(ev(NotifyEvent::Step, status.clone(), Some("running")));
            for action in &decision.actions {
                if let Action::Wait(WaitFor::Operator(why)) = action {
                    out.push(ev(NotifyEvent::ApprovalNeeded, Some(why.clone()), Some("running")));
                }
            }
            out
        }
        DecisionKind::Admit => match serde_json::from_value::<AdmissionVerdict>(record.output.clone()) {
            Ok(AdmissionVerdict::RequireApproval(why)) => {
                vec![ev(NotifyEvent::ApprovalNeeded, Some(why), Some("awaiting-approval"))]
            }
            _ => Vec::new(),
        },
        DecisionKind::Operator if record.input.get("verb").and_then(Value::as_str) == Some("pause") => {
            let who = record.operator.as_deref().unwrap_or("an operator");
            let why = record.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            vec![ev(NotifyEvent::Paused, Some(format!("paused by {who}{why}")), Some("paused"))]
        }
        DecisionKind::Operator if record.input.get("verb").and_then(Value::as_str) == Some("rollback") => {
            let to = record.input.get("to").and_then(Value::as_str).unwrap_or("a kept revision");
            let who = record.operator.as_deref().unwrap_or("an operator");
            let why = record.reason.as_deref().filter(|r| !r.is_empty()).map(|r| format!(": {r}")).unwrap_or_default();
            vec![ev(NotifyEvent::Started, Some(format!("rollback to {to} requested by {who}{why}")), Some("running"))]
        }
        DecisionKind::Evaluate => evaluation(record),
        DecisionKind::Complete => vec![ev(NotifyEvent::Completed, record.reason.clone(), Some("completed"))],
        DecisionKind::RolledBack | DecisionKind::Aborted | DecisionKind::Failed => {
            let phase = match record.kind {
                DecisionKind::Aborted => "aborted",
                DecisionKind::Failed => "failed",
                _ => "rolled-back",
            };
            vec![ev(NotifyEvent::RolledBack, record.reason.clone().or(record.error.clone()), Some(phase))]
        }
        DecisionKind::Heal => vec![ev(NotifyEvent::Healed, record.reason.clone(), None)],
        _ => Vec::new(),
    }
}

/// The combined verdict of an analysis with metrics.
#[derive(Deserialize)]
struct Combined {
    verdict: AnalysisVerdict,
    #[serde(default)]
    reason: String,
}

fn evaluation(record: &DecisionRecord) -> Vec<Event> {
    let ev = |event, reason: String| vec![Event { event, reason: Some(reason), phase: Some("running") }];
    if record.input.get("held").is_some() {
        return vec![Event { event: NotifyEvent::Paused, reason: record.reason.clone(), phase: Some("paused") }];
    }
    let what = record.reason.clone().unwrap_or_else(|| "analysis".into());
    if record.plugin.is_some() {
        let Ok(evaluation) = serde_json::from_value::<Evaluation>(record.output.clone()) else {
            return Vec::new();
        };
        let plugin = record.plugin.as_deref().unwrap_or_default();
        return match evaluation.verdict {
            Verdict::Pass => Vec::new(),
            Verdict::Fail(why) => ev(NotifyEvent::AnalysisFailed, format!("{what}: {plugin}: {why}")),
            Verdict::Inconclusive(why) => ev(NotifyEvent::Inconclusive, format!("{what}: {plugin}: {why}")),
        };
    }
    match serde_json::from_value::<Combined>(record.output.clone()) {
        Ok(Combined { verdict: AnalysisVerdict::Fail, reason }) => ev(NotifyEvent::AnalysisFailed, reason),
        Ok(Combined { verdict: AnalysisVerdict::Inconclusive, reason }) => ev(NotifyEvent::Inconclusive, reason),
        _ => Vec::new(),
    }
}

/// Drops an event that repeats the last one of its rollout at the same
/// time (one analysis's policy and metrics verdicts).
#[derive(Default)]
pub struct Dedupe {
    last: Option<(String, NotifyEvent, u64)>,
}

impl Dedupe {
    pub fn fresh(&mut self, record: &DecisionRecord, event: NotifyEvent) -> bool {
        if !matches!(event, NotifyEvent::AnalysisFailed | NotifyEvent::Inconclusive) {
            return true;
        }
        let key = (record.rollout_id.clone().unwrap_or_default(), event, record.at_ms);
        if self.last.as_ref() == Some(&key) {
            return false;
        }
        self.last = Some(key);
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(kind: DecisionKind) -> DecisionRecord {
        DecisionRecord { rollout_id: Some("r-1".into()), ..DecisionRecord::new("web", "prod", 5, kind) }
    }

    fn names(record: &DecisionRecord) -> Vec<&'static str> {
        events_of(record).into_iter().map(|e| e.event.as_str()).collect()
    }

    #[test]
    fn the_first_step_starts_and_a_wait_for_an_operator_asks_for_approval() {
        let decision = Decision {
            state: vec![],
            actions: vec![Action::Complete, Action::Wait(WaitFor::Operator("promote to go on".into()))],
            status: "step 1 of 3".into(),
        };
        let mut r = DecisionRecord {
            step: Some(1),
            output: serde_json::to_value(&decision).unwrap(),
            ..record(DecisionKind::Decide)
        };
        assert_eq!(names(&r), ["started", "step", "approval-needed"]);
        assert_eq!(events_of(&r)[0].reason.as_deref(), Some("step 1 of 3"));
        r.step = Some(2);
        assert_eq!(names(&r), ["step", "approval-needed"]);
        r.output = Value::Null;
        assert!(names(&r).is_empty(), "a failed decision is no step");
    }

    #[test]
    fn endings_heals_pauses_and_approvals() {
        assert_eq!(names(&record(DecisionKind::Complete)), ["completed"]);
        for (kind, phase) in [
            (DecisionKind::RolledBack, "rolled-back"),
            (DecisionKind::Aborted, "aborted"),
            (DecisionKind::Failed, "failed"),
        ] {
            let events = events_of(&DecisionRecord { reason: Some("why".into()), ..record(kind) });
            assert_eq!(
                (events[0].event, events[0].phase, events[0].reason.as_deref()),
                (NotifyEvent::RolledBack, Some(phase), Some("why"))
            );
        }
        assert_eq!(names(&record(DecisionKind::Heal)), ["healed"]);
        let pause = DecisionRecord {
            input: json!({ "verb": "pause", "arg": null }),
            operator: Some("ana".into()),
            ..record(DecisionKind::Operator)
        };
        assert_eq!(events_of(&pause)[0].reason.as_deref(), Some("paused by ana"));
        let back = DecisionRecord {
            input: json!({ "verb": "rollback", "to": "r1" }),
            operator: Some("ana".into()),
            reason: Some("v2 is slow".into()),
            ..record(DecisionKind::Operator)
        };
        assert_eq!(events_of(&back)[0].event, NotifyEvent::Started);
        assert_eq!(events_of(&back)[0].reason.as_deref(), Some("rollback to r1 requested by ana: v2 is slow"));
        let resume = DecisionRecord { input: json!({ "verb": "resume" }), ..record(DecisionKind::Operator) };
        assert!(names(&resume).is_empty());
        let admit = DecisionRecord {
            output: serde_json::to_value(AdmissionVerdict::RequireApproval("friday".into())).unwrap(),
            ..record(DecisionKind::Admit)
        };
        assert_eq!(names(&admit), ["approval-needed"]);
        let allow = DecisionRecord {
            output: serde_json::to_value(AdmissionVerdict::Allow).unwrap(),
            ..record(DecisionKind::Admit)
        };
        assert!(names(&allow).is_empty());
        for kind in [
            DecisionKind::Measure,
            DecisionKind::Apply,
            DecisionKind::Error,
            DecisionKind::Notify,
            DecisionKind::Instance,
        ] {
            assert!(names(&record(kind)).is_empty(), "{kind}");
        }
    }

    #[test]
    fn analyses_fail_once_per_analysis_and_a_hold_pauses() {
        let policy = |verdict: Verdict| DecisionRecord {
            plugin: Some("slo".into()),
            reason: Some("analysis `canary`".into()),
            output: serde_json::to_value(Evaluation { verdict, state: vec![], details: String::new() }).unwrap(),
            ..record(DecisionKind::Evaluate)
        };
        assert!(names(&policy(Verdict::Pass)).is_empty());
        let failed = policy(Verdict::Fail("5xx at 12 %".into()));
        assert_eq!(events_of(&failed)[0].reason.as_deref(), Some("analysis `canary`: slo: 5xx at 12 %"));
        assert_eq!(names(&policy(Verdict::Inconclusive("no traffic".into()))), ["inconclusive"]);
        let combined = DecisionRecord {
            output: json!({ "verdict": AnalysisVerdict::Fail, "reason": "metric error-rate: 0.3", "metrics": {} }),
            ..record(DecisionKind::Evaluate)
        };
        assert_eq!(names(&combined), ["analysis-failed"]);
        let mut dedupe = Dedupe::default();
        assert!(dedupe.fresh(&failed, NotifyEvent::AnalysisFailed));
        assert!(!dedupe.fresh(&combined, NotifyEvent::AnalysisFailed), "same analysis, same time");
        assert!(dedupe.fresh(&DecisionRecord { at_ms: 9, ..combined }, NotifyEvent::AnalysisFailed));
        let held = DecisionRecord {
            input: json!({ "held": "canary" }),
            reason: Some("paused".into()),
            ..record(DecisionKind::Evaluate)
        };
        assert_eq!(names(&held), ["paused"]);
    }
}
