//! `ensure`: make a revision have exactly N running containers.

use std::collections::BTreeSet;

use hoist_sdk::docker::{self, ContainerInfo, ContainerSpec, DockerError, PortBinding};
use hoist_sdk::platform::{PlatformError, RevisionSpec};
use hoist_sdk::types::Instance;

use crate::config::Config;
use crate::{labels, networks, runtime};

pub fn ensure(spec: &RevisionSpec, replicas: u32) -> Result<Vec<Instance>, PlatformError> {
    let config = Config::parse(&spec.config)?;
    let Some(image) = spec.image.as_deref().filter(|i| !i.is_empty()) else {
        return Err(PlatformError::InvalidSpec(format!(
            "service `{}` has no image to run; set `image` in its definition",
            spec.service
        )));
    };
    // The capability creates each network the containers join.
    let joins = networks::joins(spec, &config)?;
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
    remove_all(&drop_list, config.stop_timeout_secs)?;

    let used: BTreeSet<u32> = keep.iter().map(labels::index).collect();
    let missing = (replicas as usize).saturating_sub(keep.len());
    let specs: Vec<ContainerSpec> = (0u32..)
        .filter(|i| !used.contains(i))
        .take(missing)
        .map(|index| container_spec(spec, image, &joins, index))
        .collect();
    keep.extend(run_all(spec, &specs)?);
    keep.sort_by_key(labels::index);
    Ok(keep.iter().map(|c| labels::to_instance(c, spec.port)).collect())
}

/// The revision's volumes as the engine's binds: a named volume gets the
/// stack's (or service's) prefix so two stacks never share one; a host path
/// is mounted as is; a secret (`hoist.secret`) or a config file
/// (`hoist.config-file`), `FILE:TARGET`, read-only.
fn mounts(spec: &RevisionSpec) -> Vec<String> {
    let secrets = spec
        .extensions
        .iter()
        .filter(|(k, _)| k == "hoist.secret" || k == "hoist.config-file")
        .map(|(_, v)| format!("{v}:ro"));
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

fn container_spec(spec: &RevisionSpec, image: &str, joins: &[networks::Join], index: u32) -> ContainerSpec {
    let mut env = spec.env.clone();
    env.push(("HOIST_SERVICE".to_owned(), spec.service.clone()));
    env.push(("HOIST_REVISION".to_owned(), spec.revision.clone()));
    env.push(("HOIST_INSTANCE".to_owned(), index.to_string()));
    if let Some(port) = spec.port {
        env.push(("PORT".to_owned(), port.to_string()));
    }
    // On the stack's network a dependency is its service's name.
    for dep in hoist_sdk::platform::dependencies::of(spec) {
        if let Some(port) = dep.port.filter(|_| !joins.is_empty()) {
            env.extend(hoist_sdk::platform::dependencies::env(spec, &dep.service, &dep.service, port));
        }
    }
    let mut labels = labels::selector(&spec.service, &spec.environment, Some(&spec.revision));
    labels.push((labels::INDEX.to_owned(), index.to_string()));
    labels.extend(runtime::labels(spec));
    labels.extend(networks::label(joins));
    ContainerSpec {
        name: labels::container_name(&spec.service, &spec.environment, &spec.revision, index),
        image: image.to_owned(),
        cmd: spec.command.clone(),
        env,
        labels,
        ports: spec.port.map(|p| PortBinding { container_port: p, host_port: 0 }).into_iter().collect(),
        network: joins.first().map(|j| j.network.clone()),
        extensions: networks::extensions(joins)
            .chain(mounts(spec).into_iter().map(|m| ("hoist.bind".to_string(), m)))
            // A config's content is written into the container before it starts.
            .chain(
                spec.extensions
                    .iter()
                    .filter(|(k, _)| k == "hoist.config-content")
                    .map(|(_, v)| ("hoist.file".to_string(), v.clone())),
            )
            .chain(runtime::extensions(spec))
            .collect(),
    }
}

/// Creates and starts the containers in one host call (the host runs them
/// concurrently). The ones that started are kept even when another fails:
/// they are found by label next time; the first failure is the error.
fn run_all(spec: &RevisionSpec, containers: &[ContainerSpec]) -> Result<Vec<ContainerInfo>, PlatformError> {
    if containers.is_empty() {
        return Ok(Vec::new());
    }
    let what = format!("service `{}` revision {}", spec.service, spec.revision);
    let mut started = Vec::new();
    let mut first_error = None;
    for (container, result) in containers.iter().zip(docker::run_containers(containers)) {
        match result {
            Ok(info) => started.push(info),
            Err(e) if first_error.is_none() => {
                first_error = Some(match e {
                    DockerError::ImageNotFound(msg) => PlatformError::InvalidSpec(format!("{what}: {msg}")),
                    DockerError::Unreachable(msg) => PlatformError::Unavailable(msg),
                    e => capability(&format!("running container `{}` for {what}", container.name), &e),
                });
            }
            Err(_) => {}
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(started),
    }
}

/// Stops and removes the containers, one host call per stop grace period
/// (a service may set its own); one that is already gone is fine.
pub fn remove_all(containers: &[ContainerInfo], timeout_secs: u32) -> Result<(), PlatformError> {
    let mut by_grace: std::collections::BTreeMap<u32, Vec<&ContainerInfo>> = std::collections::BTreeMap::new();
    for c in containers {
        by_grace.entry(runtime::stop_secs(&c.labels, timeout_secs)).or_default().push(c);
    }
    for (grace, group) in by_grace {
        let ids: Vec<String> = group.iter().map(|c| c.id.clone()).collect();
        for (container, result) in group.iter().zip(docker::remove_containers(&ids, grace)) {
            result.map_err(|e| capability(&format!("removing container `{}`", container.name), &e))?;
        }
    }
    Ok(())
}

pub fn capability(what: &str, error: &DockerError) -> PlatformError {
    match error {
        DockerError::Unreachable(msg) => PlatformError::Unavailable(msg.clone()),
        other => PlatformError::Capability(format!("{what}: {}", docker::describe(other))),
    }
}
