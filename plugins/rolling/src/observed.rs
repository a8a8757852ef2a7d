//! Instance counts per revision, read from the observation.

use std::collections::BTreeMap;

use hoist_sdk::types::{Instance, InstanceState};

/// What one revision has right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Instances that are not being stopped (starting, ready, exited, ...).
    pub count: u32,
    /// Passing readiness checks.
    pub ready: u32,
    /// Ready for at least `min-ready-ms`.
    pub available: u32,
    /// Shortest wait until a ready-but-not-yet-available instance counts.
    pub next_available_in_ms: Option<u64>,
}

/// Counts per revision id.
pub fn count(instances: &[Instance], min_ready_ms: u64) -> BTreeMap<String, Counts> {
    let mut by_revision: BTreeMap<String, Counts> = BTreeMap::new();
    for instance in instances {
        if instance.state == InstanceState::Stopping {
            continue;
        }
        let counts = by_revision.entry(instance.revision.clone()).or_default();
        counts.count += 1;
        if instance.state == InstanceState::Ready {
            counts.ready += 1;
            let ready_for = instance.ready_for_ms.unwrap_or(0);
            if ready_for >= min_ready_ms {
                counts.available += 1;
            } else {
                let left = min_ready_ms - ready_for;
                counts.next_available_in_ms = Some(counts.next_available_in_ms.map_or(left, |n| n.min(left)));
            }
        }
    }
    by_revision
}
