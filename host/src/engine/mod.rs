//! The rollout engine: per rollout, admission → deploy lock → strategy
//! decision → persist → apply (platform, traffic) → observe → health
//! policies → next decision, until completed, aborted or rolled back.
//!
//! Every decision is committed to the store (with the engine's intent) before
//! it is acted on, and every action states a desired end, so a killed engine
//! resumes by re-applying the stored intent and deciding again.

mod admission;
mod analysis;
pub mod at_rest;
pub mod heal;
pub mod measure;
pub mod memory;
mod observe;
mod platform_faults;
pub mod plugin_ports;
pub mod ports;
mod scale;
pub mod schedule;
mod step;
mod strategy_config;
mod supervise;

use std::collections::BTreeMap;
use std::sync::Arc;

use hoist_store::{CommandKind, DecisionKind, NewCommand, NewRevision, NewRollout, Phase, Rollout, Store};

use serde::{Deserialize, Serialize};

use crate::runtime::Plugin;
pub use measure::MetricTemplate;
pub use plugin_ports::{AdmissionPolicy, CallFailure, Called, HealthPolicy, MetricsProvider, Named, Strategy};
pub use ports::{Clock, Metrics, Platform, PlatformFault, RevisionSpec, SystemClock, Traffic};
pub use step::Tick;

/// `{"revisions": {"r1": {"instances": n, "ready": m}}, "weights": {...}}`
pub fn observe_summary(
    instances: Vec<crate::runtime::bindings::base::hoist::plugin::types::Instance>,
    weights: Vec<crate::runtime::bindings::base::hoist::plugin::types::Weight>,
) -> serde_json::Value {
    // Where each instance is, for an operator (the first hundred).
    let listed: Vec<serde_json::Value> = instances
        .iter()
        .take(100)
        .map(|i| {
            serde_json::json!({
                "id": i.id, "revision": i.revision, "address": i.address, "state": observe::state_text(&i.state),
            })
        })
        .collect();
    let mut summary = observe::Observed { instances, weights }.summary();
    summary["instances"] = serde_json::Value::Array(listed);
    summary
}

/// A plugin as an environment runs it: loaded, with its merged config.
pub struct Configured<P: ?Sized = Plugin> {
    pub plugin: Arc<P>,
    pub config: String,
}

impl<P: ?Sized> Clone for Configured<P> {
    fn clone(&self) -> Self {
        Self { plugin: self.plugin.clone(), config: self.config.clone() }
    }
}

impl Configured {
    /// This plugin as the engine's port of kind `P` (a strategy, a policy).
    pub fn port<P: ?Sized>(&self, as_port: fn(Arc<Plugin>) -> Arc<P>) -> Configured<P> {
        Configured { plugin: as_port(self.plugin.clone()), config: self.config.clone() }
    }
}

/// The plugins one environment uses.
#[derive(Clone)]
pub struct EnvPlugins {
    /// The environment's default strategy.
    pub strategy: Configured<dyn Strategy>,
    /// Every strategy of the registry, by name, for a per-deploy override.
    pub strategies: BTreeMap<String, Configured<dyn Strategy>>,
    pub health: Vec<Configured<dyn HealthPolicy>>,
    pub admission: Vec<Configured<dyn AdmissionPolicy>>,
    /// Analysis templates, measured in every analysis of the environment.
    pub analysis: Vec<MetricTemplate>,
    pub labels: BTreeMap<String, String>,
    /// Addresses besides loopback its service routers may listen on.
    pub router_addresses: Vec<std::net::IpAddr>,
}

/// Tunables of the engine loop.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// How often a waiting rollout re-observes.
    pub poll_ms: u64,
    /// The drivers step a running rollout at least this often even when it
    /// waits longer (a canary step, an analysis), so an instance that dies
    /// meanwhile is seen and replaced. Such a step decides nothing. The live
    /// driver, woken by instance events, watches no more often than every
    /// 10 s (`live::driver::WATCHED_BY_EVENTS_MS`): a safety net.
    pub watch_ms: u64,
    /// A rollout not completed by then is rolled back.
    pub progress_deadline_ms: u64,
    /// Consecutive strategy faults before the rollout is rolled back.
    pub max_faults: u32,
    /// A rollout is rolled back after this many consecutive failed platform
    /// calls (not counting an unreachable platform) ...
    pub max_platform_failures: u32,
    /// ... once they have lasted this long, so a blip does not end it.
    pub platform_failure_window_ms: u64,
    /// Deploy lock lifetime, renewed at every step.
    pub lock_ttl_ms: u64,
    /// A rollback that cannot restore the stable revision fails after this.
    pub rollback_deadline_ms: u64,
    /// A strategy waiting for readiness is asked again after this long even
    /// if readiness has not come, so it can enforce its own deadlines.
    pub ready_recheck_ms: u64,
    /// Fault injection for crash tests: the engine stops dead right after
    /// persisting this step, before acting on it, as a killed process would.
    #[doc(hidden)]
    pub halt_after_step: Option<u64>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            poll_ms: 1_000,
            watch_ms: 5_000,
            progress_deadline_ms: 30 * 60_000,
            max_faults: 3,
            max_platform_failures: 5,
            platform_failure_window_ms: 60_000,
            lock_ttl_ms: 5 * 60_000,
            rollback_deadline_ms: 5 * 60_000,
            ready_recheck_ms: 30_000,
            halt_after_step: None,
        }
    }
}

