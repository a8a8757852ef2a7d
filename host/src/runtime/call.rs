//! Calling a loaded plugin: a fresh store per call, a CPU deadline (epochs,
//! or fuel in simulation) and, for platform plugins, a wall-clock timeout
//! around the whole call; inputs capped before the call and outputs checked
//! after it. Any fault is a [`CallFault`] for that call only, carrying what
//! the plugin printed.
//!
//! Strategy and policy calls run on the runtime's [`CallPool`], never on
//! the caller's thread when that is a tokio runtime's: the `*_async` forms
//! let the control plane wait for them without holding a worker, and the
//! plain forms block the calling thread only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Store;

use super::bindings::admission::exports::hoist::plugin::admission::{AdmissionVerdict, DeployRequest};
use super::bindings::base::hoist::plugin::types::{Instance, PluginError};
use super::bindings::health::exports::hoist::plugin::health::{AnalysisInput, Evaluation};
use super::bindings::platform::exports::hoist::plugin::platform::{PlatformError, RevisionSpec};
use super::bindings::strategy::exports::hoist::plugin::strategy::{Context, Decision};
use super::engine::{Metering, fuel_for};
use super::error::{CallError, CallFault};
use super::fault::Faulted;
use super::host_state::HostState;
use super::output::PluginOutput;
use super::plugin::{Callee, Plugin, Pre};
use super::validate;

/// A plugin's answer with what the call left behind.
#[derive(Debug)]
pub struct Called<T> {
    /// The plugin's own answer (its domain errors included).
    pub value: T,
    /// What it printed and logged.
    pub output: PluginOutput,
    /// Wall time of instantiate + call.
    pub elapsed: Duration,
}

type Answer<T> = Result<Called<Result<T, PluginError>>, CallFault>;

impl Plugin {
    /// Asks a strategy for its next decision.
    pub fn decide(&self, ctx: &Context) -> Answer<Decision> {
        validate::strategy_input(self, ctx)?;
        let (callee, owned) = (self.callee.clone(), ctx.clone());
        let called = self.blocking(move || callee.decide(&owned))?;
        self.check_decision(ctx, called)
    }

    /// [`Plugin::decide`] for async callers: the call runs on the pool.
    pub async fn decide_async(&self, ctx: &Context) -> Answer<Decision> {
        validate::strategy_input(self, ctx)?;
        let (callee, owned) = (self.callee.clone(), ctx.clone());
        let called = self.pooled(move || callee.decide(&owned)).await?;
        self.check_decision(ctx, called)
    }

    fn check_decision(&self, ctx: &Context, called: Called<Result<Decision, PluginError>>) -> Answer<Decision> {
        if let Ok(decision) = &called.value {
            validate::decision(self, ctx, decision)
                .map_err(|error| CallFault { error, output: called.output.clone() })?;
        }
        Ok(called)
    }

    /// Asks a health policy for a verdict.
    pub fn evaluate(&self, input: &AnalysisInput, now_ms: u64) -> Answer<Evaluation> {
        validate::analysis_input(self, input)?;
        let (callee, owned) = (self.callee.clone(), input.clone());
        let called = self.blocking(move || callee.evaluate(&owned, now_ms))?;
        self.check_evaluation(called)
    }

    /// [`Plugin::evaluate`] for async callers.
    pub async fn evaluate_async(&self, input: &AnalysisInput, now_ms: u64) -> Answer<Evaluation> {
        validate::analysis_input(self, input)?;
        let (callee, owned) = (self.callee.clone(), input.clone());
        let called = self.pooled(move || callee.evaluate(&owned, now_ms)).await?;
        self.check_evaluation(called)
    }

    fn check_evaluation(&self, called: Called<Result<Evaluation, PluginError>>) -> Answer<Evaluation> {
        if let Ok(evaluation) = &called.value {
            validate::evaluation(self, evaluation)
                .map_err(|error| CallFault { error, output: called.output.clone() })?;
        }
        Ok(called)
    }

    /// Asks an admission policy whether a deployment may start.
    pub fn admit(&self, request: &DeployRequest) -> Answer<AdmissionVerdict> {
        validate::deploy_request(self, request)?;
        let (callee, owned) = (self.callee.clone(), request.clone());
        let called = self.blocking(move || callee.admit(&owned))?;
        self.check_verdict(called)
    }

