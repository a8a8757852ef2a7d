//! The vocabulary shared by every world: revisions, instances, weights,
//! verdicts and the error a plugin returns when it cannot answer.

pub use crate::bindings::base::hoist::plugin::types::{
    DurationMs, Extensions, Instance, InstanceState, PluginError, Revision, TimestampMs, Verdict, Weight,
};
