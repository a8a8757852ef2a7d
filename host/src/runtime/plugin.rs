//! Loading a plugin: digest, compile (or cache hit), world and capability
//! checks, and the `InstancePre` every later call instantiates from.

use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use wasmtime::Engine;
use wasmtime::component::{InstancePre, Linker};

use super::bindings::{admission, health, metrics, platform, strategy};
use super::cache::{CacheState, CompileCache};
use super::engine::{Epochs, Metering};
use super::error::LoadError;
use super::host_state::HostState;
use super::kinds::{Capability, PluginKind, runs_async};
use super::pool::CallPool;
use super::surface::{self, Surface, SurfaceProblem};
use crate::capabilities::{self, Capabilities, Granted};

/// Per-call limits of one plugin (memory cap; wall-clock time per call,
/// instantiation included): the registry's type, so defaults live in one place.
pub use hoist_registry::Limits;

/// Everything the runtime needs to load one plugin.
#[derive(Clone, Debug)]
pub struct PluginSpec {
    pub name: String,
    pub kind: PluginKind,
    /// `builtin:NAME` or the file path, for messages.
    pub source_label: String,
    pub bytes: Arc<[u8]>,
    /// The registry's pin; checked when present.
    pub sha256: Option<String>,
    pub capabilities: Vec<Capability>,
    /// `allow-hosts` and credentials, for the `http` capability.
    pub http: crate::capabilities::http::HttpGrant,
    pub limits: Limits,
    /// The environment the plugin is loaded for, for messages.
    pub environment: Option<String>,
    /// The registry file it was declared in, for messages.
    pub registry: Option<PathBuf>,
}

impl PluginSpec {
    /// Reads a plugin file from disk.
    pub fn read_bytes(name: &str, path: &std::path::Path) -> Result<Arc<[u8]>, LoadError> {
        hoist_files::wasm(path).map(Arc::from).map_err(|source| LoadError::Read {
            plugin: name.to_string(),
            path: path.to_path_buf(),
            source,
        })
    }
}

pub(crate) enum Pre {
    Strategy(strategy::StrategyPluginPre<HostState>),
    Health(health::HealthPolicyPluginPre<HostState>),
    Admission(admission::AdmissionPolicyPluginPre<HostState>),
    Platform(platform::PlatformPluginPre<HostState>),
    Metrics(metrics::MetricsProviderPluginPre<HostState>),
}

/// A loaded, checked plugin ready to be called.
pub struct Plugin {
    pub name: Arc<str>,
    pub kind: PluginKind,
    pub source_label: String,
    pub digest: String,
    pub size: usize,
    pub cache: CacheState,
    pub surface: Surface,
    pub limits: Limits,
    pub granted: Vec<Capability>,
    pub(crate) callee: Arc<Callee>,
}

/// What a call needs, shared with the pool thread that makes it.
pub(crate) struct Callee {
    pub name: Arc<str>,
    pub kind: PluginKind,
    pub limits: Limits,
    pub metering: Metering,
    pub engine: Engine,
    pub pre: Pre,
    /// What the capability units it was granted lend each call.
    pub granted: Granted,
    pub pool: Arc<CallPool>,
    /// `None` under fuel, where no ticker runs.
    pub epochs: Option<Epochs>,
    /// The optional `validate-config` export.
    pub config: Option<super::config_check::ConfigPre>,
}

/// What the runtime lends every plugin it loads.
pub(crate) struct Host<'a> {
    pub engine: &'a Engine,
    pub cache: &'a CompileCache,
    pub capabilities: &'a Capabilities,
    pub metering: Metering,
    pub pool: &'a Arc<CallPool>,
    pub epochs: Option<&'a Epochs>,
}

impl Plugin {
    /// The contract version the plugin was built against, e.g. `0.1.0`.
    pub fn contract_version(&self) -> Option<&str> {
        self.surface.contract_version(self.kind)
    }
}

