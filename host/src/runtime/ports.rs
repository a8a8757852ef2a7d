//! The runtime's wasm plugins as the engine's plugin ports.

use crate::engine::plugin_ports::{
    AdmissionPolicy, CallFailure, Called, HealthPolicy, MetricsProvider, Named, Strategy,
};
use crate::engine::ports::BoxFuture;
use crate::runtime::bindings::admission::exports::hoist::plugin::admission::{AdmissionVerdict, DeployRequest};
use crate::runtime::bindings::base::hoist::plugin::types::PluginError;
use crate::runtime::bindings::health::exports::hoist::plugin::health::{AnalysisInput, Evaluation};
use crate::runtime::bindings::strategy::exports::hoist::plugin::strategy::{Context, Decision};
use crate::runtime::error::CallFault;
use crate::runtime::provider::{MetricError, MetricQuery, Series};
use crate::runtime::{Called as RawCalled, Plugin};

fn called<T>(answer: Result<RawCalled<Result<T, PluginError>>, CallFault>) -> Called<T> {
    match answer {
        Ok(c) => Called {
            printed: c.output.to_record(),
            elapsed: Some(c.elapsed),
            outcome: c.value.map_err(|e| CallFailure::Refused(format!("{e:?}"))),
        },
        Err(fault) => Called {
            printed: fault.output.to_record(),
            elapsed: None,
            outcome: Err(CallFailure::Fault(fault.to_string())),
        },
    }
}

impl Named for Plugin {
    fn name(&self) -> &str {
        &self.name
    }
    fn digest(&self) -> &str {
        &self.digest
    }
}

impl Strategy for Plugin {
    fn decide<'a>(&'a self, ctx: &'a Context) -> BoxFuture<'a, Called<Decision>> {
        Box::pin(async move { called(self.decide_async(ctx).await) })
    }
}

impl HealthPolicy for Plugin {
    fn evaluate<'a>(&'a self, input: &'a AnalysisInput, now_ms: u64) -> BoxFuture<'a, Called<Evaluation>> {
        Box::pin(async move { called(self.evaluate_async(input, now_ms).await) })
    }
}

impl AdmissionPolicy for Plugin {
    fn admit(&self, request: &DeployRequest) -> Called<AdmissionVerdict> {
        called(Plugin::admit(self, request))
    }
}

impl MetricsProvider for Plugin {
    fn query<'a>(&'a self, query: &'a MetricQuery) -> BoxFuture<'a, Called<Result<Vec<Series>, MetricError>>> {
        Box::pin(async move {
            match self.query_metrics(query).await {
                Ok(c) => Called { printed: c.output.to_record(), elapsed: Some(c.elapsed), outcome: Ok(c.value) },
                Err(fault) => Called {
                    printed: fault.output.to_record(),
                    elapsed: None,
                    outcome: Err(CallFailure::Fault(fault.to_string())),
                },
            }
        })
    }
}
