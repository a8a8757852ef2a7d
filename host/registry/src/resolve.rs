//! Effective plugin settings for one environment: overrides applied.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::capability::{Capability, PluginKind, join};
use crate::digest::Digest;
use crate::model::{Environment, JsonObject, PluginDecl, Registry, Source};
use crate::names::{EnvName, PluginName};
use crate::units::Limits;

/// An environment with every plugin it uses resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedEnvironment {
    /// The environment's name.
    pub name: EnvName,
    /// Facts handed to admission policies.
    pub labels: BTreeMap<String, String>,
    /// Addresses besides loopback its service routers may listen on.
    pub router_addresses: Vec<std::net::IpAddr>,
    /// The platform adapter.
    pub platform: ResolvedPlugin,
    /// The default strategy.
    pub strategy: ResolvedPlugin,
    /// Health policies, in the order written.
    pub health_policies: Vec<ResolvedPlugin>,
    /// Admission policies, in the order written.
    pub admission_policies: Vec<ResolvedPlugin>,
    /// Analysis templates, in name order, each with its provider.
    pub analysis: Vec<ResolvedTemplate>,
}

/// An analysis template with the metrics-provider plugin that measures it,
/// as this environment runs that plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTemplate {
    pub template: crate::analysis::AnalysisTemplate,
    pub provider: ResolvedPlugin,
}

/// A plugin as one environment runs it: the declaration with that
/// environment's overrides applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPlugin {
    /// The plugin's name.
    pub name: PluginName,
    /// The environment this resolution is for.
    pub environment: EnvName,
    /// The world it implements.
    pub kind: PluginKind,
    /// Where its component comes from.
    pub source: Source,
    /// The pinned digest (always set for path sources).
    pub sha256: Option<Digest>,
    /// Effective grant, including log and clock.
    pub capabilities: BTreeSet<Capability>,
    /// Effective `allow-hosts` for `http`.
    pub allow_hosts: Vec<String>,
    /// Secrets added to requests to some of those hosts (the plugin's own).
    pub credentials: Vec<crate::model::Credential>,
    /// Effective per-call limits.
    pub limits: Limits,
    /// The plugin's config with the environment's deep-merged over it.
    pub config: JsonObject,
    /// Whether the environment replaced the plugin's capabilities.
    pub capabilities_overridden: bool,
    /// The registry file, for messages.
    pub registry_path: PathBuf,
}

/// Why [`Registry::environment`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No `[environments.NAME]` with this name.
    #[error("unknown environment `{name}`; {} declares: {}", registry_path.display(), if known.is_empty() { "no environments".to_owned() } else { join(known) })]
    UnknownEnvironment {
        /// The name asked for.
        name: String,
        /// The environments that exist.
        known: Vec<String>,
        /// The registry file.
        registry_path: PathBuf,
    },
    /// The environment names a plugin that is not declared. `Registry::load`
    /// rejects this; it can only happen with a `Registry` built by hand.
    #[error("environment `{environment}` uses plugin `{plugin}`, which the registry does not declare")]
    UnknownPlugin {
        /// The environment.
        environment: EnvName,
        /// The missing plugin.
        plugin: PluginName,
    },
}

/// A component imports a capability the registry does not grant it. The
/// message names the plugin, the capability, the environment and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UngrantedCapability {
    /// The plugin whose component has the import.
    pub plugin: PluginName,
    /// The capability it imports.
    pub capability: Capability,
    /// The environment it was resolved for.
    pub environment: EnvName,
    message: String,
}

impl Registry {
    /// The environment `name` with each plugin it uses resolved.
    pub fn environment(&self, name: &str) -> Result<ResolvedEnvironment, ResolveError> {
        let env = self.environments.get(name).ok_or_else(|| ResolveError::UnknownEnvironment {
            name: name.to_owned(),
            known: self.environments.keys().map(|n| n.to_string()).collect(),
            registry_path: self.path.clone(),
        })?;
        let resolve = |plugin: &PluginName| {
            self.resolve_in(env, plugin)
                .ok_or_else(|| ResolveError::UnknownPlugin { environment: env.name.clone(), plugin: plugin.clone() })
        };
        let resolve_all = |names: &[PluginName]| names.iter().map(resolve).collect::<Result<Vec<_>, _>>();
        Ok(ResolvedEnvironment {
            name: env.name.clone(),
            labels: env.labels.clone(),
            router_addresses: env.router_addresses.clone(),
            platform: resolve(&env.platform)?,
            strategy: resolve(&env.strategy)?,
            health_policies: resolve_all(&env.health_policies)?,
            admission_policies: resolve_all(&env.admission_policies)?,
            analysis: env
                .analysis
                .iter()
                .map(|t| Ok(ResolvedTemplate { template: t.clone(), provider: resolve(&t.provider)? }))
                .collect::<Result<_, ResolveError>>()?,
        })
    }

    /// Any declared plugin as environment `env` would run it (e.g. a strategy
    /// a service picks instead of the environment's default). `None` if
    /// either name is unknown.
    pub fn resolve_plugin(&self, env: &str, plugin: &str) -> Option<ResolvedPlugin> {
        let env = self.environments.get(env)?;
        let name = self.plugins.get_key_value(plugin)?.0;
        self.resolve_in(env, name)
    }

