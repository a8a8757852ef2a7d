//! One Swarm service per revision: create, scale, list, remove.

use hoist_sdk::docker::{self, DockerError, ServiceInfo, ServiceSpec};
use hoist_sdk::platform::{PlatformError, RevisionSpec};
use hoist_sdk::types::Instance;

use crate::config::Config;
use crate::labels::{self, PORT, REVISION};
use crate::tasks;

/// Make the revision's service exist with `replicas` tasks; return its
/// instances. Scaling keeps the spec, so Swarm adds or removes tasks
/// without restarting the others.
pub fn ensure(spec: &RevisionSpec, replicas: u32) -> Result<Vec<Instance>, PlatformError> {
    let config = Config::parse(&spec.config)?;
    let what = format!("service `{}` revision {}", spec.service, spec.revision);
    let Some(image) = spec.image.as_deref().filter(|i| !i.is_empty()) else {
        return Err(PlatformError::InvalidSpec(format!("{what} has no image to run; set `image` in its definition")));
    };
    if !spec.command.is_empty() {
        return Err(PlatformError::InvalidSpec(format!(
            "{what}: builtin:swarm runs the image's own entrypoint and command; remove the command, or bake it into \
             the image"
        )));
    }
    if let Some(key) = unsupported(spec) {
        return Err(PlatformError::InvalidSpec(format!(
            "{what}: `{key}` (from its stack definition) is not supported by builtin:swarm yet: volumes, configs, \
             stack networks and runtime settings are honoured on builtin:docker; remove it, or deploy the \
             stack on an environment whose platform is builtin:docker"
        )));
    }
    docker::ensure_swarm_network(&config.network)
        .map_err(|e| capability(&format!("ensuring network `{}`", config.network), &e))?;
    let desired = service_spec(spec, image, &config, replicas);
    let service = match find(&spec.service, &spec.environment, &spec.revision)? {
        Some(found) => {
            if found.replicas != replicas {
                docker::update_service(&found.id, &desired)
                    .map_err(|e| capability(&format!("scaling `{}` to {replicas} for {what}", found.name), &e))?;
            }
            found.id
        }
        None => match docker::create_service(&desired) {
            Ok(id) => id,
            Err(DockerError::ImageNotFound(msg)) => return Err(PlatformError::InvalidSpec(format!("{what}: {msg}"))),
            // Created concurrently (same name): adopt it.
            Err(DockerError::Conflict(msg)) => match find(&spec.service, &spec.environment, &spec.revision)? {
                Some(found) => found.id,
                None => {
                    return Err(PlatformError::Capability(format!("creating `{}` for {what}: {msg}", desired.name)));
                }
            },
            Err(e) => return Err(capability(&format!("creating `{}` for {what}", desired.name), &e)),
        },
    };
    let tasks = docker::list_tasks(&service).map_err(|e| capability(&format!("listing tasks of {what}"), &e))?;
    Ok(tasks.iter().filter_map(|t| tasks::to_instance(t, &spec.revision, &config.network, spec.port)).collect())
}

/// The first `hoist.*` extension of a stack service this platform would
/// otherwise drop silently.
fn unsupported(spec: &RevisionSpec) -> Option<&str> {
    const HONOURED: [&str; 5] = ["hoist.version", "hoist.stack", "hoist.dependency", "hoist.step", "hoist.secret"];
    spec.extensions.iter().map(|(k, _)| k.as_str()).find(|k| k.starts_with("hoist.") && !HONOURED.contains(k))
}

/// Every instance of every revision of the service in the environment.
pub fn instances(service: &str, environment: &str, config: &str) -> Result<Vec<Instance>, PlatformError> {
    let config = Config::parse(config)?;
    let found = docker::list_services(&labels::selector(service, environment, None))
        .map_err(|e| capability(&format!("listing services of `{service}` in `{environment}`"), &e))?;
    let mut out = Vec::new();
    for s in &found {
        let revision = labels::get(&s.labels, REVISION).unwrap_or_default();
        let port = labels::get(&s.labels, PORT).and_then(|p| p.parse().ok());
        let tasks = match docker::list_tasks(&s.id) {
            Ok(tasks) => tasks,
            // Removed since it was listed: it has no instances.
            Err(DockerError::NotFound(_)) => continue,
            Err(e) => return Err(capability(&format!("listing tasks of `{}`", s.name), &e)),
        };
        out.extend(tasks.iter().filter_map(|t| tasks::to_instance(t, revision, &config.network, port)));
    }
    Ok(out)
}

