//! Calling a loaded plugin: a fresh store per call, a CPU deadline (epochs)
//! and, for platform plugins, a wall-clock timeout around the whole call;
//! inputs capped before the call and outputs checked after it. Any fault is
//! a [`CallError`] for that call only.

use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use super::bindings::base::hoist::plugin::types::{Instance, PluginError};
use super::bindings::health::exports::hoist::plugin::health::{AnalysisInput, Evaluation};
use super::bindings::admission::exports::hoist::plugin::admission::{AdmissionVerdict, DeployRequest};
use super::bindings::platform::exports::hoist::plugin::platform::{PlatformError, RevisionSpec};
use super::bindings::strategy::exports::hoist::plugin::strategy::{Context, Decision};
use super::error::CallError;
use super::host_state::{HostState, LogLine};
use super::plugin::{Plugin, Pre, new_store};
use super::validate;

/// A plugin's answer with what the call left behind.
#[derive(Debug)]
pub struct Called<T> {
    /// The plugin's own answer (its domain errors included).
    pub value: T,
    pub logs: Vec<LogLine>,
    pub logs_dropped: u32,
    /// Wall time of instantiate + call.
    pub elapsed: Duration,
}

impl Plugin {
    /// Asks a strategy for its next decision.
    pub fn decide(&self, ctx: &Context) -> Result<Called<Result<Decision, PluginError>>, CallError> {
        let Pre::Strategy(pre) = &self.pre else { return Err(self.wrong_kind("decide")) };
        validate::strategy_input(self, ctx)?;
        let called = self.call_sync(ctx.now_ms, |store| {
            let bindings = pre.instantiate(&mut *store)?;
            bindings.hoist_plugin_strategy().call_decide(&mut *store, ctx)
        })?;
        if let Ok(decision) = &called.value {
            validate::decision(self, ctx, decision)?;
        }
        Ok(called)
    }

    /// Asks a health policy for a verdict.
    pub fn evaluate(
        &self,
        input: &AnalysisInput,
        now_ms: u64,
    ) -> Result<Called<Result<Evaluation, PluginError>>, CallError> {
        let Pre::Health(pre) = &self.pre else { return Err(self.wrong_kind("evaluate")) };
        validate::analysis_input(self, input)?;
        let called = self.call_sync(now_ms, |store| {
            let bindings = pre.instantiate(&mut *store)?;
            bindings.hoist_plugin_health().call_evaluate(&mut *store, input)
        })?;
        if let Ok(evaluation) = &called.value {
            validate::evaluation(self, evaluation)?;
        }
        Ok(called)
    }

    /// Asks an admission policy whether a deployment may start.
    pub fn admit(&self, request: &DeployRequest) -> Result<Called<Result<AdmissionVerdict, PluginError>>, CallError> {
        let Pre::Admission(pre) = &self.pre else { return Err(self.wrong_kind("admit")) };
        validate::deploy_request(self, request)?;
        let called = self.call_sync(request.now_ms, |store| {
            let bindings = pre.instantiate(&mut *store)?;
            bindings.hoist_plugin_admission().call_admit(&mut *store, request)
        })?;
        if let Ok(verdict) = &called.value {
            validate::admission_verdict(self, verdict)?;
        }
        Ok(called)
    }

    /// Makes `spec` have exactly `replicas` instances on the platform.
    pub async fn ensure(
        &self,
        spec: &RevisionSpec,
        replicas: u32,
        now_ms: u64,
    ) -> Result<Called<Result<Vec<Instance>, PlatformError>>, CallError> {
        let Pre::Platform(pre) = &self.pre else { return Err(self.wrong_kind("ensure")) };
        validate::revision_spec(self, spec)?;
        let called = self
            .call_async(now_ms, async |store| {
                let bindings = pre.instantiate_async(&mut *store).await?;
                bindings.hoist_plugin_platform().call_ensure(&mut *store, spec, replicas).await
            })
            .await?;
        if let Ok(instances) = &called.value {
            validate::instances(self, instances)?;
        }
        Ok(called)
    }

