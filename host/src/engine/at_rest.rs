//! Services at rest (no rollout in flight) keep their replicas (exited
//! instances are replaced, `heal.rs`) and their front door: after a
//! control-plane restart the router comes back on the current revision,
//! and it keeps following the instances (a replaced or failing instance
//! gains or loses traffic without waiting for the next deploy).

use std::collections::BTreeSet;

use super::{Engine, ServiceSpec};
use crate::runtime::bindings::base::hoist::plugin::types::{Instance, InstanceState, Weight};

impl Engine {
    /// One pass over every service at rest: front door attached, all
    /// traffic on the current revision, routing to its ready instances.
    pub async fn watch_at_rest(&self) {
        let busy: BTreeSet<(String, String)> = match self.store.active_rollouts() {
            Ok(active) => active.into_iter().map(|r| (r.service, r.environment)).collect(),
            Err(err) => {
                tracing::warn!("services at rest: cannot list active rollouts: {err}");
                return;
            }
        };
        let current = match self.store.current_revisions() {
            Ok(current) => current,
            Err(err) => {
                tracing::warn!("services at rest: cannot list current revisions: {err}");
                return;
            }
        };
        for rev in current {
            if busy.contains(&(rev.service.clone(), rev.environment.clone())) {
                continue;
            }
            let Ok(spec) = serde_json::from_value::<ServiceSpec>(rev.spec.clone()) else { continue };
            let instances = match self.platform.instances(&rev.service, &rev.environment).await {
                Ok(instances) => instances,
                Err(err) => {
                    tracing::debug!(service = %rev.service, "services at rest: cannot list instances: {err}");
                    continue;
                }
            };
            self.heal(&rev, &spec, &instances).await;
            let Some(listen) = &spec.router else { continue };
            if let Err(err) = self.traffic.attach(&rev.service, &rev.environment, listen) {
                tracing::warn!(service = %rev.service, "services at rest: {err}");
                continue;
            }
            let on_current = self.traffic.weights(&rev.service, &rev.environment);
            if !(on_current.len() == 1 && on_current[0].revision == rev.id) {
                let weights = [Weight { revision: rev.id.clone(), percent: 100 }];
                if let Err(err) = self.traffic.set_weights(&rev.service, &rev.environment, &weights) {
                    tracing::warn!(service = %rev.service, "services at rest: {err}");
                }
            }
            let routed = routable(&instances, &rev.id, spec.replicas);
            self.traffic.observe(&rev.service, &rev.environment, &routed, self.clock.now_ms());
        }
    }
}

/// The instances of `revision` that should get traffic: the `replicas`
/// lowest-indexed, as the platforms keep them. An instance about to be
/// stopped by a scale-down is out of the router before it stops.
pub(super) fn routable(instances: &[Instance], revision: &str, replicas: u32) -> Vec<Instance> {
    let index = |i: &Instance| {
        i.extensions
            .iter()
            .find(|(k, _)| k == "hoist.index")
            .and_then(|(_, v)| v.parse::<u32>().ok())
            .unwrap_or(u32::MAX)
    };
    let mut mine: Vec<Instance> = instances
        .iter()
        .filter(|i| i.revision == revision && !matches!(i.state, InstanceState::Exited(_)))
        .cloned()
        .collect();
    mine.sort_by_key(index);
    mine.truncate(replicas as usize);
    mine
}