/// What to run for one service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub env: Vec<(String, String)>,
    #[serde(default)]
    pub port: Option<u16>,
    pub replicas: u32,
    /// The service's front door (host:port) on Hoist's router.
    #[serde(default)]
    pub router: Option<String>,
    /// Readiness probe of every instance.
    #[serde(default)]
    pub probe: Option<hoist_probe::ProbeSpec>,
    /// When an exited instance is replaced at rest.
    #[serde(default)]
    pub restart: heal::RestartPolicy,
    /// The stack it was deployed by, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// Volumes mounted in every instance, `SOURCE:TARGET[:ro]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// The service's own settings of its strategy, over the environment's
    /// (a JSON object; e.g. `{"max-surge": 2}` from Compose's
    /// `deploy.update_config.parallelism`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy_config: Option<serde_json::Value>,
    /// More of what an instance needs, as revision-spec extensions passed
    /// to the platform as they are (`hoist.user`, `hoist.memory`, …: see
    /// `hoist_stack::Runtime::extensions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<(String, String)>,
}

/// A request to deploy a new version of a service: what the engine takes
/// and, as is, what the API's `POST /v1/deploy` carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    pub service: String,
    pub environment: String,
    pub version: String,
    pub spec: ServiceSpec,
    /// Strategy plugin to use instead of the environment's default.
    #[serde(default)]
    pub strategy: Option<String>,
    pub requested_by: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("environment `{0}` is not in the registry; declare it under [environments.{0}]")]
    UnknownEnvironment(String),
    #[error("strategy `{strategy}` is not a strategy plugin of the registry (environment `{environment}`)")]
    UnknownStrategy { strategy: String, environment: String },
    #[error("no rollout `{0}`")]
    UnknownRollout(String),
    #[error("rollout `{id}` has ended ({phase}); start a new deployment instead")]
    Ended { id: String, phase: Phase },
    #[error("service `{service}` in `{environment}` is being deployed by rollout `{owner}`; wait for it, or abort it")]
    Locked { service: String, environment: String, owner: String },
    #[error("revision `{revision}` of `{service}` in `{environment}` is not kept; `hoist history` lists the kept ones")]
    UnknownRevision { service: String, environment: String, revision: String },
    #[error("{0}")]
    Traffic(String),
    #[error("engine halted after persisting step {0} (fault injection)")]
    Halted(u64),
    #[error("state store: {0}")]
    Store(#[from] hoist_store::StoreError),
    /// A request Hoist refuses as given (a name, a replica count).
    #[error("{0}")]
    Invalid(String),
    /// A stored document that does not parse: never read as a default.
    #[error("{what} cannot be read ({reason}); restore the state store from a backup, or abort the rollout")]
    Unreadable { what: String, reason: String },
}

/// The most replicas one service may ask for: far past any real service,
/// far below what would exhaust the host.
pub const MAX_REPLICAS: u32 = 1000;

fn check_replicas(service: &str, replicas: u32) -> Result<(), EngineError> {
    if replicas > MAX_REPLICAS {
        return Err(EngineError::Invalid(format!(
            "`{service}` asks for {replicas} replicas; at most {MAX_REPLICAS} are allowed"
        )));
    }
    Ok(())
}

/// A router listens on loopback unless the environment allows its address
/// (`router-addresses` in the registry): a front door on every interface
/// is a choice, never a typo's consequence.
fn check_router(
    service: &str,
    environment: &str,
    listen: &str,
    allowed: &[std::net::IpAddr],
) -> Result<(), EngineError> {
    let addr: std::net::SocketAddr = listen.parse().map_err(|e| {
        EngineError::Invalid(format!("service `{service}`: router address `{listen}` is not host:port ({e})"))
    })?;
    if addr.ip().is_loopback() || allowed.contains(&addr.ip()) {
        return Ok(());
    }
    Err(EngineError::Invalid(format!(
        "service `{service}`: --router {addr} is not a loopback address; to serve on it, add \
         `router-addresses = [\"{}\"]` to [environments.{environment}] in the registry",
        addr.ip()
    )))
}

