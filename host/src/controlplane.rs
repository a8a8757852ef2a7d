//! The live control plane's wiring, shared by `hoist serve` and `hoist
//! demo`: the engine over each environment's platform plugin (with Hoist's
//! probes for readiness), Hoist's router for traffic and metrics, the wall
//! clock, and a state store.

use std::collections::BTreeMap;
use std::sync::Arc;

use hoist_registry::Registry;
use hoist_store::Store;

use crate::catalog::{self, Declared};
use crate::engine::driver::Driver;
use crate::engine::plugin_platform::PluginPlatform;
use crate::engine::probed_platform::ProbedPlatform;
use crate::engine::router_traffic::RouterTraffic;
use crate::engine::{Configured, Engine, EngineConfig, SystemClock};
use crate::runtime::Runtime;

pub struct ControlPlane {
    pub driver: Arc<Driver>,
    pub traffic: Arc<RouterTraffic>,
    pub runtime: Arc<Runtime>,
}

/// Builds the control plane; must run inside a tokio runtime.
pub fn build(
    runtime: Arc<Runtime>,
    registry: &Registry,
    store: Arc<Store>,
    config: EngineConfig,
) -> anyhow::Result<ControlPlane> {
    let mut envs = BTreeMap::new();
    let mut platforms = BTreeMap::new();
    for env in registry.environments.keys() {
        let resolved = registry.environment(env.as_str())?;
        envs.insert(env.to_string(), catalog::env_plugins(&runtime, registry, env.as_str())?);
        let platform = Declared::InEnvironment(&resolved.platform).load(&runtime)?;
        platforms.insert(
            env.to_string(),
            Configured { plugin: Arc::new(platform), config: resolved.platform.config_json() },
        );
    }
    let platform = ProbedPlatform::new(
        PluginPlatform { plugins: platforms, clock: SystemClock },
        tokio::runtime::Handle::current(),
    );
    let traffic = Arc::new(RouterTraffic::new());
    // A restarted control plane gives every known service its front door
    // and probes back before it resumes rollouts.
    for rollout in store.active_rollouts()? {
        for rev in std::iter::once(&rollout.candidate).chain(rollout.stable.as_ref()) {
            if let Some(r) = store.revision(&rollout.service, &rollout.environment, rev)? {
                let spec = crate::engine::stored_spec(&r)?;
                if let Some(listen) = &spec.router {
                    use crate::engine::Traffic;
                    traffic.attach(&rollout.service, &rollout.environment, listen).map_err(|e| anyhow::anyhow!(e))?;
                }
                if let Some(probe) = spec.probe {
                    platform.declare(&rollout.service, &rollout.environment, rev, probe);
                }
            }
        }
    }
    // Services at rest get their probes back too (the at-rest watcher
    // gives them their front door).
    for rev in store.current_revisions()? {
        let spec = crate::engine::stored_spec(&rev)?;
        if let Some(probe) = spec.probe {
            platform.declare(&rev.service, &rev.environment, &rev.id, probe);
        }
    }
    let readiness = platform.changes();
    let engine = Arc::new(Engine {
        store,
        clock: Arc::new(SystemClock),
        platform: Arc::new(platform),
        traffic: traffic.clone(),
        metrics: traffic.clone(),
        envs,
        config,
        stats: Default::default(),
        healing: Default::default(),
    });
    Ok(ControlPlane { driver: Driver::with_readiness(engine, readiness), traffic, runtime })
}
