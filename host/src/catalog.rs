//! From registry entries to loaded plugins: resolves `builtin:NAME` and path
//! sources, applies the registry's pins, grants and limits, and loads each
//! through the runtime.

use std::sync::Arc;

use hoist_registry::{PluginDecl, Registry, ResolvedPlugin, Source};

use crate::builtins;
use crate::capabilities::http::HttpGrant;
use crate::runtime::{CallFault, ConfigProblem, LoadError, Plugin, PluginSpec, Runtime};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("plugin `{plugin}`: source `builtin:{name}` names no builtin plugin; this hoist ships: {known}")]
    UnknownBuiltin { plugin: String, name: String, known: String },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("plugin `{plugin}`{}: its config is refused: {}; fix `config` in {}", in_env(environment), join_problems(problems), registry.display())]
    Config { plugin: String, environment: Option<String>, registry: std::path::PathBuf, problems: Vec<ConfigProblem> },
    #[error("plugin `{plugin}`: checking its config failed: {fault}")]
    ConfigCheck { plugin: String, fault: CallFault },
}

fn in_env(environment: &Option<String>) -> String {
    environment.as_ref().map(|e| format!(" in environment `{e}`")).unwrap_or_default()
}

fn join_problems(problems: &[ConfigProblem]) -> String {
    problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ")
}

/// One plugin as the registry declares it, for one environment or for all.
pub enum Declared<'a> {
    Plugin(&'a Registry, &'a PluginDecl),
    InEnvironment(&'a ResolvedPlugin),
}

impl Declared<'_> {
    fn name(&self) -> &str {
        match self {
            Self::Plugin(_, d) => d.name.as_str(),
            Self::InEnvironment(r) => r.name.as_str(),
        }
    }

    fn source(&self) -> &Source {
        match self {
            Self::Plugin(_, d) => &d.source,
            Self::InEnvironment(r) => &r.source,
        }
    }

    /// The plugin's config as the JSON document handed to it.
    pub fn config_json(&self) -> String {
        match self {
            Self::Plugin(_, d) => serde_json::Value::Object(d.config.clone()).to_string(),
            Self::InEnvironment(r) => r.config_json(),
        }
    }

    pub(crate) fn spec(&self) -> Result<PluginSpec, CatalogError> {
        let name = self.name().to_string();
        let (source_label, bytes): (String, Arc<[u8]>) = match self.source() {
            Source::Builtin(builtin) => {
                let found = builtins::find(builtin).ok_or_else(|| CatalogError::UnknownBuiltin {
                    plugin: name.clone(),
                    name: builtin.clone(),
                    known: builtins::BUILTINS.iter().map(|b| b.name).collect::<Vec<_>>().join(", "),
                })?;
                (format!("builtin:{builtin}"), Arc::from(found.bytes))
            }
            Source::Path(path) => (path.display().to_string(), PluginSpec::read_bytes(&name, path)?),
        };
        let (kind, sha256, caps, limits, environment, registry) = match self {
            Self::Plugin(reg, d) => (d.kind, d.sha256.as_ref(), &d.capabilities, d.limits, None, &reg.path),
            Self::InEnvironment(r) => (
                r.kind,
                r.sha256.as_ref(),
                &r.capabilities,
                r.limits,
                Some(r.environment.to_string()),
                &r.registry_path,
            ),
        };
        let http = match self {
            Self::Plugin(_, d) => HttpGrant { allow_hosts: d.allow_hosts.clone(), credentials: d.credentials.clone() },
            Self::InEnvironment(r) => {
                HttpGrant { allow_hosts: r.allow_hosts.clone(), credentials: r.credentials.clone() }
            }
        };
        Ok(PluginSpec {
            name,
            kind,
            source_label,
            bytes,
            sha256: sha256.map(|d| d.to_hex()),
            capabilities: caps.iter().copied().collect(),
            http,
            limits,
            environment,
            registry: Some(registry.clone()),
        })
    }

    /// Loads and checks the plugin; in an environment, its config too.
    pub fn load(&self, runtime: &Runtime) -> Result<Plugin, CatalogError> {
        let spec = self.spec()?;
        let plugin = runtime.load(spec).map_err(|err| match (err, self) {
            // The registry knows best how this environment's grant is spelled.
            (LoadError::Ungranted { plugin, capability, .. }, Self::InEnvironment(r)) => {
                LoadError::Ungranted { message: r.ungranted_message(capability), plugin, capability }.into()
            }
            (err, _) => CatalogError::from(err),
        })?;
        if let Self::InEnvironment(_) = self {
            self.check_config(&plugin)?;
        }
        Ok(plugin)
    }

    /// Asks the plugin whether it accepts its config (this entry's, merged
    /// for the environment when there is one).
    pub fn check_config(&self, plugin: &Plugin) -> Result<(), CatalogError> {
        let problems = plugin
            .validate_config(&self.config_json())
            .map_err(|fault| CatalogError::ConfigCheck { plugin: self.name().to_string(), fault })?;
        if problems.is_empty() {
            return Ok(());
        }
        let (environment, registry) = match self {
            Self::Plugin(reg, _) => (None, reg.path.clone()),
            Self::InEnvironment(r) => (Some(r.environment.to_string()), r.registry_path.clone()),
        };
        Err(CatalogError::Config { plugin: self.name().to_string(), environment, registry, problems })
    }
}