/// Environment variables a process can be given: a key that is a name, no
/// NUL anywhere (the kernel cannot pass one; retrying would never help).
fn check_env(service: &str, env: &[(String, String)]) -> Result<(), EngineError> {
    for (key, value) in env {
        let bad_key = key.is_empty() || key.contains('=') || key.contains('\0');
        if bad_key || value.contains('\0') {
            let what = if bad_key { "name" } else { "value" };
            return Err(EngineError::Invalid(format!(
                "`{service}`: environment variable `{}` has an invalid {what}: names are non-empty without `=`, and neither may contain NUL",
                key.escape_debug()
            )));
        }
    }
    Ok(())
}

/// A revision's stored spec; one that does not parse is an error.
pub fn stored_spec(rev: &hoist_store::Revision) -> Result<ServiceSpec, EngineError> {
    serde_json::from_value(rev.spec.clone()).map_err(|e| EngineError::Unreadable {
        what: format!("the stored spec of revision `{}` of `{}` in `{}`", rev.id, rev.service, rev.environment),
        reason: e.to_string(),
    })
}

pub struct Engine {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub platform: Arc<dyn Platform>,
    pub traffic: Arc<dyn Traffic>,
    pub metrics: Arc<dyn Metrics>,
    pub envs: BTreeMap<String, EnvPlugins>,
    pub config: EngineConfig,
    pub stats: EngineStats,
    /// Replacements of exited instances of services at rest.
    pub healing: heal::Healing,
}

/// Counters for benchmarks and status.
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Time spent inside plugin calls (instantiate + call), in nanoseconds.
    pub plugin_nanos: std::sync::atomic::AtomicU64,
    /// Strategy decisions taken.
    pub decisions: std::sync::atomic::AtomicU64,
}

