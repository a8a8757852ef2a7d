//! Text → [`Registry`]: syntax, version probe, keys, types, then meaning.
//!
//! Every check that can run independently does, so a user sees all problems
//! at once; only a TOML syntax error or a bad `version` stops early.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_spanned::Spanned;
use toml::de::{DeString, DeTable, DeValue, ValueDeserializer};

use crate::capability::{Capability, PluginKind, join};
use crate::diagnostic::{Diagnostic, SourceMap};
use crate::digest::Digest;
use crate::error::RegistryError;
use crate::model::{Environment, JsonObject, PluginDecl, PluginOverride, Registry, Source};
use crate::names::{EnvName, PluginName, validate_name};
use crate::schema::{EnvironmentToml, LimitsToml, OverrideToml, PluginToml, TOP_LEVEL_KEYS, fields_of};
use crate::units::{Limits, parse_memory, parse_time};

/// The only registry version this crate reads.
pub const VERSION: i64 = 1;

type Key<'i> = Spanned<DeString<'i>>;
type Value<'i> = Spanned<DeValue<'i>>;

pub(crate) fn parse(text: &str, origin: &Path) -> Result<Registry, RegistryError> {
    let mut cx = Checker {
        map: SourceMap::new(origin, text),
        diagnostics: Vec::new(),
        dir: origin.parent().map(Path::to_path_buf).unwrap_or_default(),
        file_name: origin
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| origin.display().to_string()),
    };
    let registry = cx.registry(text, origin);
    let mut diagnostics = cx.diagnostics;
    match registry {
        Some(registry) if diagnostics.is_empty() => Ok(registry),
        _ => {
            diagnostics.sort_by_key(|d| (d.location.line, d.location.column));
            Err(RegistryError::Invalid { path: origin.to_path_buf(), diagnostics })
        }
    }
}

struct Checker<'a> {
    map: SourceMap<'a>,
    diagnostics: Vec<Diagnostic>,
    /// Directory relative plugin paths are resolved against.
    dir: PathBuf,
    file_name: String,
}

