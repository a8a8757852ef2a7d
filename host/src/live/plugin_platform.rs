//! The platform port backed by each environment's platform plugin (e.g.
//! `builtin:local-process`): the engine's "revision R has N instances"
//! becomes the plugin's `ensure`, through the capabilities it was granted.

use std::collections::BTreeMap;

use crate::engine::Configured;
use crate::engine::ports::{BoxFuture, Clock, Platform, PlatformFault, RevisionSpec};
use crate::runtime::bindings::base::hoist::plugin::types::{Instance, PluginError};
use crate::runtime::bindings::platform::exports::hoist::plugin::platform as wit;

pub struct PluginPlatform<C: Clock> {
    /// The platform plugin of each environment.
    pub plugins: BTreeMap<String, Configured>,
    pub clock: C,
}

impl<C: Clock> PluginPlatform<C> {
    fn plugin(&self, environment: &str) -> Result<&Configured, String> {
        self.plugins
            .get(environment)
            .ok_or_else(|| format!("environment `{environment}` has no platform plugin loaded"))
    }
}

/// The error as operators read it, naming the platform plugin.
fn describe(plugin: &str, e: &wit::PlatformError) -> String {
    match e {
        wit::PlatformError::Unavailable(s) => format!("platform `{plugin}` is unavailable: {s}"),
        wit::PlatformError::InvalidSpec(s) => format!("platform `{plugin}` refused the spec: {s}"),
        wit::PlatformError::Capability(s) => format!("platform `{plugin}`: a capability call failed: {s}"),
        wit::PlatformError::Plugin(p) => format!("platform `{plugin}` failed: {p:?}"),
        wit::PlatformError::Other(s) => format!("platform `{plugin}`: {s}"),
    }
}

/// What the engine does about a platform error: the plugin's typed case
/// decides, never its wording.
fn fault(plugin: &str, e: &wit::PlatformError) -> PlatformFault {
    let message = describe(plugin, e);
    match e {
        wit::PlatformError::InvalidSpec(_) | wit::PlatformError::Plugin(PluginError::InvalidConfig(_)) => {
            PlatformFault::Permanent(message)
        }
        wit::PlatformError::Unavailable(_) => PlatformFault::Unreachable(message),
        _ => PlatformFault::Failed(message),
    }
}

impl<C: Clock> Platform for PluginPlatform<C> {
    fn ensure<'a>(&'a self, spec: &'a RevisionSpec, replicas: u32) -> BoxFuture<'a, Result<(), PlatformFault>> {
        Box::pin(async move {
            let p = self.plugin(&spec.environment).map_err(PlatformFault::Permanent)?;
            let wit_spec = wit::RevisionSpec {
                service: spec.service.clone(),
                environment: spec.environment.clone(),
                revision: spec.revision.clone(),
                image: spec.image.clone(),
                command: spec.command.clone(),
                env: spec.env.clone(),
                port: spec.port,
                config: p.config.clone(),
                extensions: std::iter::once(("hoist.version".to_string(), spec.version.clone()))
                    .chain(spec.stack.iter().map(|s| ("hoist.stack".to_string(), s.clone())))
                    .chain(spec.volumes.iter().map(|v| ("hoist.volume".to_string(), v.clone())))
                    .chain(spec.extensions.iter().cloned())
                    .collect(),
            };
            // A trap or timeout of the call is the plugin's fault, not the spec's.
            let called = p
                .plugin
                .ensure(&wit_spec, replicas, self.clock.now_ms())
                .await
                .map_err(|e| PlatformFault::Failed(e.to_string()))?;
            called.value.map(|_| ()).map_err(|e| fault(&p.plugin.name, &e))
        })
    }

    fn instances<'a>(&'a self, service: &'a str, environment: &'a str) -> BoxFuture<'a, Result<Vec<Instance>, String>> {
        Box::pin(async move {
            let p = self.plugin(environment)?;
            let called = p
                .plugin
                .instances(service, environment, &p.config, self.clock.now_ms())
                .await
                .map_err(|e| e.to_string())?;
            called.value.map_err(|e| describe(&p.plugin.name, &e))
        })
    }

    fn remove<'a>(
        &'a self,
        service: &'a str,
        environment: &'a str,
        revision: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let p = self.plugin(environment)?;
            let called = p
                .plugin
                .remove(service, environment, revision, &p.config, self.clock.now_ms())
                .await
                .map_err(|e| e.to_string())?;
            called.value.map_err(|e| describe(&p.plugin.name, &e))
        })
    }
}