/// Loads every plugin environment `env` uses, plus every strategy of the
/// registry (for per-deploy overrides), as that environment runs them.
pub fn env_plugins(runtime: &Runtime, registry: &Registry, env: &str) -> anyhow::Result<crate::engine::EnvPlugins> {
    use crate::engine::Configured;
    let resolved = registry.environment(env)?;
    let load = |p: &ResolvedPlugin| -> anyhow::Result<Configured> {
        let plugin = Declared::InEnvironment(p).load(runtime)?;
        Ok(Configured { plugin: Arc::new(plugin), config: p.config_json() })
    };
    let mut strategies = std::collections::BTreeMap::new();
    for decl in registry.plugins.values() {
        if decl.kind == hoist_registry::PluginKind::Strategy
            && let Some(resolved) = registry.resolve_plugin(env, decl.name.as_str())
        {
            strategies.insert(decl.name.to_string(), load(&resolved)?);
        }
    }
    fn strategy(p: Arc<Plugin>) -> Arc<dyn crate::engine::Strategy> {
        p
    }
    fn health(p: Arc<Plugin>) -> Arc<dyn crate::engine::HealthPolicy> {
        p
    }
    fn admission(p: Arc<Plugin>) -> Arc<dyn crate::engine::AdmissionPolicy> {
        p
    }
    fn provider(p: Arc<Plugin>) -> Arc<dyn crate::engine::MetricsProvider> {
        p
    }
    let loaded = |list: &[ResolvedPlugin]| list.iter().map(load).collect::<anyhow::Result<Vec<_>>>();
    // One instance of each provider, however many templates it measures.
    let mut providers: std::collections::BTreeMap<String, Configured> = std::collections::BTreeMap::new();
    let mut analysis = Vec::new();
    for t in &resolved.analysis {
        let name = t.provider.name.to_string();
        let configured = match providers.get(&name) {
            Some(c) => c.clone(),
            None => {
                let c = load(&t.provider)?;
                providers.insert(name, c.clone());
                c
            }
        };
        analysis
            .push(crate::engine::MetricTemplate { template: t.template.clone(), provider: configured.port(provider) });
    }
    Ok(crate::engine::EnvPlugins {
        strategy: load(&resolved.strategy)?.port(strategy),
        strategies: strategies.into_iter().map(|(name, c): (String, Configured)| (name, c.port(strategy))).collect(),
        health: loaded(&resolved.health_policies)?.iter().map(|c| c.port(health)).collect(),
        admission: loaded(&resolved.admission_policies)?.iter().map(|c| c.port(admission)).collect(),
        analysis,
        labels: resolved.labels.clone(),
        router_addresses: resolved.router_addresses.clone(),
    })
}