    /// [`Plugin::admit`] for async callers.
    pub async fn admit_async(&self, request: &DeployRequest) -> Answer<AdmissionVerdict> {
        validate::deploy_request(self, request)?;
        let (callee, owned) = (self.callee.clone(), request.clone());
        let called = self.pooled(move || callee.admit(&owned)).await?;
        self.check_verdict(called)
    }

    fn check_verdict(&self, called: Called<Result<AdmissionVerdict, PluginError>>) -> Answer<AdmissionVerdict> {
        if let Ok(verdict) = &called.value {
            validate::admission_verdict(self, verdict)
                .map_err(|error| CallFault { error, output: called.output.clone() })?;
        }
        Ok(called)
    }

    /// Runs a synchronous call where it cannot meet a tokio runtime: inline
    /// on a plain thread, else on the pool.
    fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<Called<T>, CallFault> + Send + 'static,
    ) -> Result<Called<T>, CallFault> {
        if tokio::runtime::Handle::try_current().is_err() {
            return job();
        }
        self.callee.pool.run_blocking(job).map_err(|e| self.host_fault(e))?
    }

    async fn pooled<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<Called<T>, CallFault> + Send + 'static,
    ) -> Result<Called<T>, CallFault> {
        self.callee.pool.run(job).await.map_err(|e| self.host_fault(e))?
    }

    fn host_fault(&self, err: super::pool::PoolError) -> CallFault {
        CallError::Host { plugin: self.name.to_string(), reason: err.to_string() }.into()
    }

    /// Makes `spec` have exactly `replicas` instances on the platform.
    pub async fn ensure(
        &self,
        spec: &RevisionSpec,
        replicas: u32,
        now_ms: u64,
    ) -> Result<Called<Result<Vec<Instance>, PlatformError>>, CallFault> {
        let Pre::Platform(pre) = &self.callee.pre else { return Err(self.callee.wrong_kind("ensure").into()) };
        validate::revision_spec(self, spec)?;
        let called = self
            .callee
            .call_async(now_ms, async |store| {
                let bindings = pre.instantiate_async(&mut *store).await?;
                bindings.hoist_plugin_platform().call_ensure(&mut *store, spec, replicas).await
            })
            .await?;
        if let Ok(instances) = &called.value {
            validate::instances(self, instances).map_err(|error| CallFault { error, output: called.output.clone() })?;
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
    ) -> Result<Called<Result<Vec<Instance>, PlatformError>>, CallFault> {
        let Pre::Platform(pre) = &self.callee.pre else { return Err(self.callee.wrong_kind("instances").into()) };
        validate::config(self, config)?;
        let called = self
            .callee
            .call_async(now_ms, async |store| {
                let bindings = pre.instantiate_async(&mut *store).await?;
                bindings.hoist_plugin_platform().call_instances(&mut *store, service, environment, config).await
            })
            .await?;
        if let Ok(instances) = &called.value {
            validate::instances(self, instances).map_err(|error| CallFault { error, output: called.output.clone() })?;
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
    ) -> Result<Called<Result<(), PlatformError>>, CallFault> {
        let Pre::Platform(pre) = &self.callee.pre else { return Err(self.callee.wrong_kind("remove").into()) };
        validate::config(self, config)?;
        self.callee
            .call_async(now_ms, async |store| {
                let bindings = pre.instantiate_async(&mut *store).await?;
                bindings.hoist_plugin_platform().call_remove(&mut *store, service, environment, revision, config).await
            })
            .await
    }
}

impl Callee {
    fn decide(&self, ctx: &Context) -> Result<Called<Result<Decision, PluginError>>, CallFault> {
        let Pre::Strategy(pre) = &self.pre else { return Err(self.wrong_kind("decide").into()) };
        self.call_sync(ctx.now_ms, |store| {
            let bindings = pre.instantiate(&mut *store)?;
            bindings.hoist_plugin_strategy().call_decide(&mut *store, ctx)
        })
    }

    fn evaluate(
        &self,
        input: &AnalysisInput,
        now_ms: u64,
    ) -> Result<Called<Result<Evaluation, PluginError>>, CallFault> {
        let Pre::Health(pre) = &self.pre else { return Err(self.wrong_kind("evaluate").into()) };
        self.call_sync(now_ms, |store| {
            let bindings = pre.instantiate(&mut *store)?;
            bindings.hoist_plugin_health().call_evaluate(&mut *store, input)
        })
    }

    fn admit(&self, request: &DeployRequest) -> Result<Called<Result<AdmissionVerdict, PluginError>>, CallFault> {
        let Pre::Admission(pre) = &self.pre else { return Err(self.wrong_kind("admit").into()) };
        self.call_sync(request.now_ms, |store| {
            let bindings = pre.instantiate(&mut *store)?;
            bindings.hoist_plugin_admission().call_admit(&mut *store, request)
        })
    }

    pub(super) fn call_sync<T>(
        &self,
        now_ms: u64,
        f: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<Called<T>, CallFault> {
        let mut store = self.new_store(now_ms);
        let started = Instant::now();
        let result = f(&mut store);
        self.finish(store, started, result)
    }

    pub(super) async fn call_async<T>(
        &self,
        now_ms: u64,
        f: impl AsyncFnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<Called<T>, CallFault> {
        let mut store = self.new_store(now_ms);
        let started = Instant::now();
        // Epochs stop a guest that computes; this timeout also stops one
        // blocked inside a host call. Dropping the call's future abandons the
        // store, which is this call's alone.
        let outcome = tokio::time::timeout(self.limits.time, f(&mut store)).await;
        match outcome {
            Ok(result) => self.finish(store, started, result),
            Err(_) => Err(CallFault {
                error: CallError::Timeout { plugin: self.name.to_string(), limit: self.limits.time },
                output: store.data().output(),
            }),
        }
    }

    fn finish<T>(
        &self,
        store: Store<HostState>,
        started: Instant,
        result: wasmtime::Result<T>,
    ) -> Result<Called<T>, CallFault> {
        let elapsed = started.elapsed();
        let output = store.data().output();
        match result {
            Ok(value) => Ok(Called { value, output, elapsed }),
            Err(err) => {
                let error = self.faulted().classify(store.data(), &err);
                Err(CallFault { error, output })
            }
        }
    }

    fn faulted(&self) -> Faulted<'_> {
        let fuel = (self.metering == Metering::Fuel).then(|| fuel_for(self.limits.time));
        Faulted { plugin: &self.name, time_limit: self.limits.time, fuel }
    }

    /// A store for one call, with its limits and deadline (or fuel) set.
    pub(crate) fn new_store(&self, now_ms: u64) -> Store<HostState> {
        let mut state = HostState::new(self.name.clone(), self.limits.memory_usize(), now_ms, self.granted.clone());
        // Before the deadline is set: the epoch must be advancing from here.
        state.ticking = self.epochs.as_ref().map(|e| e.enter());
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        match self.metering {
            Metering::Epochs => {
                store.set_epoch_deadline(super::engine::deadline_ticks(self.limits.time));
                store.epoch_deadline_trap();
            }
            Metering::Fuel => {
                // Only fails when fuel is off, which Metering::Fuel rules out.
                let _ = store.set_fuel(fuel_for(self.limits.time));
            }
        }
        store
    }

    pub(crate) fn wrong_kind(&self, call: &'static str) -> CallError {
        CallError::WrongKind { plugin: self.name.to_string(), actual: self.kind.as_str(), call }
    }
}

impl Plugin {
    /// Times `n` `decide` calls on ONE instance. For the benchmark's "warm
    /// call" figure only: real calls always get a fresh instance.
    #[doc(hidden)]
    pub fn bench_decide_on_one_instance(&self, ctx: &Context, n: usize) -> Result<Vec<Duration>, CallError> {
        let callee: &Arc<Callee> = &self.callee;
        let Pre::Strategy(pre) = &callee.pre else { return Err(callee.wrong_kind("decide")) };
        let mut store = callee.new_store(ctx.now_ms);
        if callee.metering == Metering::Epochs {
            store.set_epoch_deadline(u64::MAX / 2);
        }
        let bindings = pre.instantiate(&mut store).map_err(|e| callee.faulted().classify(store.data(), &e))?;
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let started = Instant::now();
            let result = bindings.hoist_plugin_strategy().call_decide(&mut store, ctx);
            times.push(started.elapsed());
            if let Err(err) = result {
                return Err(callee.faulted().classify(store.data(), &err));
            }
        }
        Ok(times)
    }
}
