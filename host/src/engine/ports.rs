//! What the engine needs from the world, as traits: the platform that runs
//! instances, the traffic layer that splits requests, the metrics that feed
//! the health policies, and the clock. Real implementations (wasm platform
//! plugins, the router) and the simulator's implement the same traits, so
//! `hoist simulate` runs the very engine a real rollout runs.

use std::future::Future;
use std::pin::Pin;

use crate::runtime::bindings::base::hoist::plugin::types::{Instance, Weight};
use crate::runtime::bindings::health::exports::hoist::plugin::health::RevisionMetrics;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the engine asks the platform to run for one revision.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RevisionSpec {
    pub service: String,
    pub environment: String,
    pub revision: String,
    pub version: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub env: Vec<(String, String)>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub probe: Option<hoist_probe::ProbeSpec>,
    /// The stack the service belongs to: platforms put a stack's services
    /// on one network where each is reachable by its name.
    #[serde(default)]
    pub stack: Option<String>,
    /// Volumes mounted in every instance, `SOURCE:TARGET[:ro]`.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// Passed to the platform plugin as they are (`hoist.user`, …).
    #[serde(default)]
    pub extensions: Vec<(String, String)>,
}

/// Why the platform did not make a revision's instances true, by what the
/// engine should do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformFault {
    /// Retrying cannot help (a missing image, a bad command): the rollout
    /// is rolled back at once with this reason.
    Permanent(String),
    /// The platform cannot be reached: retried until the progress deadline,
    /// since rolling back would need the same platform.
    Unreachable(String),
    /// Anything else: retried, but a streak of them rolls the rollout back.
    Failed(String),
}

impl std::fmt::Display for PlatformFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Permanent(m) | Self::Unreachable(m) | Self::Failed(m) => f.write_str(m),
        }
    }
}

/// A platform: makes "revision R has N instances" true, lists instances.
pub trait Platform: Send + Sync {
    fn ensure<'a>(&'a self, spec: &'a RevisionSpec, replicas: u32) -> BoxFuture<'a, Result<(), PlatformFault>>;
    fn instances<'a>(&'a self, service: &'a str, environment: &'a str) -> BoxFuture<'a, Result<Vec<Instance>, String>>;
    fn remove<'a>(
        &'a self,
        service: &'a str,
        environment: &'a str,
        revision: &'a str,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// The traffic layer of a service.
pub trait Traffic: Send + Sync {
    /// Gives the service a front door at `listen` (host:port), if this
    /// traffic layer runs them.
    fn attach(&self, _service: &str, _environment: &str, _listen: &str) -> Result<(), String> {
        Ok(())
    }
    /// Closes the service's front door: the service is gone.
    fn detach(&self, _service: &str, _environment: &str) {}
    fn set_weights(&self, service: &str, environment: &str, weights: &[Weight]) -> Result<(), String>;
    fn weights(&self, service: &str, environment: &str) -> Vec<Weight>;
    /// What the engine just observed of the service's instances (so the
    /// traffic layer routes to ready instances only).
    fn observe(&self, _service: &str, _environment: &str, _instances: &[Instance], _now_ms: u64) {}
    /// Resolves once no request is in flight to `revision` (or after the
    /// layer's drain timeout), so its instances can be stopped.
    fn drain<'a>(&'a self, _service: &'a str, _environment: &'a str, _revision: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// Measurements of one revision over a window, for the health policies.
pub trait Metrics: Send + Sync {
    fn window(&self, service: &str, environment: &str, revision: &str, from_ms: u64, to_ms: u64) -> RevisionMetrics;
}

/// "Now": wall time for real rollouts, virtual time in simulation.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }
}
