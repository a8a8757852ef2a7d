//! Readiness from Hoist's own probes laid over a platform's instance list:
//! a running process is not a ready one. Each instance with an address is
//! probed as its revision's spec says; it counts as ready once its probe's
//! success threshold is met, and as unready after its failure threshold.
//! Every change of readiness is reported through [`InstanceChanges`], so
//! the driver steps the rollouts waiting for it at once instead of at their
//! next poll.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::changes::InstanceChanges;

use hoist_probe::{ProbeSpec, Prober};

use crate::engine::ports::{BoxFuture, Platform, PlatformFault, RevisionSpec};
use crate::runtime::bindings::base::hoist::plugin::types::{Instance, InstanceState};

pub struct ProbedPlatform<P: Platform> {
    inner: P,
    prober: Mutex<Prober>,
    /// Probe spec per (service, environment, revision).
    specs: Mutex<BTreeMap<(String, String, String), ProbeSpec>>,
    changes: Arc<InstanceChanges>,
}

/// `target` is a prober id, `service/environment/instance`.
fn mark(changes: &InstanceChanges, target: &str) {
    let mut parts = target.splitn(3, '/');
    if let (Some(service), Some(environment)) = (parts.next(), parts.next()) {
        changes.mark(service, environment);
    }
}

impl<P: Platform> ProbedPlatform<P> {
    /// Must be created inside a tokio runtime (probes run on it).
    /// Readiness changes are reported to `changes`.
    pub fn new(inner: P, runtime: tokio::runtime::Handle, changes: Arc<InstanceChanges>) -> Self {
        let mut prober = Prober::new(runtime);
        let sink = changes.clone();
        prober.on_change(Arc::new(move |target: &str| mark(&sink, target)));
        Self { inner, prober: Mutex::new(prober), specs: Mutex::new(BTreeMap::new()), changes }
    }

    /// Where readiness changes are reported.
    pub fn changes(&self) -> Arc<InstanceChanges> {
        self.changes.clone()
    }

    /// Declares how a revision's instances are probed (also after a restart,
    /// before the first `ensure`).
    pub fn declare(&self, service: &str, environment: &str, revision: &str, spec: ProbeSpec) {
        self.specs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((service.into(), environment.into(), revision.into()), spec);
    }

    fn overlay(&self, service: &str, environment: &str, mut instances: Vec<Instance>) -> Vec<Instance> {
        let specs = self.specs.lock().unwrap_or_else(|p| p.into_inner());
        let mut prober = self.prober.lock().unwrap_or_else(|p| p.into_inner());
        let mut live = BTreeSet::new();
        for i in &mut instances {
            let key = (service.to_string(), environment.to_string(), i.revision.clone());
            let (Some(spec), Some(addr)) = (specs.get(&key), i.address.as_deref().and_then(|a| a.parse().ok())) else {
                continue;
            };
            if !matches!(i.state, InstanceState::Ready | InstanceState::Starting | InstanceState::Unready) {
                continue;
            }
            let id = format!("{service}/{environment}/{}", i.id);
            live.insert(id.clone());
            if prober.state(&id).is_none()
                && let Err(err) = prober.add(id.clone(), spec.clone(), addr)
            {
                tracing::warn!(instance = %i.id, "cannot probe: {err}");
                continue;
            }
            let health = prober.state(&id);
            let ready_for = prober.ready_for(&id);
            (i.state, i.ready_for_ms) = match health {
                Some(h) if h.ready => (InstanceState::Ready, ready_for.map(|d| d.as_millis() as u64)),
                Some(h) if h.failed.is_some() => (InstanceState::Unready, None),
                _ => (InstanceState::Starting, None),
            };
        }
        let prefix = format!("{service}/{environment}/");
        for id in prober.ids() {
            if id.starts_with(&prefix) && !live.contains(&id) {
                prober.remove(&id);
            }
        }
        instances
    }
}

impl<P: Platform> Platform for ProbedPlatform<P> {
    fn ensure<'a>(&'a self, spec: &'a RevisionSpec, replicas: u32) -> BoxFuture<'a, Result<(), PlatformFault>> {
        if let Some(probe) = &spec.probe {
            self.declare(&spec.service, &spec.environment, &spec.revision, probe.clone());
        }
        Box::pin(async move {
            self.inner.ensure(spec, replicas).await?;
            // Probe new instances from now, not from the next observation,
            // so their readiness is known as soon as it comes.
            if spec.probe.is_some()
                && let Ok(instances) = self.inner.instances(&spec.service, &spec.environment).await
            {
                self.overlay(&spec.service, &spec.environment, instances);
            }
            Ok(())
        })
    }

    fn instances<'a>(&'a self, service: &'a str, environment: &'a str) -> BoxFuture<'a, Result<Vec<Instance>, String>> {
        Box::pin(async move {
            let instances = self.inner.instances(service, environment).await?;
            Ok(self.overlay(service, environment, instances))
        })
    }

    fn remove<'a>(
        &'a self,
        service: &'a str,
        environment: &'a str,
        revision: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.inner.remove(service, environment, revision)
    }
}