    /// Every instance of `service` in `environment` on the platform.
    pub async fn instances(
        &self,
        service: &str,
        environment: &str,
        config: &str,
        now_ms: u64,
    ) -> Result<Called<Result<Vec<Instance>, PlatformError>>, CallError> {
        let Pre::Platform(pre) = &self.pre else { return Err(self.wrong_kind("instances")) };
        validate::config(self, config)?;
        let called = self
            .call_async(now_ms, async |store| {
                let bindings = pre.instantiate_async(&mut *store).await?;
                bindings.hoist_plugin_platform().call_instances(&mut *store, service, environment, config).await
            })
            .await?;
        if let Ok(instances) = &called.value {
            validate::instances(self, instances)?;
        }
        Ok(called)
    }

    /// Stops and removes every instance of one revision.
    pub async fn remove(
        &self,
        service: &str,
        environment: &str,
        revision: &str,
        config: &str,
        now_ms: u64,
    ) -> Result<Called<Result<(), PlatformError>>, CallError> {
        let Pre::Platform(pre) = &self.pre else { return Err(self.wrong_kind("remove")) };
        validate::config(self, config)?;
        self.call_async(now_ms, async |store| {
            let bindings = pre.instantiate_async(&mut *store).await?;
            bindings
                .hoist_plugin_platform()
                .call_remove(&mut *store, service, environment, revision, config)
                .await
        })
        .await
    }

    fn call_sync<T>(
        &self,
        now_ms: u64,
        f: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<Called<T>, CallError> {
        let mut store = new_store(self, now_ms);
        let started = Instant::now();
        let result = f(&mut store);
        self.finish(store, started, result)
    }

    async fn call_async<T>(
        &self,
        now_ms: u64,
        f: impl AsyncFnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<Called<T>, CallError> {
        let mut store = new_store(self, now_ms);
        let started = Instant::now();
        // Epochs stop a guest that computes; this timeout also stops one
        // blocked inside a host call. Dropping the call's future abandons the
        // store, which is this call's alone.
        let outcome = tokio::time::timeout(self.limits.time, f(&mut store)).await;
        match outcome {
            Ok(result) => self.finish(store, started, result),
            Err(_) => Err(CallError::Timeout { plugin: self.name.to_string(), limit: self.limits.time }),
        }
    }

    fn finish<T>(
        &self,
        store: Store<HostState>,
        started: Instant,
        result: wasmtime::Result<T>,
    ) -> Result<Called<T>, CallError> {
        let elapsed = started.elapsed();
        match result {
            Ok(value) => {
                let state = store.into_data();
                Ok(Called { value, logs: state.logs, logs_dropped: state.logs_dropped, elapsed })
            }
            Err(err) => Err(self.classify(&store, err)),
        }
    }

    fn classify(&self, store: &Store<HostState>, err: wasmtime::Error) -> CallError {
        let plugin = self.name.to_string();
        let state = store.data();
        if let Some(requested) = state.limiter.memory_refused {
            return CallError::MemoryLimit { plugin, limit: state.limiter.memory_limit, requested };
        }
        if matches!(err.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
            return CallError::Timeout { plugin, limit: self.limits.time };
        }
        let message = err.to_string();
        CallError::Trap { plugin, message, stderr: state.stderr_tail() }
    }

    fn wrong_kind(&self, call: &'static str) -> CallError {
        CallError::WrongKind { plugin: self.name.to_string(), actual: self.kind.as_str(), call }
    }
}

impl Plugin {
    /// Times `n` `decide` calls on ONE instance. For the benchmark's "warm
    /// call" figure only: real calls always get a fresh instance.
    #[doc(hidden)]
    pub fn bench_decide_on_one_instance(&self, ctx: &Context, n: usize) -> Result<Vec<Duration>, CallError> {
        let Pre::Strategy(pre) = &self.pre else { return Err(self.wrong_kind("decide")) };
        let mut store = new_store(self, ctx.now_ms);
        store.set_epoch_deadline(u64::MAX / 2);
        let bindings = pre.instantiate(&mut store).map_err(|e| self.classify(&store, e))?;
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            let result = bindings.hoist_plugin_strategy().call_decide(&mut store, ctx);
            times.push(started.elapsed());
            if let Err(err) = result {
                return Err(self.classify(&store, err));
            }
        }
        Ok(times)
    }
}