pub(crate) fn load(host: &Host<'_>, spec: PluginSpec) -> Result<Plugin, LoadError> {
    let Host { engine, cache, capabilities: kept, metering, pool, epochs } = *host;
    let digest = hex::encode(Sha256::digest(&spec.bytes));
    if let Some(expected) = &spec.sha256
        && !expected.eq_ignore_ascii_case(&digest)
    {
        return Err(LoadError::DigestMismatch {
            plugin: spec.name,
            source_label: spec.source_label,
            expected: expected.clone(),
            actual: digest,
        });
    }
    let (component, cache_state) = cache.load(engine, &digest, &spec.bytes).map_err(|err| LoadError::Compile {
        plugin: spec.name.clone(),
        source_label: spec.source_label.clone(),
        reason: format!("{err:#}"),
    })?;
    let surface = Surface::of(engine, &component);
    if let Some(problem) =
        surface::check(&surface, spec.kind, &spec.capabilities, &capabilities::SERVED).into_iter().next()
    {
        return Err(problem_error(&spec, problem));
    }

    let granted: Vec<Capability> = spec.capabilities.clone();
    let mut linker: Linker<HostState> = Linker::new(engine);
    let link_err = |err: wasmtime::Error| LoadError::Link { plugin: spec.name.clone(), reason: format!("{err:#}") };
    // Only the granted capabilities are linked (the ambient ones always).
    let granted_units = capabilities::link(&mut linker, &spec, kept).map_err(link_err)?;
    if runs_async(spec.kind) {
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link_err)?;
    } else {
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link_err)?;
        super::wasi::add_frozen_sleep(&mut linker).map_err(link_err)?;
    }
    let instance_pre: InstancePre<HostState> = linker.instantiate_pre(&component).map_err(link_err)?;
    let checked = instance_pre.clone();
    let pre = match spec.kind {
        PluginKind::Strategy => strategy::StrategyPluginPre::new(instance_pre).map(Pre::Strategy),
        PluginKind::HealthPolicy => health::HealthPolicyPluginPre::new(instance_pre).map(Pre::Health),
        PluginKind::AdmissionPolicy => admission::AdmissionPolicyPluginPre::new(instance_pre).map(Pre::Admission),
        PluginKind::Platform => platform::PlatformPluginPre::new(instance_pre).map(Pre::Platform),
        PluginKind::MetricsProvider => metrics::MetricsProviderPluginPre::new(instance_pre).map(Pre::Metrics),
    }
    .map_err(|err| {
        let (export, world) = surface::expected_export(spec.kind);
        LoadError::WrongWorld {
            plugin: spec.name.clone(),
            kind: spec.kind.as_str().to_string(),
            expected: format!("hoist:plugin/{export}"),
            world: format!("{world} ({err:#})"),
            found: exports_list(&surface),
        }
    })?;

    let config = super::config_check::bind(&spec.name, spec.kind, &surface, &checked)?;
    let name: Arc<str> = Arc::from(spec.name.as_str());
    let callee = Callee {
        name: name.clone(),
        kind: spec.kind,
        limits: spec.limits,
        metering,
        engine: engine.clone(),
        pre,
        granted: granted_units,
        pool: pool.clone(),
        epochs: epochs.cloned(),
        config,
    };
    super::typecheck::check_export(&callee, &checked, &surface)?;
    Ok(Plugin {
        name,
        kind: spec.kind,
        source_label: spec.source_label,
        digest,
        size: spec.bytes.len(),
        cache: cache_state,
        surface,
        limits: spec.limits,
        granted,
        callee: Arc::new(callee),
    })
}

fn exports_list(surface: &Surface) -> String {
    if surface.exports.is_empty() {
        return "nothing".into();
    }
    surface.exports.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
}

fn problem_error(spec: &PluginSpec, problem: SurfaceProblem) -> LoadError {
    let plugin = spec.name.clone();
    match problem {
        SurfaceProblem::WrongWorld { expected, found } => {
            let (_, world) = surface::expected_export(spec.kind);
            LoadError::WrongWorld {
                plugin,
                kind: spec.kind.as_str().to_string(),
                expected,
                world: world.to_string(),
                found: if found.is_empty() {
                    "nothing".into()
                } else {
                    found.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
                },
            }
        }
        SurfaceProblem::Incompatible { interface } => LoadError::Incompatible { plugin, interface },
        SurfaceProblem::UnknownImport { name } => LoadError::UnknownImport { plugin, name },
        SurfaceProblem::Ungranted { capability } => {
            LoadError::Ungranted { message: ungranted_message(spec, capability), plugin, capability }
        }
    }
}

fn ungranted_message(spec: &PluginSpec, cap: Capability) -> String {
    let file = spec.registry.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default();
    let pure = !spec.kind.can_import(cap);
    let cap = cap.as_str();
    let name = &spec.name;
    if pure {
        let kind = spec.kind;
        return format!(
            "plugin `{name}` imports capability `{cap}`, which a {kind} plugin cannot be granted: the `{}` world imports only {}; \
             rebuild it without `{cap}` (effects belong in a platform plugin){file}",
            kind.world(),
            kind.importable()
        );
    }
    match &spec.environment {
        Some(env) => format!(
            "plugin `{name}` imports capability `{cap}`, which environment `{env}` does not grant; \
             add \"{cap}\" to `capabilities` of [plugins.{name}] (or of [environments.{env}.plugins.{name}]){file}"
        ),
        None => format!(
            "plugin `{name}` imports capability `{cap}`, which its registry entry does not grant; \
             add \"{cap}\" to `capabilities` of [plugins.{name}]{file}"
        ),
    }
}
