//! One `[plugins.NAME]` entry: kind, source, pin, capabilities, limits.

use std::collections::BTreeSet;

use serde_spanned::Spanned;

use super::keys::table_path;
use super::{Checker, Key, Known, Value};
use crate::capability::{Capability, PluginKind, join};
use crate::digest::Digest;
use crate::model::{PluginDecl, Source};
use crate::names::{PluginName, validate_name};
use crate::schema::{LimitsToml, PluginToml};
use crate::units::{Limits, parse_memory, parse_time};

impl Checker<'_> {
    pub(super) fn plugin(&mut self, key: &Key<'_>, value: &Value<'_>, known: &mut Known) {
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
        let credentials = match &allow_hosts {
            Some(hosts) => self.credentials(raw.credentials.as_deref().unwrap_or(&[]), hosts, &here),
            None => None,
        };
        ok &= credentials.is_some();
        let limits = kind.and_then(|k| self.limits(raw.limits.as_ref(), Limits::default_for(k)));
        let config = self.config(raw.config.as_ref());

        if let (true, Some(name), Some(kind), Some(source), Some(capabilities)) = (ok, name, kind, source, capabilities)
            && let (Some(allow_hosts), Some(credentials), Some(limits), Some(config)) =
                (allow_hosts, credentials, limits, config)
        {
            let decl = PluginDecl {
                name: name.clone(),
                kind,
                source,
                sha256,
                capabilities,
                allow_hosts,
                credentials,
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
    pub(super) fn capabilities(
        &mut self,
        list: &[Spanned<String>],
        kind: Option<PluginKind>,
    ) -> Option<BTreeSet<Capability>> {
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
                                "capability `{cap}` cannot be granted to a {kind} plugin: the `{}` world imports only {}; remove it",
                                kind.world(),
                                kind.importable()
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
    pub(super) fn memory(&mut self, raw: &LimitsToml) -> Option<Option<u64>> {
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

    pub(super) fn time(&mut self, raw: &LimitsToml) -> Option<Option<std::time::Duration>> {
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
}
