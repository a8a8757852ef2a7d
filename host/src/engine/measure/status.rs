//! Where a rollout's analysis stands, for `hoist status`: the analysis in
//! progress (or held for an operator, or the last one finished) and each of
//! its metrics' runs, read from the rollout's stored intent.

use std::collections::BTreeMap;

use hoist_store::Rollout;
use serde::{Deserialize, Serialize};

use super::tally::MetricRun;
use crate::engine::memory::{AnalysisVerdict, Memory};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AnalysisStatus {
    /// The analysis's name, as the strategy asked for it.
    pub name: String,
    /// `running`, `paused` (inconclusive, held for an operator), or how
    /// it ended: `pass`, `fail`, `inconclusive`.
    pub state: String,
    /// Why it ended as it did; when it runs, until when its window lasts.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub until_ms: Option<u64>,
    /// Each metric's run, by metric name.
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricRun>,
    /// One line per metric: `error-rate running: 1/3 measured (1 successful), last 0.01 (successful)`.
    #[serde(default)]
    pub summary: Vec<String>,
}

/// The analysis of rollout `r`, if it has had one; `None` too when its
/// intent cannot be read (the rollout's own status says so).
pub fn analysis_status(r: &Rollout) -> Option<AnalysisStatus> {
    let mem = Memory::from_json(&r.id, &r.intent).ok()?;
    let summary = |metrics: &BTreeMap<String, MetricRun>| metrics.iter().map(|(n, m)| m.summary(n)).collect();
    if let Some(p) = &mem.analysis {
        return Some(AnalysisStatus {
            name: p.name.clone(),
            state: "running".into(),
            reason: None,
            until_ms: Some(p.until_ms),
            summary: summary(&p.metrics),
            metrics: p.metrics.clone(),
        });
    }
    let (done, state) = match (&mem.held, &mem.last_analysis) {
        (Some(held), _) => (&held.finished, "paused".to_string()),
        (None, Some(last)) => (last, verdict_name(last.verdict).to_string()),
        (None, None) => return None,
    };
    Some(AnalysisStatus {
        name: done.name.clone(),
        state,
        reason: Some(done.reason.clone()),
        until_ms: None,
        summary: summary(&done.metrics),
        metrics: done.metrics.clone(),
    })
}

fn verdict_name(v: AnalysisVerdict) -> &'static str {
    match v {
        AnalysisVerdict::Pass => "pass",
        AnalysisVerdict::Fail => "fail",
        AnalysisVerdict::Inconclusive => "inconclusive",
    }
}
