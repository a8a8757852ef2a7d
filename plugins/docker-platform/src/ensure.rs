//! `ensure`: make a revision have exactly N running containers.

use std::collections::BTreeSet;

use hoist_sdk::docker::{self, ContainerInfo, ContainerSpec, DockerError, PortBinding};
use hoist_sdk::platform::{PlatformError, RevisionSpec};
use hoist_sdk::types::Instance;

use crate::config::Config;
use crate::{labels, runtime};

pub fn ensure(spec: &RevisionSpec, replicas: u32) -> Result<Vec<Instance>, PlatformError> {
    let config = Config::parse(&spec.config)?;
    let Some(image) = spec.image.as_deref().filter(|i| !i.is_empty()) else {
        return Err(PlatformError::InvalidSpec(format!(
            "service `{}` has no image to run; set `image` in its definition",
            spec.service
        )));
    };
    let network = network_of(spec, &config);
    if let Some(network) = &network {
        docker::ensure_network(network).map_err(|e| capability(&format!("network `{network}`"), &e))?;
    }
    let selector = labels::selector(&spec.service, &spec.environment, Some(&spec.revision));
    let mut found = docker::list_containers(&selector).map_err(|e| capability("listing containers", &e))?;
    found.sort_by_key(|c| (labels::index(c), c.name.clone()));

    // Keep the lowest-indexed running containers, one per index.
    let mut keep: Vec<ContainerInfo> = Vec::new();
    let mut drop_list: Vec<ContainerInfo> = Vec::new();
    let mut seen = BTreeSet::new();
    for c in found {
        let fresh = seen.insert(labels::index(&c));
        if labels::running(&c) && fresh && keep.len() < replicas as usize {
            keep.push(c);
        } else {
            drop_list.push(c);
        }
    }
    drop_list.sort_by_key(|c| std::cmp::Reverse(labels::index(c)));
    for c in &drop_list {
        remove(c, config.stop_timeout_secs)?;
    }

    let used: BTreeSet<u32> = keep.iter().map(labels::index).collect();
    let mut free = (0u32..).filter(|i| !used.contains(i));
    while keep.len() < replicas as usize {
        let Some(index) = free.next() else { break };
        keep.push(create(spec, image, network.as_deref(), index)?);
    }
    keep.sort_by_key(labels::index);
    Ok(keep.iter().map(|c| labels::to_instance(c, spec.port)).collect())
}

/// The revision's volumes as the engine's binds: a named volume gets the
/// stack's (or service's) prefix so two stacks never share one; a host path
/// is mounted as is; a secret (`hoist.secret`, `FILE:TARGET`) read-only.
fn mounts(spec: &RevisionSpec) -> Vec<String> {
    let secrets = spec.extensions.iter().filter(|(k, _)| k == "hoist.secret").map(|(_, v)| format!("{v}:ro"));
    volume_mounts(spec).into_iter().chain(secrets).collect()
}

fn volume_mounts(spec: &RevisionSpec) -> Vec<String> {
    let owner = spec.extensions.iter().find(|(k, _)| k == "hoist.stack").map_or(spec.service.as_str(), |(_, v)| v);
    spec.extensions
        .iter()
        .filter(|(k, _)| k == "hoist.volume")
        .map(|(_, v)| match v.split_once(':') {
            Some((source, rest)) if !source.starts_with('/') => {
                format!("hoist-{owner}-{}-{source}:{rest}", spec.environment)
            }
            _ => v.clone(),
        })
        .collect()
}

/// The network a revision's containers join: the configured one, else the
/// stack's own (`hoist-STACK-ENV`), else the engine's default bridge.
fn network_of(spec: &RevisionSpec, config: &Config) -> Option<String> {
    config.network.clone().or_else(|| {
        let stack = spec.extensions.iter().find(|(k, _)| k == "hoist.stack").map(|(_, v)| v)?;
        Some(format!("hoist-{stack}-{}", spec.environment))
    })
}

fn create(spec: &RevisionSpec, image: &str, network: Option<&str>, index: u32) -> Result<ContainerInfo, PlatformError> {
    let mut env = spec.env.clone();
    env.push(("HOIST_SERVICE".to_owned(), spec.service.clone()));
    env.push(("HOIST_REVISION".to_owned(), spec.revision.clone()));
    env.push(("HOIST_INSTANCE".to_owned(), index.to_string()));
    if let Some(port) = spec.port {
        env.push(("PORT".to_owned(), port.to_string()));
    }
    let mut labels = labels::selector(&spec.service, &spec.environment, Some(&spec.revision));
    labels.push((labels::INDEX.to_owned(), index.to_string()));
    labels.extend(runtime::labels(spec));
    let name = labels::container_name(&spec.service, &spec.environment, &spec.revision, index);
    let container = ContainerSpec {
        name: name.clone(),
        image: image.to_owned(),
        cmd: spec.command.clone(),
        env,
        labels,
        ports: spec.port.map(|p| PortBinding { container_port: p, host_port: 0 }).into_iter().collect(),
        network: network.map(str::to_string),
        // On a network, every instance answers to the service's name, so
        // `db:5432` reaches `db` whatever its revision.
        extensions: network
            .map(|_| ("hoist.alias".to_string(), spec.service.clone()))
            .into_iter()
            .chain(mounts(spec).into_iter().map(|m| ("hoist.bind".to_string(), m)))
            .chain(runtime::extensions(spec))
            .collect(),
    };
    let what = format!("service `{}` revision {}", spec.service, spec.revision);
    let id = match docker::create_container(&container) {
        Ok(id) => id,
        Err(DockerError::ImageNotFound(msg)) => return Err(PlatformError::InvalidSpec(format!("{what}: {msg}"))),
        Err(DockerError::Unreachable(msg)) => return Err(PlatformError::Unavailable(msg)),
        Err(e) => return Err(capability(&format!("creating container `{name}` for {what}"), &e)),
    };
    if let Err(e) = docker::start_container(&id) {
        // Do not leave a created, never-started container behind.
        let _ = docker::remove_container(&id);
        return Err(capability(&format!("starting container `{name}` for {what}"), &e));
    }
    docker::inspect_container(&id).map_err(|e| capability(&format!("inspecting container `{name}`"), &e))
}

/// Stop and remove a container; one that is already gone is fine.
pub fn remove(container: &ContainerInfo, timeout_secs: u32) -> Result<(), PlatformError> {
    if labels::running(container) {
        match docker::stop_container(&container.id, runtime::stop_secs(&container.labels, timeout_secs)) {
            Ok(()) | Err(DockerError::NotFound(_)) => {}
            Err(e) => return Err(capability(&format!("stopping container `{}`", container.name), &e)),
        }
    }
    match docker::remove_container(&container.id) {
        Ok(()) | Err(DockerError::NotFound(_)) => Ok(()),
        Err(e) => Err(capability(&format!("removing container `{}`", container.name), &e)),
    }
}

pub fn capability(what: &str, error: &DockerError) -> PlatformError {
    match error {
        DockerError::Unreachable(msg) => PlatformError::Unavailable(msg.clone()),
        other => PlatformError::Capability(format!("{what}: {}", docker::describe(other))),
    }
}
