//! A plugin's check of its own config (`hoist:plugin/config`, optional):
//! bound at load when the component exports it, called by `hoist registry
//! check` and whenever the catalog loads the plugin for an environment.

use std::time::Instant;

use wasmtime::component::InstancePre;

use super::bindings::{configurable, configurable_async};
use super::call::Called;
use super::error::{CallError, CallFault, LoadError};
use super::host_state::HostState;
use super::kinds::PluginKind;
use super::plugin::{Callee, Plugin};
use super::surface::Surface;
use super::validate;

/// Problems kept per check, and bytes kept per message: enough to fix a
/// config, bounded against a plugin that answers with megabytes.
const MAX_PROBLEMS: usize = 64;
const MAX_MESSAGE: usize = 1024;

/// One problem a plugin found in its config.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConfigProblem {
    /// Keys from the top of the document; empty for the whole document.
    pub path: Vec<String>,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.path.join("."), self.message)
        }
    }
}

pub(crate) enum ConfigPre {
    Sync(configurable::ConfigurablePre<HostState>),
    Async(configurable_async::ConfigurablePre<HostState>),
}

/// The component's `validate-config`, when it exports one. Exporting the
/// interface with other types is a load error, like any other mismatch.
pub(crate) fn bind(
    name: &str,
    kind: PluginKind,
    surface: &Surface,
    pre: &InstancePre<HostState>,
) -> Result<Option<ConfigPre>, LoadError> {
    let exported = surface.exports.iter().find(|e| e.is_hoist() && e.interface == "config");
    let Some(export) = exported else { return Ok(None) };
    let bound = match kind {
        PluginKind::Platform | PluginKind::MetricsProvider => {
            configurable_async::ConfigurablePre::new(pre.clone()).map(ConfigPre::Async)
        }
        _ => configurable::ConfigurablePre::new(pre.clone()).map(ConfigPre::Sync),
    };
    bound.map(Some).map_err(|err| LoadError::TypeMismatch {
        plugin: name.to_string(),
        item: format!("`{export}` function `validate-config`"),
        reason: format!("{err:#}"),
    })
}

impl Plugin {
    /// Whether the plugin checks its own config.
    pub fn checks_config(&self) -> bool {
        self.callee.config.is_some()
    }

    /// The plugin's verdict on `config` (the JSON document it would be
    /// given); empty when it accepts it or does not check.
    pub fn validate_config(&self, config: &str) -> Result<Vec<ConfigProblem>, CallFault> {
        if self.callee.config.is_none() {
            return Ok(Vec::new());
        }
        validate::config(self, config)?;
        let (callee, owned) = (self.callee.clone(), config.to_string());
        let called = if tokio::runtime::Handle::try_current().is_err() {
            callee.validate_config(&owned)
        } else {
            self.callee.pool.run_blocking(move || callee.validate_config(&owned)).map_err(|e| {
                CallFault::from(CallError::Host { plugin: self.name.to_string(), reason: e.to_string() })
            })?
        }?;
        Ok(called.value)
    }
}

impl Callee {
    fn validate_config(&self, config: &str) -> Result<Called<Vec<ConfigProblem>>, CallFault> {
        let called = match &self.config {
            None => return Ok(Called { value: Vec::new(), output: Default::default(), elapsed: Default::default() }),
            Some(ConfigPre::Sync(pre)) => self.call_sync(0, |store| {
                let bindings = pre.instantiate(&mut *store)?;
                bindings.hoist_plugin_config().call_validate_config(&mut *store, config)
            })?,
            Some(ConfigPre::Async(pre)) => {
                // A platform's store is async; this thread is not a tokio
                // worker (see `Plugin::validate_config`), so it may own a
                // small runtime for the one call.
                let started = Instant::now();
                let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().map_err(|e| {
                    CallFault::from(CallError::Host { plugin: self.name.to_string(), reason: e.to_string() })
                })?;
                let mut called = runtime.block_on(self.call_async(0, async |store| {
                    let bindings = pre.instantiate_async(&mut *store).await?;
                    bindings.hoist_plugin_config().call_validate_config(&mut *store, config).await
                }))?;
                called.elapsed = started.elapsed();
                return Ok(Called {
                    value: bounded(convert_async(called.value)),
                    output: called.output,
                    elapsed: called.elapsed,
                });
            }
        };
        Ok(Called { value: bounded(convert_sync(called.value)), output: called.output, elapsed: called.elapsed })
    }
}

fn convert_sync(found: Vec<configurable::exports::hoist::plugin::config::ConfigProblem>) -> Vec<ConfigProblem> {
    found.into_iter().map(|p| ConfigProblem { path: p.path, message: p.message }).collect()
}

fn convert_async(found: Vec<configurable_async::exports::hoist::plugin::config::ConfigProblem>) -> Vec<ConfigProblem> {
    found.into_iter().map(|p| ConfigProblem { path: p.path, message: p.message }).collect()
}

fn bounded(mut found: Vec<ConfigProblem>) -> Vec<ConfigProblem> {
    found.truncate(MAX_PROBLEMS);
    for problem in &mut found {
        if problem.message.len() > MAX_MESSAGE {
            let mut end = MAX_MESSAGE;
            while !problem.message.is_char_boundary(end) {
                end -= 1;
            }
            problem.message.truncate(end);
            problem.message.push('…');
        }
        problem.path.truncate(32);
        for key in &mut problem.path {
            key.truncate(key.char_indices().nth(128).map_or(key.len(), |(i, _)| i));
        }
    }
    found
}