/// Remove the revision's service; Swarm stops its tasks (SIGTERM, then
/// SIGKILL after the stop timeout).
pub fn remove(service: &str, environment: &str, revision: &str, config: &str) -> Result<(), PlatformError> {
    Config::parse(config)?;
    let found = docker::list_services(&labels::selector(service, environment, Some(revision)))
        .map_err(|e| capability(&format!("listing services of `{service}` in `{environment}`"), &e))?;
    for s in &found {
        match docker::remove_service(&s.id) {
            Ok(()) | Err(DockerError::NotFound(_)) => {}
            Err(e) => return Err(capability(&format!("removing `{}`", s.name), &e)),
        }
    }
    Ok(())
}

/// The revision's service, adopted by label (after a control-plane restart
/// too). Extra services with the same labels (only made by hand: names
/// are unique) are removed so a revision never runs twice.
fn find(service: &str, environment: &str, revision: &str) -> Result<Option<ServiceInfo>, PlatformError> {
    let mut found = docker::list_services(&labels::selector(service, environment, Some(revision)))
        .map_err(|e| capability(&format!("listing services of `{service}` in `{environment}`"), &e))?;
    let name = labels::service_name(service, environment, revision);
    found.sort_by(|a, b| (a.name != name, &a.id).cmp(&(b.name != name, &b.id)));
    let mut found = found.into_iter();
    let keep = found.next();
    for extra in found {
        match docker::remove_service(&extra.id) {
            Ok(()) | Err(DockerError::NotFound(_)) => {}
            Err(e) => return Err(capability(&format!("removing duplicate `{}`", extra.name), &e)),
        }
    }
    Ok(keep)
}

fn service_spec(spec: &RevisionSpec, image: &str, config: &Config, replicas: u32) -> ServiceSpec {
    let mut env = spec.env.clone();
    env.push(("HOIST_SERVICE".to_owned(), spec.service.clone()));
    env.push(("HOIST_REVISION".to_owned(), spec.revision.clone()));
    // A Swarm template: each task reads its own slot.
    env.push(("HOIST_INSTANCE".to_owned(), "{{.Task.Slot}}".to_owned()));
    let mut labels = labels::selector(&spec.service, &spec.environment, Some(&spec.revision));
    if let Some(port) = spec.port {
        env.push(("PORT".to_owned(), port.to_string()));
        labels.push((PORT.to_owned(), port.to_string()));
    }
    // In a stack, a service answers to its name on the network whatever
    // its revision, and each instance is told where its dependencies are.
    let stack = spec.extensions.iter().any(|(k, _)| k == "hoist.stack");
    if stack {
        for dep in hoist_sdk::platform::dependencies::of(spec) {
            if let Some(port) = dep.port {
                env.extend(hoist_sdk::platform::dependencies::env(spec, &dep.service, &dep.service, port));
            }
        }
    }
    let aliases = stack.then(|| ("aliases".to_owned(), spec.service.clone()));
    // A secret as a Swarm secret the host creates from its file.
    let secrets: Vec<(String, String)> = spec
        .extensions
        .iter()
        .filter(|(k, _)| k == "hoist.secret")
        .map(|(_, v)| ("secret".to_owned(), v.clone()))
        .collect();
    ServiceSpec {
        name: labels::service_name(&spec.service, &spec.environment, &spec.revision),
        image: image.to_owned(),
        replicas,
        env,
        labels,
        ports: Vec::new(),
        extensions: [
            ("network".to_owned(), config.network.clone()),
            ("stop-grace-ms".to_owned(), (u64::from(config.stop_timeout_secs) * 1000).to_string()),
        ]
        .into_iter()
        .chain(aliases)
        .chain(secrets)
        .collect(),
    }
}

fn capability(what: &str, error: &DockerError) -> PlatformError {
    match error {
        DockerError::Unreachable(msg) => PlatformError::Unavailable(msg.clone()),
        other => PlatformError::Capability(format!("{what}: {}", docker::describe(other))),
    }
}