/// What is known about every `[plugins.NAME]` key, even invalid ones, so a
/// broken plugin does not also cause "unknown plugin" errors elsewhere.
#[derive(Default)]
struct Known {
    /// Every declared plugin name → its kind, if the kind is valid.
    kinds: BTreeMap<String, Option<PluginKind>>,
    /// Fully valid declarations.
    decls: BTreeMap<PluginName, PluginDecl>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let diagnostic = self.map.diagnostic(span, message);
        self.diagnostics.push(diagnostic);
    }

    fn registry(&mut self, text: &str, origin: &Path) -> Option<Registry> {
        let root = match DeTable::parse(text) {
            Ok(root) => root,
            Err(err) => {
                let span = err.span().unwrap_or(0..0);
                let message = format!("TOML syntax error: {}", err.message().trim_end());
                self.error(span, message);
                return None;
            }
        };
        let root_span = root.span();
        let root = root.into_inner();
        self.version(&root, root_span)?;

        for (key, _) in root.iter() {
            self.check_key(key, TOP_LEVEL_KEYS, "at the top level", "");
        }

        let mut known = Known::default();
        if let Some(plugins) = self.table_of(&root, "plugins", "[plugins.NAME] tables") {
            for (key, value) in plugins.iter() {
                self.plugin(key, value, &mut known);
            }
        }
        let mut environments = BTreeMap::new();
        if let Some(envs) = self.table_of(&root, "environments", "[environments.NAME] tables") {
            for (key, value) in envs.iter() {
                if let Some(env) = self.environment(key, value, &known) {
                    environments.insert(env.name.clone(), env);
                }
            }
        }
        Some(Registry { path: origin.to_path_buf(), plugins: known.decls, environments })
    }

    /// The version probe: `version = 1` must be present before anything else
    /// is read, since the schema depends on it.
    fn version(&mut self, root: &DeTable<'_>, root_span: Range<usize>) -> Option<()> {
        let Some(value) = root.get("version") else {
            let start = root_span.start;
            self.error(
                start..start,
                format!("{} has no `version`; add `version = 1` as its first line", self.file_name),
            );
            return None;
        };
        let number = value.get_ref().as_integer().and_then(|n| {
            let digits = n.as_str().replace('_', "");
            i64::from_str_radix(&digits, n.radix()).ok()
        });
        match number {
            Some(VERSION) => Some(()),
            Some(n) => {
                self.error(
                    value.span(),
                    format!("unsupported registry version {n}; this hoist reads version {VERSION}"),
                );
                None
            }
            None => {
                self.error(
                    value.span(),
                    format!(
                        "`version` must be the integer {VERSION}, found a {}; write `version = {VERSION}`",
                        value.get_ref().type_str()
                    ),
                );
                None
            }
        }
    }

    /// `root[key]` as a table of named tables, or an error if it is not one.
    fn table_of<'t, 'i>(&mut self, root: &'t DeTable<'i>, key: &str, what: &str) -> Option<&'t DeTable<'i>> {
        let value = root.get(key)?;
        match value.get_ref().as_table() {
            Some(table) => Some(table),
            None => {
                self.error(
                    value.span(),
                    format!("`{key}` must be a table of {what}, found a {}", value.get_ref().type_str()),
                );
                None
            }
        }
    }

    /// Reports `key` if it is not one of `allowed`; returns whether it is.
    /// `note` is appended to the message when non-empty.
    fn check_key(&mut self, key: &Key<'_>, allowed: &[&str], place: &str, note: &str) -> bool {
        let name: &str = key.get_ref();
        if allowed.contains(&name) {
            return true;
        }
        let (hint, note) = match suggest(name, allowed) {
            Some(s) => (format!("; did you mean `{s}`?"), ""),
            None => (String::new(), note),
        };
        self.error(key.span(), format!("unknown key `{name}` {place}; expected one of: {}{hint}{note}", join(allowed)));
        false
    }

    /// Reports and removes the unknown keys of `table` (and of its `limits`
    /// subtable), so serde can still check the types of the rest.
    fn strip_unknown_keys(&mut self, table: &mut DeTable<'_>, allowed: &[&str], path: &[&str]) {
        let place = format!("in {}", table_path(path));
        let mut note = String::new();
        if allowed.contains(&"config") {
            let mut config = path.to_vec();
            config.push("config");
            note = format!("; settings for the plugin itself go under {}", table_path(&config));
        }
        let unknown: Vec<String> = table
            .iter()
            .filter(|(key, _)| !self.check_key(key, allowed, &place, &note))
            .map(|(key, _)| key.get_ref().to_string())
            .collect();
        for key in unknown {
            table.remove(key.as_str());
        }
        if let Some(DeValue::Table(limits)) = table.get_mut("limits").map(|v| v.get_mut()) {
            let mut path = path.to_vec();
            path.push("limits");
            self.strip_unknown_keys(limits, fields_of::<LimitsToml>(), &path);
        }
    }

    /// Deserializes one named table (a plugin, an environment, an override)
    /// after checking its keys; a type error becomes one diagnostic.
    fn typed<'de, T: Deserialize<'de>>(&mut self, value: &Value<'de>, path: &[&str]) -> Option<T> {
        let mut value = value.clone();
        let DeValue::Table(table) = value.get_mut() else {
            self.error(
                value.span(),
                format!("{} must be a table, found a {}", table_path(path), value.get_ref().type_str()),
            );
            return None;
        };
        self.strip_unknown_keys(table, fields_of::<T>(), path);
        let whole = value.span();
        let located = value.clone();
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(typed) => Some(typed),
            Err(err) => {
                let span = err.span().unwrap_or(whole);
                let mut keys = path.iter().map(|s| s.to_string()).collect::<Vec<_>>();
                let mut inner = key_path_at(&located, span.start);
                let field = inner.pop();
                keys.extend(inner);
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                let message = match field {
                    Some(field) => {
                        format!("`{field}` in {}: {}", table_path(&keys), err.message().trim_end())
                    }
                    None => format!("{}: {}", table_path(&keys), err.message().trim_end()),
                };
                self.error(span, message);
                None
            }
        }
    }

    fn plugin(&mut self, key: &Key<'_>, value: &Value<'_>, known: &mut Known) {
        let raw_name: &str = key.get_ref();
        known.kinds.insert(raw_name.to_owned(), None);
        let name = match PluginName::new(raw_name) {
            Ok(name) => Some(name),
            Err(err) => {
                self.error(key.span(), format!("invalid plugin name `{raw_name}`: {}", err.reason));
                None
            }
        };
        let path = ["plugins", raw_name];
        let Some(raw) = self.typed::<PluginToml>(value, &path) else {
            return;
        };
        let here = table_path(&path);

        let kind = match &raw.kind {
            None => {
                self.error(
                    key.span(),
                    format!(
                        "{here} has no `kind`; add `kind = \"...\"` with one of: {}",
                        join(PluginKind::ALL.map(PluginKind::as_str))
                    ),
                );
                None
            }
            Some(kind) => match kind.get_ref().parse::<PluginKind>() {
                Ok(kind) => Some(kind),
                Err(message) => {
                    self.error(kind.span(), message);
                    None
                }
            },
        };
        known.kinds.insert(raw_name.to_owned(), kind);

        let source = self.source(&raw, &here, raw_name, key);
        let sha256 = raw.sha256.as_ref().and_then(|s| match s.get_ref().parse::<Digest>() {
            Ok(digest) => Some(digest),
            Err(err) => {
                self.error(s.span(), err.to_string());
                None
            }
        });
        let capabilities = self.capabilities(raw.capabilities.as_deref().unwrap_or(&[]), kind);
        let allow_hosts = self.allow_hosts(raw.allow_hosts.as_ref());
        let mut ok = name.is_some() && source.is_some() && capabilities.is_some();
        ok &= raw.sha256.is_none() || sha256.is_some();
        if let (Some(caps), Some(hosts)) = (&capabilities, &allow_hosts) {
            ok &= self.check_http(caps, hosts, raw.allow_hosts.as_ref(), &raw.capabilities, &here);
        }
        let limits = kind.and_then(|k| self.limits(raw.limits.as_ref(), Limits::default_for(k)));
        let config = self.config(raw.config.as_ref());

        if let (true, Some(name), Some(kind), Some(source), Some(capabilities)) = (ok, name, kind, source, capabilities)
            && let (Some(allow_hosts), Some(limits), Some(config)) = (allow_hosts, limits, config)
        {
            let decl = PluginDecl {
                name: name.clone(),
                kind,
                source,
                sha256,
                capabilities,
                allow_hosts,
                limits,
                config,
                location: self.map.location(key.span().start),
                sha256_location: raw.sha256.as_ref().map(|s| self.map.location(s.span().start)),
            };
            known.decls.insert(name, decl);
        }
    }

    fn source(&mut self, raw: &PluginToml, here: &str, name: &str, key: &Key<'_>) -> Option<Source> {
        let Some(source) = &raw.source else {
            self.error(
                key.span(),
                format!("{here} has no `source`; add `source = \"builtin:NAME\"` or the path of a .wasm component"),
            );
            return None;
        };
        let text = source.get_ref().as_str();
        if let Some(builtin) = text.strip_prefix("builtin:") {
            return match validate_name(builtin) {
                Ok(()) => Some(Source::Builtin(builtin.to_owned())),
                Err(err) => {
                    self.error(source.span(), format!("invalid builtin `{builtin}`: {}", err.reason));
                    None
                }
            };
        }
        if text.is_empty() {
            self.error(source.span(), "`source` is empty; write `builtin:NAME` or the path of a .wasm component");
            return None;
        }
        if text.contains("://") {
            self.error(
                source.span(),
                format!(
                    "remote source {text:?} is not supported; download the component and give its path and `sha256`"
                ),
            );
            return None;
        }
        if raw.sha256.is_none() {
            self.error(
                source.span(),
                format!(
                    "plugin `{name}` is loaded from a path but has no `sha256`; pin it by adding `sha256 = \"...\"` to {here} (the output of `sha256sum {text}`)"
                ),
            );
            return None;
        }
        Some(Source::Path(self.dir.join(text)))
    }

    /// Parses a `capabilities` list; the result always includes log and clock.
    fn capabilities(&mut self, list: &[Spanned<String>], kind: Option<PluginKind>) -> Option<BTreeSet<Capability>> {
        let mut set: BTreeSet<Capability> = Capability::ALL.into_iter().filter(|c| c.is_ambient()).collect();
        let mut listed = BTreeSet::new();
        let mut ok = true;
        for item in list {
            match item.get_ref().parse::<Capability>() {
                Ok(cap) if !listed.insert(cap) => {
                    self.error(item.span(), format!("capability `{cap}` is listed twice; remove one"));
                    ok = false;
                }
                Ok(cap) => match kind {
                    Some(kind) if !kind.can_import(cap) => {
                        self.error(
                            item.span(),
                            format!(
                                "capability `{cap}` cannot be granted to a {kind} plugin: the `{}` world imports only log and clock; remove it",
                                kind.world()
                            ),
                        );
                        ok = false;
                    }
                    _ => {
                        set.insert(cap);
                    }
                },
                Err(message) => {
                    self.error(item.span(), message);
                    ok = false;
                }
            }
        }
        ok.then_some(set)
    }

    fn allow_hosts(&mut self, hosts: Option<&Spanned<Vec<Spanned<String>>>>) -> Option<Vec<String>> {
        let Some(hosts) = hosts else {
            return Some(Vec::new());
        };
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for host in hosts.get_ref() {
            if let Err(message) = validate_host(host.get_ref()) {
                self.error(host.span(), message);
                ok = false;
            } else if !seen.insert(host.get_ref().as_str()) {
                self.error(host.span(), format!("host {:?} is listed twice; remove one", host.get_ref()));
                ok = false;
            }
        }
        ok.then(|| hosts.get_ref().iter().map(|h| h.get_ref().clone()).collect())
    }

    /// `allow-hosts` only with `http`, and `http` only with some hosts.
    fn check_http(
        &mut self,
        caps: &BTreeSet<Capability>,
        hosts: &[String],
        hosts_span: Option<&Spanned<Vec<Spanned<String>>>>,
        caps_list: &Option<Vec<Spanned<String>>>,
        here: &str,
    ) -> bool {
        let http = caps.contains(&Capability::Http);
        if let (false, Some(span)) = (http, hosts_span) {
            self.error(
                span.span(),
                format!(
                    "`allow-hosts` is set but `http` is not granted; add \"http\" to `capabilities` in {here}, or remove `allow-hosts`"
                ),
            );
            return false;
        }
        if http && hosts.is_empty() {
            let span = caps_list
                .iter()
                .flatten()
                .find(|c| c.get_ref() == "http")
                .map(|c| c.span())
                .or(hosts_span.map(|h| h.span()))
                .unwrap_or(0..0);
            self.error(
                span,
                format!(
                    "`http` is granted but `allow-hosts` is empty, so no request could succeed; list the hosts in {here}, e.g. `allow-hosts = [\"prometheus.internal:9090\"]`"
                ),
            );
            return false;
        }
        true
    }

    fn limits(&mut self, raw: Option<&LimitsToml>, mut limits: Limits) -> Option<Limits> {
        let Some(raw) = raw else {
            return Some(limits);
        };
        let memory = self.memory(raw);
        let time = self.time(raw);
        limits.memory_bytes = memory?.unwrap_or(limits.memory_bytes);
        limits.time = time?.unwrap_or(limits.time);
        Some(limits)
    }

    /// `Some(None)` when unset, `None` after reporting an error.
    fn memory(&mut self, raw: &LimitsToml) -> Option<Option<u64>> {
        match &raw.memory {
            None => Some(None),
            Some(text) => match parse_memory(text.get_ref()) {
                Ok(bytes) => Some(Some(bytes)),
                Err(message) => {
                    self.error(text.span(), message);
                    None
                }
            },
        }
    }

    fn time(&mut self, raw: &LimitsToml) -> Option<Option<std::time::Duration>> {
        match &raw.time {
            None => Some(None),
            Some(text) => match parse_time(text.get_ref()) {
                Ok(time) => Some(Some(time)),
                Err(message) => {
                    self.error(text.span(), message);
                    None
                }
            },
        }
    }

    fn config(&mut self, raw: Option<&Spanned<toml::Table>>) -> Option<JsonObject> {
        let Some(table) = raw else {
            return Some(JsonObject::new());
        };
        match table_to_json(table.get_ref()) {
            Ok(object) => Some(object),
            Err(message) => {
                self.error(table.span(), message);
                None
            }
        }
    }

    fn environment(&mut self, key: &Key<'_>, value: &Value<'_>, known: &Known) -> Option<Environment> {
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
        Some(Environment {
            name,
            platform,
            strategy,
            health_policies,
            admission_policies,
            labels: raw.labels.unwrap_or_default(),
            router_addresses,
            overrides,
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

fn retain_keys(table: &mut DeTable<'_>, allowed: &[&str]) {
    let unknown: Vec<String> =
        table.iter().map(|(k, _)| k.get_ref().to_string()).filter(|k| !allowed.contains(&k.as_str())).collect();
    for key in unknown {
        table.remove(key.as_str());
    }
}

/// "declared platform plugins: a, b" or a hint to declare one.
fn candidates(known: &Known, kind: PluginKind) -> String {
    let names: Vec<&str> =
        known.kinds.iter().filter(|(_, k)| **k == Some(kind)).map(|(name, _)| name.as_str()).collect();
    if names.is_empty() {
        format!("no {kind} plugin is declared yet")
    } else {
        format!("declared {kind} plugins: {}", join(names))
    }
}

/// The chain of keys whose value contains byte `offset`, innermost last.
fn key_path_at(value: &Value<'_>, offset: usize) -> Vec<String> {
    let mut path = Vec::new();
    let mut current = value;
    'descend: while let DeValue::Table(table) = current.get_ref() {
        for (key, child) in table.iter() {
            if key.span().contains(&offset) || child.span().contains(&offset) {
                path.push(key.get_ref().to_string());
                current = child;
                continue 'descend;
            }
        }
        break;
    }
    path
}

/// `[plugins.rolling]`, quoting keys that are not bare TOML keys.
pub(crate) fn table_path(parts: &[&str]) -> String {
    let parts: Vec<String> = parts
        .iter()
        .map(|p| {
            let bare = !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if bare { (*p).to_owned() } else { format!("{p:?}") }
        })
        .collect();
    format!("[{}]", parts.join("."))
}

/// A close match for an unknown key: `max_surge` → `max-surge`, `plugin` →
/// `plugins`, or any allowed key within two edits.
fn suggest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let normal = key.to_ascii_lowercase().replace('_', "-");
    allowed.iter().map(|a| (edit_distance(&normal, a), *a)).filter(|(d, _)| *d <= 2).min().map(|(_, a)| a)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Checks an `allow-hosts` entry: `host`, `host:port` or `*.domain[:port]`.
fn validate_host(entry: &str) -> Result<(), String> {
    let hint = "write a host name such as \"prometheus.internal\", \"api.example.com:443\" or \"*.example.com\"";
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (entry, None),
    };
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(p) if p > 0)
    {
        return Err(format!("invalid port in host {entry:?}; {hint}"));
    }
    if host.contains("://") || host.contains('/') {
        return Err(format!("host {entry:?} must be a host name, not a URL; {hint}"));
    }
    if host.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!("host {entry:?} must be lowercase; write {:?}", entry.to_ascii_lowercase()));
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    let valid_label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if name.is_empty() || !name.split('.').all(valid_label) {
        return Err(format!("invalid host {entry:?}; {hint}"));
    }
    Ok(())
}

