//! The plugins as the engine sees them: a strategy decides, a health
//! policy evaluates, an admission policy admits, a metrics provider answers
//! an analysis template's query. The runtime implements
//! these for its wasm plugins (`runtime/ports.rs`); tests implement them
//! natively, so every branch of a step can be tested without wasm.

use std::time::Duration;

use serde_json::Value;

use super::ports::BoxFuture;
use crate::runtime::bindings::admission::exports::hoist::plugin::admission::{AdmissionVerdict, DeployRequest};
use crate::runtime::bindings::health::exports::hoist::plugin::health::{AnalysisInput, Evaluation};
use crate::runtime::bindings::strategy::exports::hoist::plugin::strategy::{Context, Decision};
use crate::runtime::provider::{MetricError, MetricQuery, Series};

/// Why a plugin call gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallFailure {
    /// The plugin answered with its own typed error (shown as the contract
    /// spells it, e.g. `InvalidConfig("…")`).
    Refused(String),
    /// The call itself failed: a trap, a timeout, memory, bad output.
    Fault(String),
}

/// One call of a plugin, as the engine records it.
#[derive(Clone, Debug)]
pub struct Called<T> {
    pub outcome: Result<T, CallFailure>,
    /// What the plugin printed and logged, as a decision-log document.
    pub printed: Option<Value>,
    /// Time the call took, when it ran.
    pub elapsed: Option<Duration>,
}

/// Who a plugin is, for the decision log.
pub trait Named: Send + Sync {
    fn name(&self) -> &str;
    fn digest(&self) -> &str;
}

pub trait Strategy: Named {
    fn decide<'a>(&'a self, ctx: &'a Context) -> BoxFuture<'a, Called<Decision>>;
}

pub trait HealthPolicy: Named {
    fn evaluate<'a>(&'a self, input: &'a AnalysisInput, now_ms: u64) -> BoxFuture<'a, Called<Evaluation>>;
}

pub trait AdmissionPolicy: Named {
    /// Called synchronously: admission runs inside `deploy`.
    fn admit(&self, request: &DeployRequest) -> Called<AdmissionVerdict>;
}

pub trait MetricsProvider: Named {
    /// One measurement: every series the query matched (each with at least
    /// one sample), or the provider's typed error (`no-data` among them).
    fn query<'a>(&'a self, query: &'a MetricQuery) -> BoxFuture<'a, Called<Result<Vec<Series>, MetricError>>>;
}
