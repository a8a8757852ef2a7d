//! The live control plane, shared by `hoist serve`, `hoist demo` and the
//! end-to-end tests: the engine over each environment's platform plugin
//! (with Hoist's probes for readiness), Hoist's router for traffic and
//! metrics, the wall clock and a state store — and the loops that drive it
//! (`ControlPlane::run`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hoist_registry::Registry;
use hoist_store::Store;

use super::changes::InstanceChanges;
use super::driver::Driver;
use super::plugin_platform::PluginPlatform;
use super::probed_platform::ProbedPlatform;
use super::router_traffic::RouterTraffic;
use crate::catalog::{self, Declared};
use crate::engine::{Configured, Engine, EngineConfig, SystemClock};
use crate::runtime::Runtime;

/// How often services at rest are observed when nothing wakes the
/// reconciler: a safety net, since a probe's readiness change, a process
/// exit, an engine event and a backoff ending each wake it at once.
pub const AT_REST_MS: u64 = 10_000;
/// How often instance logs are checked against their cap.
const ROTATE_EVERY: Duration = Duration::from_secs(10);

pub struct ControlPlane {
    pub driver: Arc<Driver>,
    pub traffic: Arc<RouterTraffic>,
    pub runtime: Arc<Runtime>,
    /// Bytes of output kept per instance log (plus one rotated copy).
    pub instance_log_cap: Option<u64>,
    /// What wakes the driver and the at-rest reconciler.
    pub changes: Arc<InstanceChanges>,
    /// Whether an environment runs on the Docker engine (its event stream
    /// is then watched).
    watches_docker: bool,
}

/// What a control plane is built from.
pub struct Config<'a> {
    pub runtime: Arc<Runtime>,
    pub registry: &'a Registry,
    pub store: Arc<Store>,
    pub engine: EngineConfig,
    /// Rotate instance logs past this size; `None` leaves them alone.
    pub instance_log_cap: Option<u64>,
}

impl ControlPlane {
    /// Builds the control plane and drives it until `stop` resolves: the
    /// rollouts, the services at rest, the instance logs. Must run inside a
    /// tokio runtime. `started` gets the built plane first, so a caller can
    /// serve its API or deploy to it.
    pub async fn run<T, F>(
        config: Config<'_>,
        stop: impl std::future::Future<Output = ()>,
        started: impl FnOnce(&ControlPlane) -> F,
    ) -> anyhow::Result<T>
    where
        F: std::future::Future<Output = anyhow::Result<T>>,
    {
        let subscriptions = super::notify::subscriptions(config.registry);
        let notify_store = config.store.clone();
        let plane = build(config)?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.changed().await;
            }
        };
        let driver = tokio::spawn(plane.driver.clone().run(stopped()));
        let at_rest = tokio::spawn(watch_at_rest(plane.driver.engine.clone(), plane.changes.clone(), stopped()));
        let events = plane.watches_docker.then(|| {
            let (docker, changes, stop) =
                (plane.runtime.capabilities().docker().clone(), plane.changes.clone(), stopped());
            tokio::spawn(async move { docker.watch_events(|event| on_engine_event(&changes, &event), stop).await })
        });
        let rotation = plane.instance_log_cap.map(|cap| {
            let table = plane.runtime.capabilities().processes().clone();
            let stop = stopped();
            tokio::spawn(async move {
                tokio::pin!(stop);
                loop {
                    tokio::select! {
                        _ = &mut stop => return,
                        () = tokio::time::sleep(ROTATE_EVERY) => {}
                    }
                    let table = table.clone();
                    let _ = tokio::task::spawn_blocking(move || table.rotate_logs(cap)).await;
                }
            })
        });
        // Notifications follow the decision log on their own task: a slow
        // or dead receiver never holds up a rollout.
        let notifier = subscriptions.map(|subs| {
            tokio::spawn(super::notify::follow(notify_store, subs, super::notify::Retry::default(), stopped()))
        });
        // The plane runs until the caller's work ends, or until `stop`,
        // after which that work (an API server draining) is let finish.
        let work = started(&plane);
        tokio::pin!(work);
        tokio::pin!(stop);
        let result = tokio::select! {
            r = &mut work => r,
            () = &mut stop => work.await,
        };
        let _ = stop_tx.send(true);
        let _ = driver.await;
        let _ = at_rest.await;
        if let Some(task) = events {
            let _ = task.await;
        }
        if let Some(task) = notifier {
            let _ = task.await;
        }
        if let Some(task) = rotation {
            let _ = task.await;
        }
        result
    }
}

/// Watches services at rest until `stop` resolves: at once when an
/// instance changes, when a backoff ends, else every [`AT_REST_MS`].
async fn watch_at_rest(
    engine: Arc<Engine>,
    changes: Arc<InstanceChanges>,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        engine.watch_at_rest().await;
        let now = engine.clock.now_ms();
        let wait = engine.healing.next_due(now).map_or(AT_REST_MS, |due| due.saturating_sub(now).min(AT_REST_MS));
        tokio::select! {
            _ = &mut stop => return,
            () = changes.changed_at_rest() => {}
            _ = tokio::time::sleep(Duration::from_millis(wait.max(1))) => {}
        }
    }
}

/// A container of a Hoist service changed on the engine.
fn on_engine_event(changes: &InstanceChanges, event: &crate::capabilities::docker::ContainerEvent) {
    if event.action == "oom" {
        let name = event.attributes.get("name").map_or(event.container.as_str(), String::as_str);
        tracing::warn!(container = %name, "container OOM-killed by the engine (memory limit reached)");
    }
    changes.mark_labelled(event.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())));
}

/// Builds the control plane; must run inside a tokio runtime.
pub fn build(config: Config<'_>) -> anyhow::Result<ControlPlane> {
    let Config { runtime, registry, store, engine: config, instance_log_cap } = config;
    let mut envs = BTreeMap::new();
    let mut platforms = BTreeMap::new();
    let mut watches_docker = false;
    for env in registry.environments.keys() {
        let resolved = registry.environment(env.as_str())?;
        watches_docker |= resolved.platform.capabilities.contains(&hoist_registry::Capability::Docker);
        envs.insert(env.to_string(), catalog::env_plugins(&runtime, registry, env.as_str())?);
        let platform = Declared::InEnvironment(&resolved.platform).load(&runtime)?;
        platforms.insert(
            env.to_string(),
            Configured { plugin: Arc::new(platform), config: resolved.platform.config_json() },
        );
    }
    let changes = Arc::new(InstanceChanges::default());
    let platform = ProbedPlatform::new(
        PluginPlatform { plugins: platforms, clock: SystemClock },
        tokio::runtime::Handle::current(),
        changes.clone(),
    );
    // A local process that exits wakes its rollout or the reconciler at once.
    let sink = changes.clone();
    runtime.capabilities().processes().on_exit(Arc::new(move |labels: &[(String, String)]| {
        sink.mark_labelled(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }));
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
    // Each service at rest keeps the backoff it had before the restart.
    engine.restore_healing()?;
    Ok(ControlPlane {
        driver: Driver::with_changes(engine, changes.clone()),
        traffic,
        runtime,
        instance_log_cap,
        changes,
        watches_docker,
    })
}
