//! One `[environments.NAME]` entry: its plugin references (each of the
//! right kind), router addresses and per-plugin overrides.

use std::collections::{BTreeMap, BTreeSet};

use serde_spanned::Spanned;
use toml::de::DeValue;

use super::keys::{retain_keys, table_path};
use super::{Checker, Key, Known, Value};
use crate::capability::{Capability, PluginKind, join};
use crate::model::{Environment, PluginOverride};
use crate::names::{EnvName, PluginName};
use crate::schema::{EnvironmentToml, LimitsToml, OverrideToml, fields_of};

impl Checker<'_> {
    pub(super) fn environment(&mut self, key: &Key<'_>, value: &Value<'_>, known: &Known) -> Option<Environment> {
        let raw_name: &str = key.get_ref();
        let name = match EnvName::new(raw_name) {
            Ok(name) => Some(name),
            Err(err) => {
                self.error(key.span(), format!("invalid environment name `{raw_name}`: {}", err.reason));
                None
            }
        };
        let path = ["environments", raw_name];
        if let Some(DeValue::Table(table)) = Some(value.get_ref())
            && let Some(DeValue::Table(plugins)) = table.get("plugins").map(|v| v.get_ref())
        {
            // Check override keys up front so each override is reported on its own.
            for (plugin, entry) in plugins.iter() {
                if let Some(mut table) = entry.get_ref().as_table().cloned() {
                    let path = ["environments", raw_name, "plugins", plugin.get_ref()];
                    self.strip_unknown_keys(&mut table, fields_of::<OverrideToml>(), &path);
                }
            }
        }
        let analysis = self.analysis(raw_name, value, known);
        let notify = self.notify(raw_name, value);
        let value = strip_override_keys(value);
        let raw = self.typed::<EnvironmentToml>(&value, &path)?;
        let here = table_path(&path);

        let platform = self.required(&raw.platform, key, &here, "platform", PluginKind::Platform, known);
        let strategy = self.required(&raw.strategy, key, &here, "strategy", PluginKind::Strategy, known);
        let health = self.references(&raw.health_policies, "health-policies", PluginKind::HealthPolicy, known);
        let admission =
            self.references(&raw.admission_policies, "admission-policies", PluginKind::AdmissionPolicy, known);

        let mut ok = true;
        let mut router_addresses = Vec::new();
        for address in raw.router_addresses.iter().flatten() {
            match address.get_ref().parse::<std::net::IpAddr>() {
                Ok(ip) => router_addresses.push(ip),
                Err(_) => {
                    self.error(
                        address.span(),
                        format!(
                            "`router-addresses` entry `{}` is not an IP address; write one such as \"0.0.0.0\" or \"10.0.0.5\"",
                            address.get_ref()
                        ),
                    );
                    ok = false;
                }
            }
        }
        let mut overrides = BTreeMap::new();
        for (plugin, raw_override) in raw.plugins.iter().flatten() {
            match self.plugin_override(raw_name, plugin, raw_override, known) {
                Some(Some((name, o))) => {
                    overrides.insert(name, o);
                }
                Some(None) => {}
                None => ok = false,
            }
        }

        let (Some(name), Some(platform), Some(strategy), Some(health_policies), Some(admission_policies), true) =
            (name, platform, strategy, health, admission, ok)
        else {
            return None;
        };
        let (analysis, notify) = (analysis?, notify?);
        Some(Environment {
            name,
            platform,
            strategy,
            health_policies,
            admission_policies,
            labels: raw.labels.unwrap_or_default(),
            router_addresses,
            overrides,
            analysis,
            notify,
            location: self.map.location(key.span().start),
        })
    }

    /// A required single plugin reference (`platform`, `strategy`).
    fn required(
        &mut self,
        field: &Option<Spanned<String>>,
        key: &Key<'_>,
        here: &str,
        name: &str,
        kind: PluginKind,
        known: &Known,
    ) -> Option<PluginName> {
        match field {
            Some(reference) => self.reference(reference, name, kind, known),
            None => {
                self.error(
                    key.span(),
                    format!(
                        "{here} has no `{name}`; add `{name} = \"NAME\"` naming a {kind} plugin ({})",
                        candidates(known, kind)
                    ),
                );
                None
            }
        }
    }

    fn references(
        &mut self,
        list: &Option<Vec<Spanned<String>>>,
        field: &str,
        kind: PluginKind,
        known: &Known,
    ) -> Option<Vec<PluginName>> {
        let mut names = Vec::new();
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for item in list.iter().flatten() {
            if !seen.insert(item.get_ref().as_str()) {
                self.error(
                    item.span(),
                    format!("plugin `{}` is listed twice in `{field}`; remove one", item.get_ref()),
                );
                ok = false;
            } else if let Some(name) = self.reference(item, field, kind, known) {
                names.push(name);
            } else {
                ok = false;
            }
        }
        ok.then_some(names)
    }

    /// Checks that `reference` names a declared plugin of `kind`.
    fn reference(
        &mut self,
        reference: &Spanned<String>,
        field: &str,
        kind: PluginKind,
        known: &Known,
    ) -> Option<PluginName> {
        let target = reference.get_ref().as_str();
        match known.kinds.get(target) {
            None => {
                self.error(
                    reference.span(),
                    format!(
                        "`{field}` names unknown plugin `{target}`; declare [plugins.{target}] or use a declared {kind} plugin ({})",
                        candidates(known, kind)
                    ),
                );
                None
            }
            Some(Some(actual)) if *actual != kind => {
                self.error(
                    reference.span(),
                    format!(
                        "`{field}` needs a {kind} plugin, but `{target}` is a {actual} plugin ({})",
                        candidates(known, kind)
                    ),
                );
                None
            }
            // Valid, or broken and already reported.
            Some(_) => PluginName::new(target).ok(),
        }
    }

    /// `Some(Some(..))`: a valid override; `Some(None)`: the plugin itself is
    /// broken (already reported); `None`: this override has errors.
    fn plugin_override(
        &mut self,
        env: &str,
        plugin: &Spanned<String>,
        raw: &OverrideToml,
        known: &Known,
    ) -> Option<Option<(PluginName, PluginOverride)>> {
        let target = plugin.get_ref().as_str();
        let here = table_path(&["environments", env, "plugins", target]);
        if !known.kinds.contains_key(target) {
            self.error(
                plugin.span(),
                format!("{here} overrides unknown plugin `{target}`; declared plugins: {}", join(known.kinds.keys())),
            );
            return None;
        }
        let kind = known.kinds.get(target).copied().flatten();
        let config = match &raw.config {
            Some(table) => self.config(Some(table)).map(Some),
            None => Some(None),
        };
        let capabilities = match &raw.capabilities {
            Some(list) => self.capabilities(list.get_ref(), kind).map(Some),
            None => Some(None),
        };
        let allow_hosts = match &raw.allow_hosts {
            Some(_) => self.allow_hosts(raw.allow_hosts.as_ref()).map(Some),
            None => Some(None),
        };
        let (memory_bytes, time) = match &raw.limits {
            Some(limits) => (self.memory(limits), self.time(limits)),
            None => (Some(None), Some(None)),
        };
        let (config, capabilities, allow_hosts, memory_bytes, time) =
            (config?, capabilities?, allow_hosts?, memory_bytes?, time?);
        // The checks against the declaration need a valid one.
        let Some(decl) = known.decls.get(target) else {
            return Some(None);
        };
        if let Some(list) = &raw.capabilities {
            for item in list.get_ref() {
                if let Ok(cap) = item.get_ref().parse::<Capability>()
                    && !decl.capabilities.contains(&cap)
                {
                    self.error(
                        item.span(),
                        format!(
                            "environment `{env}` grants `{cap}` to plugin `{target}`, but [plugins.{target}] does not; an environment can only narrow a plugin's capabilities, so add \"{cap}\" to `capabilities` in [plugins.{target}] first"
                        ),
                    );
                    return None;
                }
            }
        }
        let effective_caps = capabilities.as_ref().unwrap_or(&decl.capabilities);
        let effective_hosts = allow_hosts.as_deref().unwrap_or(&decl.allow_hosts);
        let caps_list = raw.capabilities.as_ref().map(|l| l.get_ref().clone());
        if !self.check_http(effective_caps, effective_hosts, raw.allow_hosts.as_ref(), &caps_list, &here) {
            return None;
        }
        Some(Some((decl.name.clone(), PluginOverride { config, capabilities, allow_hosts, memory_bytes, time })))
    }
}

/// Drops unknown keys from every override table of an environment (they were
/// reported already) so serde checks the remaining types.
fn strip_override_keys<'i>(value: &Value<'i>) -> Value<'i> {
    let mut value = value.clone();
    if let DeValue::Table(table) = value.get_mut()
        && let Some(DeValue::Table(plugins)) = table.get_mut("plugins").map(|v| v.get_mut())
    {
        for (_, entry) in plugins.iter_mut() {
            if let DeValue::Table(t) = entry.get_mut() {
                retain_keys(t, fields_of::<OverrideToml>());
                if let Some(DeValue::Table(limits)) = t.get_mut("limits").map(|v| v.get_mut()) {
                    retain_keys(limits, fields_of::<LimitsToml>());
                }
            }
        }
    }
    value
}

/// "declared platform plugins: a, b" or a hint to declare one.
pub(super) fn candidates(known: &Known, kind: PluginKind) -> String {
    let names: Vec<&str> =
        known.kinds.iter().filter(|(_, k)| **k == Some(kind)).map(|(name, _)| name.as_str()).collect();
    if names.is_empty() {
        format!("no {kind} plugin is declared yet")
    } else {
        format!("declared {kind} plugins: {}", join(names))
    }
}
