//! The builtin strategies and health policies compiled natively, as the
//! engine's plugin ports: the same code the wasm components run, called
//! without wasm, so the engine's steps can be tested branch by branch.
//! Values cross as the contract's JSON (both sides derive it from the same
//! WIT), the way a component's values cross the canonical ABI.

use std::marker::PhantomData;

use hoist::engine::ports::BoxFuture;
use hoist::engine::{CallFailure, Called, HealthPolicy, Named, Strategy};
use hoist::runtime::bindings::base::hoist::plugin::types::PluginError;
use hoist::runtime::bindings::health::exports::hoist::plugin::health::{AnalysisInput, Evaluation};
use hoist::runtime::bindings::strategy::exports::hoist::plugin::strategy::{Context, Decision};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `S` (an SDK strategy or policy) under the name `name`.
pub struct Native<S> {
    name: String,
    _plugin: PhantomData<fn() -> S>,
}

impl<S> Native<S> {
    pub fn new(name: &str) -> Self {
        Self { name: name.to_string(), _plugin: PhantomData }
    }
}

impl<S> Named for Native<S> {
    fn name(&self) -> &str {
        &self.name
    }
    fn digest(&self) -> &str {
        "native"
    }
}

/// A value of one side's bindings as the other side's.
fn cross<A: Serialize, B: DeserializeOwned>(value: &A) -> Result<B, String> {
    serde_json::to_value(value).and_then(serde_json::from_value).map_err(|e| format!("contract mismatch: {e}"))
}

fn answer<A: Serialize, B: DeserializeOwned, E: Serialize>(result: Result<A, E>) -> Called<B> {
    let outcome = match result {
        Ok(value) => cross(&value).map_err(CallFailure::Fault),
        Err(e) => match cross::<E, PluginError>(&e) {
            Ok(e) => Err(CallFailure::Refused(format!("{e:?}"))),
            Err(m) => Err(CallFailure::Fault(m)),
        },
    };
    Called { outcome, printed: None, elapsed: None }
}

impl<S: hoist_sdk::strategy::Strategy> Strategy for Native<S> {
    fn decide<'a>(&'a self, ctx: &'a Context) -> BoxFuture<'a, Called<Decision>> {
        let called = match cross(ctx) {
            Ok(ctx) => answer(S::decide(ctx)),
            Err(m) => Called { outcome: Err(CallFailure::Fault(m)), printed: None, elapsed: None },
        };
        Box::pin(async move { called })
    }
}

impl<S: hoist_sdk::health::HealthPolicy> HealthPolicy for Native<S> {
    fn evaluate<'a>(&'a self, input: &'a AnalysisInput, _now_ms: u64) -> BoxFuture<'a, Called<Evaluation>> {
        let called = match cross(input) {
            Ok(input) => answer::<_, Evaluation, _>(S::evaluate(input)),
            Err(m) => Called { outcome: Err(CallFailure::Fault(m)), printed: None, elapsed: None },
        };
        Box::pin(async move { called })
    }
}