/// A TOML table as a JSON object; fails on NaN and infinite floats, which
/// JSON cannot represent.
pub(crate) fn table_to_json(table: &toml::Table) -> Result<JsonObject, String> {
    table.iter().map(|(k, v)| Ok((k.clone(), value_to_json(k, v)?))).collect()
}

fn value_to_json(key: &str, value: &toml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).ok_or_else(|| {
            format!("config value `{key}` = {f} cannot be passed to a plugin as JSON; use a finite number or a string")
        })?,
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.iter().map(|v| value_to_json(key, v)).collect::<Result<_, _>>()?),
        toml::Value::Table(t) => J::Object(table_to_json(t)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in ["prometheus.internal", "api.example.com:443", "*.example.com", "10.0.0.1:9090"] {
            assert!(validate_host(ok).is_ok(), "{ok}");
        }
        for bad in ["", "http://x", "x:0", "x:99999", "-a.com", "a..b", "Api.com", "*.", "a b"] {
            assert!(validate_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn table_paths_quote_odd_keys() {
        assert_eq!(table_path(&["plugins", "rolling"]), "[plugins.rolling]");
        assert_eq!(table_path(&["plugins", "a.b"]), "[plugins.\"a.b\"]");
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("max_surge", &["max-surge"]), Some("max-surge"));
        assert_eq!(suggest("plugin", &["plugins"]), Some("plugins"));
        assert_eq!(suggest("Kind", &["kind"]), Some("kind"));
        assert_eq!(suggest("capabilites", &["kind", "capabilities"]), Some("capabilities"));
        assert_eq!(suggest("zzz", &["kind"]), None);
    }
}
