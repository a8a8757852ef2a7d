//! Analysis templates at work: while a rollout is analysed, each template
//! of its environment is measured through its metrics provider every
//! `interval`, each measurement judged (`judge.rs`) and counted against the
//! template's limits (`tally.rs`), and recorded in the decision log. The
//! analysis's verdict combines them with the health policies'
//! (`analysis.rs`).

pub mod judge;
mod status;
pub mod tally;

pub use status::{AnalysisStatus, analysis_status};

use hoist_registry::AnalysisTemplate;
use hoist_store::{DecisionKind, DecisionRecord, Rollout};
use serde_json::{Value, json};

use super::memory::PendingAnalysis;
use super::plugin_ports::MetricsProvider;
use super::{Configured, Engine, EngineError};
use crate::runtime::bindings::base::hoist::plugin::types::Revision;
use crate::runtime::provider::MetricQuery;
use judge::{Measured, judge};
use tally::{MetricPhase, MetricRun};

/// A template of an environment with the provider that measures it (and
/// the provider's config as that environment runs it).
#[derive(Clone)]
pub struct MetricTemplate {
    pub template: AnalysisTemplate,
    pub provider: Configured<dyn MetricsProvider>,
}

impl PendingAnalysis {
    /// Whether the analysis is over: a metric that counts has failed or
    /// become inconclusive (no need to wait for the rest), or the window
    /// has passed and every metric that counts has finished. Dry-run
    /// metrics never hold it up.
    pub fn is_over(&self, now: u64) -> bool {
        let mut counting = self.metrics.values().filter(|m| !m.dry_run);
        let decided = counting.clone().any(|m| matches!(m.phase, MetricPhase::Failed | MetricPhase::Inconclusive));
        decided || (now >= self.until_ms && counting.all(|m| m.phase != MetricPhase::Running))
    }

    /// When the analysis next needs a step: its next measurement, or the
    /// end of its window if that is still ahead.
    pub fn wake_ms(&self, now: u64) -> u64 {
        let measure = self.metrics.values().filter(|m| m.phase == MetricPhase::Running).map(|m| m.next_at_ms).min();
        let window = (self.until_ms > now).then_some(self.until_ms);
        match (measure, window) {
            (Some(m), Some(w)) => m.min(w),
            (m, w) => m.or(w).unwrap_or(self.until_ms),
        }
    }
}

impl Engine {
    /// Starts a run of every template of `environment` for `pending` that
    /// has none yet.
    pub(super) fn start_metrics(&self, environment: &str, pending: &mut PendingAnalysis) {
        let Some(env) = self.envs.get(environment) else { return };
        for t in &env.analysis {
            if !pending.metrics.contains_key(&t.template.name) {
                let run = MetricRun::start(&t.template, pending.started_ms, pending.until_ms);
                pending.metrics.insert(t.template.name.clone(), run);
            }
        }
    }

    /// Takes every measurement due by `now`, one per template at most;
    /// returns a decision record for each.
    pub(super) async fn measure(
        &self,
        r: &Rollout,
        pending: &mut PendingAnalysis,
        now: u64,
    ) -> Result<Vec<DecisionRecord>, EngineError> {
        self.start_metrics(&r.environment, pending);
        let Some(env) = self.envs.get(&r.environment) else { return Ok(Vec::new()) };
        let mut records = Vec::new();
        let due: Vec<&MetricTemplate> =
            env.analysis.iter().filter(|t| pending.metrics.get(&t.template.name).is_some_and(|m| m.due(now))).collect();
        if due.is_empty() {
            return Ok(records);
        }
        let (stable, candidate) = self.revisions_of(r)?;
        let analysis = pending.name.clone();
        for t in due {
            let Some(run) = pending.metrics.get_mut(&t.template.name) else { continue };
            let query = MetricQuery {
                metric: t.template.name.clone(),
                service: r.service.clone(),
                environment: r.environment.clone(),
                stable: stable.clone(),
                candidate: candidate.clone(),
                revision: r.candidate.clone(),
                query: t.template.query.clone(),
                end_ms: now,
                window_ms: u64::try_from(t.template.interval.as_millis()).unwrap_or(u64::MAX),
                step_ms: None,
                variables: t.template.variables.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                config: t.provider.config.clone(),
                extensions: vec![],
            };
            let called = t.provider.plugin.query(&query).await;
            if let Some(elapsed) = called.elapsed {
                self.stats.plugin_time(elapsed);
            }
            let measurement = judge(&t.template, &called.outcome);
            run.record(&t.template, &measurement, now);
            records.push(record(r, &analysis, t, &query, run, &measurement, called.printed));
        }
        Ok(records)
    }

    fn revisions_of(&self, r: &Rollout) -> Result<(Option<Revision>, Revision), EngineError> {
        let revision = |id: &str| -> Result<Revision, EngineError> {
            let rev = self.store.revision(&r.service, &r.environment, id)?;
            Ok(Revision { id: id.into(), version: rev.map(|r| r.version).unwrap_or_default(), extensions: vec![] })
        };
        let stable = match &r.stable {
            Some(id) => Some(revision(id)?),
            None => None,
        };
        Ok((stable, revision(&r.candidate)?))
    }
}

/// The decision-log record of one measurement: what was asked (the query as
/// the template writes it; the provider's config, which may hold an
/// address with a password, is left out), the values, the verdict and
/// where the metric's run stands.
fn record(
    r: &Rollout,
    analysis: &str,
    t: &MetricTemplate,
    query: &MetricQuery,
    run: &MetricRun,
    m: &judge::Measurement,
    printed: Option<Value>,
) -> DecisionRecord {
    let name = &t.template.name;
    let dry = if run.dry_run { " (dry-run)" } else { "" };
    // An error's message is the record's `error`, not repeated here.
    let judged = if m.verdict == Measured::Error { String::new() } else { format!(": {}", m.reason) };
    let mut reason = format!("metric `{name}`{dry} {}/{}{judged} → {}", run.taken, run.count, m.verdict.as_str());
    if let Some(ended) = run.reason.as_ref().filter(|_| run.phase != MetricPhase::Running) {
        reason.push_str(&format!("; metric {}: {ended}", run.phase.as_str()));
    }
    DecisionRecord {
        rollout_id: Some(r.id.clone()),
        plugin: Some(t.provider.plugin.name().to_string()),
        plugin_digest: Some(t.provider.plugin.digest().to_string()),
        input: json!({
            "metric": name,
            "analysis": analysis,
            "query": query.query,
            "variables": t.template.variables,
            "revision": query.revision,
            "end-ms": query.end_ms,
            "window-ms": query.window_ms,
            "measurement": run.taken,
            "count": run.count,
            "dry-run": run.dry_run,
        }),
        output: json!({
            "verdict": m.verdict,
            "value": m.value(),
            "series": m.values,
            "metric-phase": run.phase,
        }),
        error: (m.verdict == Measured::Error).then(|| m.reason.clone()),
        reason: Some(reason),
        plugin_output: printed,
        ..DecisionRecord::new(&r.service, &r.environment, query.end_ms, DecisionKind::Measure)
    }
}