impl EngineStats {
    pub(crate) fn plugin_time(&self, d: std::time::Duration) {
        self.plugin_nanos.fetch_add(d.as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Engine {
    fn env(&self, name: &str) -> Result<&EnvPlugins, EngineError> {
        self.envs.get(name).ok_or_else(|| EngineError::UnknownEnvironment(name.to_string()))
    }

    fn strategy_for(&self, env: &str, name: &str) -> Result<&Configured<dyn Strategy>, EngineError> {
        let plugins = self.env(env)?;
        if plugins.strategy.plugin.name() == name {
            return Ok(&plugins.strategy);
        }
        plugins
            .strategies
            .get(name)
            .ok_or_else(|| EngineError::UnknownStrategy { strategy: name.to_string(), environment: env.to_string() })
    }

    /// Records a new revision and starts its rollout: admission policies,
    /// then the deploy lock. Returns the rollout as it stands.
    pub fn deploy(&self, req: &DeployRequest) -> Result<Rollout, EngineError> {
        crate::names::check("service", &req.service).map_err(EngineError::Invalid)?;
        crate::names::check("environment", &req.environment).map_err(EngineError::Invalid)?;
        check_replicas(&req.service, req.spec.replicas)?;
        check_env(&req.service, &req.spec.env)?;
        let now = self.clock.now_ms();
        let env = self.env(&req.environment)?;
        let strategy = match &req.strategy {
            Some(name) => self.strategy_for(&req.environment, name)?,
            None => &env.strategy,
        };
        // A live rollout's lock holds even past its expiry: it is renewed
        // with the rollout's next write, however long its step is.
        if let Some(lock) = self.store.lock(&req.service, &req.environment)?
            && self.store.rollout(&lock.owner)?.is_some_and(|r| !r.phase.is_terminal())
        {
            return Err(EngineError::Locked {
                service: req.service.clone(),
                environment: req.environment.clone(),
                owner: lock.owner,
            });
        }
        if let Some(listen) = &req.spec.router {
            check_router(&req.service, &req.environment, listen, &env.router_addresses)?;
            self.traffic.attach(&req.service, &req.environment, listen).map_err(EngineError::Traffic)?;
        }
        let stable = self.store.current(&req.service, &req.environment)?;
        let revision = self.store.create_revision(&NewRevision {
            service: req.service.clone(),
            environment: req.environment.clone(),
            version: req.version.clone(),
            spec: serde_json::to_value(&req.spec).unwrap_or_default(),
            created_at_ms: now,
            created_by: req.requested_by.clone(),
        })?;
        let rollout = self.store.create_rollout(&NewRollout {
            id: None,
            service: req.service.clone(),
            environment: req.environment.clone(),
            stable: stable.map(|s| s.id),
            candidate: revision.id.clone(),
            strategy: strategy.plugin.name().to_string(),
            strategy_digest: strategy.plugin.digest().to_string(),
            requested_by: req.requested_by.clone(),
            started_at_ms: now,
            deadline_ms: Some(now + self.config.progress_deadline_ms),
        })?;
        self.admit(rollout, &req.reason)
    }

    /// Queues an operator verb for a rollout; it takes effect at its next step.
    pub fn command(
        &self,
        rollout_id: &str,
        kind: CommandKind,
        operator: &str,
        reason: &str,
    ) -> Result<(), EngineError> {
        let rollout = self.store.rollout(rollout_id)?.ok_or_else(|| EngineError::UnknownRollout(rollout_id.into()))?;
        if rollout.phase.is_terminal() {
            return Err(EngineError::Ended { id: rollout.id, phase: rollout.phase });
        }
        self.store.enqueue_command(&NewCommand {
            rollout_id: rollout_id.to_string(),
            kind,
            operator: operator.to_string(),
            reason: Some(reason.to_string()),
            at_ms: self.clock.now_ms(),
        })?;
        Ok(())
    }

    /// Rolls a service back to any kept revision, fast-tracked past steps and
    /// analysis: a rollout whose candidate is that revision, driven by the
    /// host straight to full size and 100 % traffic.
    pub fn rollback_to(
        &self,
        service: &str,
        environment: &str,
        revision: &str,
        operator: &str,
        reason: &str,
    ) -> Result<Rollout, EngineError> {
        let now = self.clock.now_ms();
        let target =
            self.store.revision(service, environment, revision)?.ok_or_else(|| EngineError::UnknownRevision {
                service: service.into(),
                environment: environment.into(),
                revision: revision.into(),
            })?;
        check_replicas(service, stored_spec(&target)?.replicas)?;
        // An in-flight rollout of the service is aborted first.
        for active in self.store.active_rollouts()? {
            if active.service == service && active.environment == environment {
                let mut ended = active;
                ended.phase = Phase::Aborted;
                ended.reason = Some(format!("superseded by rollback to {revision}"));
                ended.updated_at_ms = now;
                // Releases its lock in the same write.
                self.store.save_rollout(&ended)?;
            }
        }
        let stable = self.store.current(service, environment)?;
        let mut rollout = self.store.create_rollout(&NewRollout {
            id: None,
            service: service.into(),
            environment: environment.into(),
            stable: stable.map(|s| s.id),
            candidate: target.id.clone(),
            strategy: step::FAST_TRACK.into(),
            strategy_digest: String::new(),
            requested_by: operator.into(),
            started_at_ms: now,
            deadline_ms: Some(now + self.config.progress_deadline_ms),
        })?;
        self.start(&mut rollout, now)?;
        rollout.status = format!("rollback to {revision} requested by {operator}: {reason}");
        rollout.updated_at_ms = now;
        self.store.save_rollout(&rollout)?;
        self.store.append_record(&hoist_store::DecisionRecord {
            rollout_id: Some(rollout.id.clone()),
            input: serde_json::json!({ "verb": "rollback", "to": revision }),
            operator: Some(operator.into()),
            reason: Some(reason.into()),
            ..hoist_store::DecisionRecord::new(service, environment, now, DecisionKind::Operator)
        })?;
        Ok(rollout)
    }

    /// Rollouts to drive after a restart.
    pub fn active(&self) -> Result<Vec<Rollout>, EngineError> {
        Ok(self.store.active_rollouts()?)
    }

    /// The replicas and spec of one kept revision.
    fn spec_of(&self, service: &str, environment: &str, revision: &str) -> Result<(RevisionSpec, u32), EngineError> {
        let rev = self.store.revision(service, environment, revision)?.ok_or_else(|| EngineError::UnknownRevision {
            service: service.into(),
            environment: environment.into(),
            revision: revision.into(),
        })?;
        let spec = stored_spec(&rev)?;
        Ok((
            RevisionSpec {
                service: service.into(),
                environment: environment.into(),
                revision: revision.into(),
                version: rev.version,
                image: spec.image,
                command: spec.command,
                env: spec.env,
                port: spec.port,
                probe: spec.probe,
                stack: spec.stack,
                volumes: spec.volumes,
                extensions: spec.extensions,
            },
            spec.replicas,
        ))
    }
}