    fn resolve_in(&self, env: &Environment, plugin: &PluginName) -> Option<ResolvedPlugin> {
        let decl: &PluginDecl = self.plugins.get(plugin)?;
        let over = env.overrides.get(plugin);
        let mut config = decl.config.clone();
        if let Some(overlay) = over.and_then(|o| o.config.as_ref()) {
            merge_config(&mut config, overlay);
        }
        let limits = Limits {
            memory_bytes: over.and_then(|o| o.memory_bytes).unwrap_or(decl.limits.memory_bytes),
            time: over.and_then(|o| o.time).unwrap_or(decl.limits.time),
        };
        let capabilities = over.and_then(|o| o.capabilities.clone());
        Some(ResolvedPlugin {
            name: decl.name.clone(),
            environment: env.name.clone(),
            kind: decl.kind,
            source: decl.source.clone(),
            sha256: decl.sha256,
            capabilities_overridden: capabilities.is_some(),
            capabilities: capabilities.unwrap_or_else(|| decl.capabilities.clone()),
            allow_hosts: over.and_then(|o| o.allow_hosts.clone()).unwrap_or_else(|| decl.allow_hosts.clone()),
            credentials: decl.credentials.clone(),
            limits,
            config,
            registry_path: self.path.clone(),
        })
    }
}

impl ResolvedPlugin {
    /// The effective config as a JSON object string, as handed to the plugin.
    pub fn config_json(&self) -> String {
        serde_json::Value::Object(self.config.clone()).to_string()
    }

    /// Whether this plugin may import `capability` in this environment.
    pub fn grants(&self, capability: Capability) -> bool {
        capability.is_ambient() || self.capabilities.contains(&capability)
    }

    /// Checks a component's capability imports against the grant; the error
    /// names the first ungranted one and says where to grant it.
    pub fn check_imports(&self, imports: impl IntoIterator<Item = Capability>) -> Result<(), UngrantedCapability> {
        match imports.into_iter().find(|c| !self.grants(*c)) {
            None => Ok(()),
            Some(capability) => Err(UngrantedCapability {
                plugin: self.name.clone(),
                capability,
                environment: self.environment.clone(),
                message: self.ungranted_message(capability),
            }),
        }
    }

    /// The message for a component that imports `capability` without a
    /// grant, e.g. "plugin `canary` imports capability `docker`, which
    /// environment `prod` does not grant it; add \"docker\" to `capabilities`
    /// in [plugins.canary] in registry.toml".
    pub fn ungranted_message(&self, capability: Capability) -> String {
        let (plugin, env, file) = (&self.name, &self.environment, self.registry_path.display());
        let head =
            format!("plugin `{plugin}` imports capability `{capability}`, which environment `{env}` does not grant it");
        if !self.kind.can_import(capability) {
            return format!(
                "{head}; a {} plugin may import only {}, so this component does not implement the `{}` world correctly",
                self.kind,
                self.kind.importable(),
                self.kind.world()
            );
        }
        let base = format!("[plugins.{plugin}]");
        let env_table = format!("[environments.{env}.plugins.{plugin}]");
        let fix = match self.capabilities_overridden {
            false => format!("add \"{capability}\" to `capabilities` in {base}"),
            true => format!(
                "add \"{capability}\" to `capabilities` in {env_table} (and in {base} if it is not there; an environment can only narrow a plugin's grant)"
            ),
        };
        let hosts =
            if capability == Capability::Http { " and list the hosts it may call in `allow-hosts`" } else { "" };
        format!("{head}; {fix}{hosts} in {file}")
    }
}

/// Deep-merges `overlay` into `base`: tables merge key by key, anything else
/// (including arrays) in `overlay` replaces the value in `base`.
pub fn merge_config(base: &mut JsonObject, overlay: &JsonObject) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(serde_json::Value::Object(b)), serde_json::Value::Object(o)) => merge_config(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: serde_json::Value) -> JsonObject {
        match v {
            serde_json::Value::Object(o) => o,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn merge_is_deep_for_tables_and_replaces_the_rest() {
        let mut base = object(json!({
            "max-surge": "25%",
            "thresholds": { "error-rate": 0.05, "p99-ms": 500 },
            "steps": [10, 50, 100],
        }));
        let overlay = object(json!({
            "max-surge": 1,
            "thresholds": { "error-rate": 0.01 },
            "steps": [5],
        }));
        merge_config(&mut base, &overlay);
        assert_eq!(
            serde_json::Value::Object(base),
            json!({
                "max-surge": 1,
                "thresholds": { "error-rate": 0.01, "p99-ms": 500 },
                "steps": [5],
            })
        );
    }

    #[test]
    fn overlay_table_replaces_scalar() {
        let mut base = object(json!({ "a": 1 }));
        merge_config(&mut base, &object(json!({ "a": { "b": 2 } })));
        assert_eq!(serde_json::Value::Object(base), json!({ "a": { "b": 2 } }));
    }
}
