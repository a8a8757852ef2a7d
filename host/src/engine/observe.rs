//! What the engine sees before each decision, and its one-line summary.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::runtime::bindings::base::hoist::plugin::types::{Instance, InstanceState, Weight};

#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub instances: Vec<Instance>,
    pub weights: Vec<Weight>,
}

impl Observed {
    pub fn ready(&self, revision: &str) -> u32 {
        self.instances.iter().filter(|i| i.revision == revision && matches!(i.state, InstanceState::Ready)).count()
            as u32
    }

    pub fn count(&self, revision: &str) -> u32 {
        self.instances.iter().filter(|i| i.revision == revision).count() as u32
    }

    /// Instances of the revision that have not ended.
    pub fn live(&self, revision: &str) -> u32 {
        self.instances.iter().filter(|i| i.revision == revision && !ended(i)).count() as u32
    }

    /// Instances that have ended (exited, killed) and are still listed.
    pub fn ended(&self) -> impl Iterator<Item = &Instance> {
        self.instances.iter().filter(|i| ended(i))
    }

    /// Whether the platform must act for the revision to have `replicas`
    /// live instances and no ended ones.
    pub fn needs_ensure(&self, revision: &str, replicas: u32) -> bool {
        self.live(revision) != replicas || self.count(revision) != self.live(revision)
    }

    /// `{"revisions": {"r1": {"instances": 10, "ready": 10}}, "weights": {"r1": 100}}`
    pub fn summary(&self) -> Value {
        let mut revisions: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
        for i in &self.instances {
            let entry = revisions.entry(i.revision.as_str()).or_default();
            entry.0 += 1;
            if matches!(i.state, InstanceState::Ready) {
                entry.1 += 1;
            }
        }
        let revisions: serde_json::Map<String, Value> = revisions
            .into_iter()
            .map(|(r, (n, ready))| (r.to_string(), json!({ "instances": n, "ready": ready })))
            .collect();
        let weights: serde_json::Map<String, Value> =
            self.weights.iter().map(|w| (w.revision.clone(), json!(w.percent))).collect();
        json!({ "revisions": revisions, "weights": weights })
    }
}

fn ended(i: &Instance) -> bool {
    matches!(i.state, InstanceState::Exited(_))
}

/// "exited (exit code 3)", "stopping", ... for messages.
pub fn state_text(state: &InstanceState) -> String {
    match state {
        InstanceState::Starting => "starting".into(),
        InstanceState::Ready => "ready".into(),
        InstanceState::Unready => "unready".into(),
        InstanceState::Stopping => "stopping".into(),
        InstanceState::Exited(how) if how == "exited" => "exited".into(),
        InstanceState::Exited(how) => format!("exited ({how})"),
        InstanceState::Other(what) => what.clone(),
    }
}
