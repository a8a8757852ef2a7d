//! A Compose import as a stack definition: ports to the service's port and
//! front door, healthchecks to in-container checks and probes, jobs,
//! volumes, networks, configs and runtime settings, with notes on each
//! translation the reader should know of.

use crate::compose::{Imported, ImportedService};
use crate::definition::{StackDef, StackService};
use crate::healthcheck;

/// A Compose import as a stack. The first port becomes the service's port
/// and its published side the router's front door on 127.0.0.1; a
/// healthcheck becomes a probe of that port with the same timings: HTTP when
/// it is an HTTP GET of the port, else TCP (see [`healthcheck`]).
pub fn from_compose(imported: &Imported, name: &str) -> (StackDef, Vec<String>) {
    let mut notes = Vec::new();
    let services = imported.services.iter().map(|s| (s.name.clone(), service_from_compose(s, &mut notes))).collect();
    (StackDef { version: 1, name: name.to_string(), services, networks: imported.networks.clone() }, notes)
}

fn service_from_compose(s: &ImportedService, notes: &mut Vec<String>) -> StackService {
    let first = s.ports.first();
    let port = first.map(|(_, container)| *container);
    let router = first.and_then(|(published, _)| published.map(|p| format!("127.0.0.1:{p}"))).filter(|_| !s.job);
    if s.ports.len() > 1 {
        notes.push(format!(
            "service `{}`: only the first port ({}) is routed; Hoist gives a service one front door",
            s.name,
            port.unwrap_or(0)
        ));
    }
    if s.image.is_none() && s.build.is_some() {
        notes.push(format!(
            "service `{}`: built from `{}`; build and tag the image, then set `image`",
            s.name,
            s.build.as_deref().unwrap_or(".")
        ));
    }
    if s.job {
        notes.push(format!(
            "service `{}`: `restart: \"no\"`: a job, run once per stack rollout; `service_completed_successfully` waits for its exit 0",
            s.name
        ));
        if s.healthcheck.is_some() {
            notes.push(format!("service `{}`: healthcheck not used: a job is judged by its exit code", s.name));
        }
    }
    // A healthcheck runs where Compose runs it: inside the container, as
    // its own health check. One that is an HTTP GET of the service's port
    // is also Hoist's probe (the same test, seen from outside).
    let probe = s.healthcheck.as_ref().filter(|_| !s.job).and_then(|h| {
        let shown = h.test.join(" ");
        let inside = format!(
            "service `{}`: healthcheck `{shown}` runs inside the container as its own health check (on the local-process platform, which has none, the service is ready once it runs)",
            s.name
        );
        let Some(port) = port else {
            notes.push(inside);
            return None;
        };
        let (probe, note) = healthcheck::translate(&s.name, h, port);
        if matches!(probe.kind, hoist_probe::ProbeKind::Http { .. }) {
            notes.push(note);
            Some(probe)
        } else {
            notes.push(inside);
            None
        }
    });
    let mut runtime = s.runtime.clone();
    if s.job {
        runtime.healthcheck = None;
    }
    if runtime.healthcheck.as_ref().is_some_and(|h| h.disable) {
        notes.push(format!("service `{}`: healthcheck disabled, the image's own too", s.name));
    }
    StackService {
        image: s.image.clone(),
        command: s.command.clone(),
        env: s.env.iter().cloned().collect(),
        port,
        router,
        probe,
        depends_on: s.depends_on.clone(),
        volumes: s.volumes.clone(),
        job: s.job,
        runtime,
        secrets: s.secrets.clone(),
        replicas: s.replicas.unwrap_or(1),
        strategy: s.strategy.clone(),
        strategy_config: s.strategy_config.clone(),
        restart: s.restart,
        networks: s.networks.clone(),
        profiles: s.profiles.clone(),
        configs: s.configs.clone(),
        ..StackService::default()
    }
}
