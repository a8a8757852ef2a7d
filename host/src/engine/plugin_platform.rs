//! The platform port backed by each environment's platform plugin (e.g.
//! `builtin:local-process`): the engine's "revision R has N instances"
//! becomes the plugin's `ensure`, through the capabilities it was granted.

use std::collections::BTreeMap;

use super::Configured;
use super::ports::{BoxFuture, Clock, Platform, RevisionSpec};
use crate::runtime::bindings::base::hoist::plugin::types::Instance;
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

fn describe(e: &wit::PlatformError) -> String {
    match e {
        wit::PlatformError::Unavailable(s) => format!("platform unavailable: {s}"),
        wit::PlatformError::InvalidSpec(s) => format!("invalid spec: {s}"),
        wit::PlatformError::Capability(s) => format!("capability failed: {s}"),
        wit::PlatformError::Plugin(p) => format!("plugin error: {p:?}"),
        wit::PlatformError::Other(s) => s.clone(),
    }
}

impl<C: Clock> Platform for PluginPlatform<C> {
    fn ensure<'a>(&'a self, spec: &'a RevisionSpec, replicas: u32) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let p = self.plugin(&spec.environment)?;
            let wit_spec = wit::RevisionSpec {
                service: spec.service.clone(),
                environment: spec.environment.clone(),
                revision: spec.revision.clone(),
                image: spec.image.clone(),
                command: spec.command.clone(),
                env: spec.env.clone(),
                port: spec.port,
                config: p.config.clone(),
                extensions: vec![("hoist.version".into(), spec.version.clone())],
            };
            let called = p.plugin.ensure(&wit_spec, replicas, self.clock.now_ms()).await.map_err(|e| e.to_string())?;
            called.value.map(|_| ()).map_err(|e| describe(&e))
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
            called.value.map_err(|e| describe(&e))
        })
    }

    fn remove<'a>(&'a self, service: &'a str, environment: &'a str, revision: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let p = self.plugin(environment)?;
            let called = p
                .plugin
                .remove(service, environment, revision, &p.config, self.clock.now_ms())
                .await
                .map_err(|e| e.to_string())?;
            called.value.map_err(|e| describe(&e))
        })
    }
}
