//! The plugin runtime: one engine, compiled-code cache, per-plugin
//! `InstancePre`, and sandboxed calls.

pub mod bindings;
pub mod cache;
mod call;
mod config_check;
pub mod engine;
pub mod error;
mod fault;
pub mod host_state;
pub mod kinds;
pub mod output;
pub mod plugin;
pub mod pool;
mod ports;
pub mod provider;
pub mod surface;
mod typecheck;
mod validate;
mod wasi;

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::Engine;

pub use crate::capabilities::log::LogLine;
pub use cache::{CacheState, CompileCache};
pub use call::Called;
pub use config_check::ConfigProblem;
pub use engine::Metering;
pub use error::{CallError, CallFault, LoadError};
pub use kinds::{Capability, PluginKind};
pub use output::PluginOutput;
pub use plugin::{Limits, Plugin, PluginSpec};

use crate::capabilities::Capabilities;

/// Where compiled plugins are cached.
#[derive(Clone, Debug, Default)]
pub enum CacheSetting {
    /// `$HOIST_CACHE_DIR`, `$XDG_CACHE_HOME/hoist` or `~/.cache/hoist`.
    #[default]
    Default,
    At(PathBuf),
    Off,
}

/// The host's plugin runtime. Cheap to share behind an `Arc`; calls on
/// different plugins or the same plugin run concurrently.
pub struct Runtime {
    engine: Engine,
    cache: CompileCache,
    capabilities: Capabilities,
    metering: Metering,
    pool: Arc<pool::CallPool>,
    ticker: Option<engine::EpochTicker>,
}

impl Runtime {
    /// The live runtime: calls bounded by wall time (epochs).
    pub fn new(cache: CacheSetting) -> anyhow::Result<Self> {
        Self::with_metering(cache, Metering::Epochs)
    }

    /// The runtime of `hoist simulate`: strategy and policy calls bounded by
    /// fuel, so every run gives the same outcome.
    pub fn deterministic(cache: CacheSetting) -> anyhow::Result<Self> {
        Self::with_metering(cache, Metering::Fuel)
    }

    pub fn with_metering(cache: CacheSetting, metering: Metering) -> anyhow::Result<Self> {
        let engine = engine::build_engine(metering)?;
        let cache = match cache {
            CacheSetting::Off => CompileCache::disabled(),
            CacheSetting::At(root) => CompileCache::at(&root, &engine),
            CacheSetting::Default => match CompileCache::default_root() {
                Some(root) => CompileCache::at(&root, &engine),
                None => CompileCache::disabled(),
            },
        };
        let ticker = match metering {
            Metering::Epochs => Some(engine::EpochTicker::start(&engine)?),
            Metering::Fuel => None,
        };
        let pool = Arc::new(pool::CallPool::sized_for_machine()?);
        Ok(Self { engine, cache, capabilities: Capabilities::new(), metering, pool, ticker })
    }

    /// Loads and checks one plugin.
    pub fn load(&self, spec: PluginSpec) -> Result<Plugin, LoadError> {
        let host = plugin::Host {
            engine: &self.engine,
            cache: &self.cache,
            capabilities: &self.capabilities,
            metering: self.metering,
            pool: &self.pool,
            epochs: self.ticker.as_ref().map(|t| t.epochs()),
        };
        plugin::load(&host, spec)
    }

    /// What a component imports and exports, read without linking or
    /// checking it: for showing a plugin that was refused. `None` when it
    /// does not even compile.
    pub fn surface_of(&self, bytes: &[u8]) -> Option<surface::Surface> {
        use sha2::Digest as _;
        let digest = hex::encode(sha2::Sha256::digest(bytes));
        let (component, _) = self.cache.load(&self.engine, &digest, bytes).ok()?;
        Some(surface::Surface::of(&self.engine, &component))
    }

    pub fn metering(&self) -> Metering {
        self.metering
    }

    pub fn cache(&self) -> &CompileCache {
        &self.cache
    }

    /// Replaces what the capability units keep for this runtime (e.g.
    /// [`Capabilities::durable`]). Call before loading plugins: a loaded
    /// plugin keeps what it was lent.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// What the capability units keep for this runtime: the processes
    /// spawned through `process`, the engine `docker` talks to.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
}
