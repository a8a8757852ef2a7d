//! The perfect platform behind [`StrategyHarness`](super::StrategyHarness):
//! instances that appear and vanish at once and become ready on schedule.

use crate::strategy::AnalysisResult;
use crate::testing::harness::{Snapshot, StrategyHarness};
use crate::types::{Instance, InstanceState, TimestampMs, Verdict, Weight};

#[derive(Debug, Clone)]
struct SimInstance {
    id: String,
    revision: String,
    /// `None`: never becomes ready.
    ready_at: Option<TimestampMs>,
}

pub(crate) struct Sim<'h> {
    harness: &'h StrategyHarness,
    instances: Vec<SimInstance>,
    next_id: u64,
    pub(crate) weights: Vec<Weight>,
    pub(crate) analysis: Option<AnalysisResult>,
    pub(crate) pending: Option<(String, TimestampMs, Verdict)>,
}

impl<'h> Sim<'h> {
    pub(crate) fn new(harness: &'h StrategyHarness) -> Self {
        let mut sim =
            Self { harness, instances: Vec::new(), next_id: 0, weights: Vec::new(), analysis: None, pending: None };
        if let Some(stable) = &harness.stable {
            let count = harness.stable_instances.unwrap_or(harness.replicas);
            for _ in 0..count {
                sim.add(&stable.id, Some(0));
            }
            if count > 0 {
                sim.weights = vec![Weight { revision: stable.id.clone(), percent: 100 }];
            }
        }
        sim
    }

    fn add(&mut self, revision: &str, ready_at: Option<TimestampMs>) {
        self.next_id += 1;
        self.instances.push(SimInstance {
            id: format!("{revision}-{}", self.next_id),
            revision: revision.to_owned(),
            ready_at,
        });
    }

    pub(crate) fn scale(&mut self, revision: &str, replicas: u32, now: TimestampMs) {
        let have = self.instances.iter().filter(|i| i.revision == revision).count();
        let want = replicas as usize;
        if want > have {
            let ready_at = if self.harness.never_ready.iter().any(|r| r == revision) {
                None
            } else {
                Some(now.saturating_add(self.harness.ready_after_ms))
            };
            for _ in have..want {
                self.add(revision, ready_at);
            }
        } else {
            let mut extra = have - want;
            while extra > 0 {
                if let Some(pos) = self.instances.iter().rposition(|i| i.revision == revision) {
                    self.instances.remove(pos);
                }
                extra -= 1;
            }
        }
    }

    pub(crate) fn finish_analysis(&mut self, now: TimestampMs) {
        if let Some((name, at, verdict)) = self.pending.take() {
            if at <= now {
                self.analysis = Some(AnalysisResult { name, verdict, at_ms: at });
            } else {
                self.pending = Some((name, at, verdict));
            }
        }
    }

    pub(crate) fn instances(&self, now: TimestampMs) -> Vec<Instance> {
        self.instances
            .iter()
            .map(|i| {
                let ready = i.ready_at.filter(|at| *at <= now);
                Instance {
                    id: i.id.clone(),
                    revision: i.revision.clone(),
                    address: Some(format!("sim:{}", i.id)),
                    state: if ready.is_some() { InstanceState::Ready } else { InstanceState::Starting },
                    ready_for_ms: ready.map(|at| now - at),
                    extensions: Vec::new(),
                }
            })
            .collect()
    }

    pub(crate) fn snapshot(&self, now: TimestampMs) -> Snapshot {
        let mut snap = Snapshot { weights: self.weights.clone(), ..Snapshot::default() };
        for i in &self.instances {
            *snap.replicas.entry(i.revision.clone()).or_default() += 1;
            if i.ready_at.is_some_and(|at| at <= now) {
                *snap.ready.entry(i.revision.clone()).or_default() += 1;
            }
        }
        snap
    }

    /// When `revision` will have `count` ready instances, if ever.
    pub(crate) fn ready_time(&self, revision: &str, count: u32) -> Option<TimestampMs> {
        if count == 0 {
            return Some(0);
        }
        let mut times: Vec<TimestampMs> =
            self.instances.iter().filter(|i| i.revision == revision).filter_map(|i| i.ready_at).collect();
        times.sort_unstable();
        times.get(count as usize - 1).copied()
    }
}
