//! The engine under load: N concurrent rollouts (canary with analysis, the
//! example staging environment) in one process, against the simulated world
//! in virtual time, on the in-memory state store `hoist simulate` uses.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hoist::catalog;
use hoist::engine::{DeployRequest, Engine, EngineConfig, ServiceSpec, Tick};
use hoist::runtime::Runtime;
use hoist::simulate::scenario::TrafficDecl;
use hoist::simulate::world::{VirtualClock, World};
use hoist_registry::Registry;
use hoist_store::{NewRevision, Store};

use crate::stats::Samples;

pub struct Figures {
    pub rollouts: usize,
    pub decisions: u64,
    pub ticks: usize,
    pub wall: Duration,
    pub step_latency: Samples,
    pub plugin_time: Duration,
    pub completed: usize,
}

pub fn run(runtime: &Runtime, rollouts: usize) -> anyhow::Result<Figures> {
    let registry_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios/registry.toml");
    let registry = Registry::load(&registry_path)?;
    let env = "staging";
    let clock = Arc::new(VirtualClock::default());
    let traffic =
        TrafficDecl { rps: Some(400.0), error_rate: Some(0.002), p50_ms: None, p95_ms: None, p99_ms: Some(120.0) };
    let world = Arc::new(World::new(clock.clone(), 5_000, traffic));
    let store = Arc::new(Store::in_memory()?);
    let engine = Engine {
        store: store.clone(),
        clock: clock.clone(),
        platform: world.clone(),
        traffic: world.clone(),
        metrics: world.clone(),
        envs: BTreeMap::from([(env.to_string(), catalog::env_plugins(runtime, &registry, env)?)]),
        config: EngineConfig::default(),
        stats: Default::default(),
        healing: Default::default(),
    };
    let spec = ServiceSpec { replicas: 4, ..ServiceSpec::default() };
    let mut queue = BinaryHeap::new();
    for i in 0..rollouts {
        let service = format!("svc-{i:05}");
        let stable = store.create_revision(&NewRevision {
            service: service.clone(),
            environment: env.into(),
            version: "v1".into(),
            spec: serde_json::to_value(&spec)?,
            created_at_ms: 0,
            created_by: "bench".into(),
        })?;
        store.set_current(&service, env, &stable.id)?;
        world.seed(&service, env, &stable.id, spec.replicas);
        let rollout = engine.deploy(&DeployRequest {
            service,
            environment: env.into(),
            version: "v2".into(),
            spec: spec.clone(),
            strategy: None,
            requested_by: "bench".into(),
            reason: "load".into(),
        })?;
        queue.push(Reverse((0u64, rollout.id)));
    }

    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut latencies = Vec::new();
    let mut completed = 0;
    let started = Instant::now();
    let plugin_before = engine.stats.plugin_nanos.load(Ordering::Relaxed);
    while let Some(Reverse((at, id))) = queue.pop() {
        clock.set(at);
        let t = Instant::now();
        let tick = tokio.block_on(engine.tick(&id))?;
        latencies.push(t.elapsed());
        match tick {
            Tick::At(next) => queue.push(Reverse((next.max(at + 1), id))),
            Tick::Done(phase) => completed += usize::from(phase == hoist_store::Phase::Completed),
            Tick::Operator => {}
        }
    }
    let wall = started.elapsed();
    let plugin_time = Duration::from_nanos(engine.stats.plugin_nanos.load(Ordering::Relaxed) - plugin_before);
    Ok(Figures {
        rollouts,
        decisions: engine.stats.decisions.load(Ordering::Relaxed),
        ticks: latencies.len(),
        wall,
        step_latency: Samples::from(latencies),
        plugin_time,
        completed,
    })
}
