//! Analysis: the environment's health policies judge the candidate from its
//! router measurements over the analysis window (with the stable revision
//! as a baseline), and its analysis templates from their metrics
//! (`measure/`). Any failing policy or metric fails the analysis; otherwise
//! any inconclusive one makes it inconclusive (and the rollout pauses).
//! Dry-run metrics are recorded but never counted.

use hoist_store::{DecisionKind, DecisionRecord, Rollout};
use serde_json::{Value, json};

use super::measure::tally::MetricPhase;
use super::memory::{AnalysisVerdict, FinishedAnalysis, PendingAnalysis};
use super::{CallFailure, Engine};
use crate::runtime::bindings::base::hoist::plugin::types::Verdict;
use crate::runtime::bindings::health::exports::hoist::plugin::health::AnalysisInput;

impl Engine {
    /// Evaluates every health policy for `pending`; returns the combined
    /// verdict and the decision records.
    pub(super) async fn evaluate(
        &self,
        rollout: &Rollout,
        pending: &mut PendingAnalysis,
        now: u64,
    ) -> (FinishedAnalysis, Vec<DecisionRecord>) {
        let mut records = Vec::new();
        let Some(env) = self.envs.get(&rollout.environment) else {
            return (finished(pending, AnalysisVerdict::Fail, "environment not loaded".into(), now), records);
        };
        let candidate =
            self.metrics.window(&rollout.service, &rollout.environment, &rollout.candidate, pending.started_ms, now);
        let baseline = rollout
            .stable
            .as_ref()
            .map(|s| self.metrics.window(&rollout.service, &rollout.environment, s, pending.started_ms, now));
        let mut fails = Vec::new();
        let mut doubts = Vec::new();
        for policy in &env.health {
            let name = policy.plugin.name().to_string();
            let input = AnalysisInput {
                rollout_id: rollout.id.clone(),
                service: rollout.service.clone(),
                environment: rollout.environment.clone(),
                candidate: candidate.clone(),
                baseline: baseline.clone(),
                elapsed_ms: now.saturating_sub(pending.started_ms),
                config: policy.config.clone(),
                state: pending.policy_state.get(&name).cloned(),
                extensions: vec![],
            };
            let called = policy.plugin.evaluate(&input, now).await;
            if let Some(elapsed) = called.elapsed {
                self.stats.plugin_time(elapsed);
            }
            let printed = called.printed;
            let (output, error) = match called.outcome {
                Ok(evaluation) => {
                    pending.policy_state.insert(name.clone(), evaluation.state.clone());
                    match &evaluation.verdict {
                        Verdict::Pass => {}
                        Verdict::Fail(why) => fails.push(format!("{name}: {why}")),
                        Verdict::Inconclusive(why) => doubts.push(format!("{name}: {why}")),
                    }
                    (serde_json::to_value(&evaluation).unwrap_or(Value::Null), None)
                }
                Err(CallFailure::Refused(e)) => {
                    doubts.push(format!("{name} refused: {e}"));
                    (Value::Null, Some(e))
                }
                // A faulty policy cannot vouch for the candidate.
                Err(CallFailure::Fault(e)) => {
                    fails.push(format!("{name} failed: {e}"));
                    (Value::Null, Some(e))
                }
            };
            records.push(DecisionRecord {
                rollout_id: Some(rollout.id.clone()),
                plugin: Some(name),
                plugin_digest: Some(policy.plugin.digest().to_string()),
                input: serde_json::to_value(&input).unwrap_or(Value::Null),
                output,
                error,
                reason: Some(format!("analysis `{}`", pending.name)),
                plugin_output: printed,
                ..DecisionRecord::new(&rollout.service, &rollout.environment, now, DecisionKind::Evaluate)
            });
        }
        for (name, run) in pending.metrics.iter().filter(|(_, m)| !m.dry_run) {
            let why = run.reason.clone().unwrap_or_default();
            match run.phase {
                MetricPhase::Failed => fails.push(format!("metric {name}: {why}")),
                MetricPhase::Inconclusive => doubts.push(format!("metric {name}: {why}")),
                MetricPhase::Successful | MetricPhase::Running => {}
            }
        }
        let judged = if pending.metrics.is_empty() { "health policies" } else { "health policies and metrics" };
        let mut result = if !fails.is_empty() {
            finished(pending, AnalysisVerdict::Fail, fails.join("; "), now)
        } else if !doubts.is_empty() {
            finished(pending, AnalysisVerdict::Inconclusive, doubts.join("; "), now)
        } else if env.health.is_empty() && pending.metrics.is_empty() {
            finished(pending, AnalysisVerdict::Pass, "no health policies configured".into(), now)
        } else {
            finished(pending, AnalysisVerdict::Pass, format!("all {judged} passed"), now)
        };
        result.metrics = pending.metrics.clone();
        if !pending.metrics.is_empty() {
            // The analysis as a whole, where its metrics' measurements end.
            let metrics: Vec<String> = pending.metrics.iter().map(|(name, run)| run.summary(name)).collect();
            records.push(DecisionRecord {
                rollout_id: Some(rollout.id.clone()),
                output: json!({ "verdict": result.verdict, "reason": result.reason, "metrics": pending.metrics }),
                reason: Some(format!(
                    "analysis `{}` {}: {} [{}]",
                    pending.name,
                    verdict_name(result.verdict),
                    result.reason,
                    metrics.join("; ")
                )),
                ..DecisionRecord::new(&rollout.service, &rollout.environment, now, DecisionKind::Evaluate)
            });
        }
        (result, records)
    }
}

fn verdict_name(v: AnalysisVerdict) -> &'static str {
    match v {
        AnalysisVerdict::Pass => "passed",
        AnalysisVerdict::Fail => "failed",
        AnalysisVerdict::Inconclusive => "inconclusive",
    }
}

fn finished(pending: &PendingAnalysis, verdict: AnalysisVerdict, reason: String, now: u64) -> FinishedAnalysis {
    FinishedAnalysis { name: pending.name.clone(), verdict, reason, at_ms: now, metrics: Default::default() }
}

/// The contract's verdict for a finished analysis.
pub(super) fn verdict_of(a: &FinishedAnalysis) -> Verdict {
    match a.verdict {
        AnalysisVerdict::Pass => Verdict::Pass,
        AnalysisVerdict::Fail => Verdict::Fail(a.reason.clone()),
        AnalysisVerdict::Inconclusive => Verdict::Inconclusive(a.reason.clone()),
    }
}
