//! The plugin runtime: one engine, compiled-code cache, per-plugin
//! `InstancePre`, and sandboxed calls.

pub mod bindings;
pub mod cache;
mod call;
pub mod engine;
pub mod error;
pub mod host_state;
pub mod kinds;
pub mod plugin;
pub mod surface;
mod validate;

use std::path::PathBuf;

use wasmtime::Engine;

pub use cache::{CacheState, CompileCache};
pub use call::Called;
pub use error::{CallError, LoadError};
pub use host_state::{Grants, LogLine};
pub use kinds::{Capability, PluginKind};
pub use plugin::{Limits, Plugin, PluginSpec};

use crate::capabilities::docker::DockerClient;
use crate::capabilities::process::ProcessTable;

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
    grants: Grants,
    _ticker: engine::EpochTicker,
}

impl Runtime {
    pub fn new(cache: CacheSetting) -> anyhow::Result<Self> {
        let engine = engine::build_engine()?;
        let cache = match cache {
            CacheSetting::Off => CompileCache::disabled(),
            CacheSetting::At(root) => CompileCache::at(&root, &engine),
            CacheSetting::Default => match CompileCache::default_root() {
                Some(root) => CompileCache::at(&root, &engine),
                None => CompileCache::disabled(),
            },
        };
        let ticker = engine::EpochTicker::start(&engine)?;
        let grants = Grants { processes: Some(ProcessTable::new()), docker: Some(DockerClient::local()) };
        Ok(Self { engine, cache, grants, _ticker: ticker })
    }

    /// Loads and checks one plugin.
    pub fn load(&self, spec: PluginSpec) -> Result<Plugin, LoadError> {
        plugin::load(&self.engine, &self.cache, &self.grants, spec)
    }

    pub fn cache(&self) -> &CompileCache {
        &self.cache
    }

    /// Makes the `process` capability durable under `state` (see
    /// [`ProcessTable::durable`]). Call before loading plugins.
    pub fn with_durable_processes(mut self, state: &std::path::Path) -> Self {
        self.grants.processes = Some(ProcessTable::durable(state));
        self
    }

    /// The processes spawned through the `process` capability.
    pub fn processes(&self) -> Option<&ProcessTable> {
        self.grants.processes.as_ref()
    }
}
