//! The local Docker engine, for platform plugins granted
//! `capabilities = ["docker"]`.
//!
//! In a component these call the `hoist:plugin/docker` import (and the
//! component then imports it); natively they act on the per-thread
//! [`testing::FakeDocker`](crate::testing::FakeDocker) container table.

pub use crate::bindings::platform::hoist::plugin::docker::{
    ContainerInfo, ContainerSpec, DockerError, Health, PortBinding, ServiceInfo, ServiceSpec, TaskInfo,
};

/// Create a container (not started); returns its id. Ports are published
/// on 127.0.0.1; host port 0 lets the engine pick.
pub fn create_container(spec: &ContainerSpec) -> Result<String, DockerError> {
    imp::create_container(spec)
}

pub fn start_container(id: &str) -> Result<(), DockerError> {
    imp::start_container(id)
}

/// SIGTERM, then SIGKILL after `timeout_secs`. Stopping a stopped container is fine.
pub fn stop_container(id: &str, timeout_secs: u32) -> Result<(), DockerError> {
    imp::stop_container(id, timeout_secs)
}

/// Remove a container (forcibly, with its anonymous volumes).
pub fn remove_container(id: &str) -> Result<(), DockerError> {
    imp::remove_container(id)
}

pub fn inspect_container(id: &str) -> Result<ContainerInfo, DockerError> {
    imp::inspect_container(id)
}

/// Containers (running or not) whose labels include every given pair.
pub fn list_containers(labels: &[(String, String)]) -> Result<Vec<ContainerInfo>, DockerError> {
    imp::list_containers(labels)
}

/// The last `tail` lines of a container's output (at most 64 KiB).
pub fn container_logs(id: &str, tail: u32) -> Result<String, DockerError> {
    imp::container_logs(id, tail)
}

/// Whether `image` is on the engine (there is no registry to pull from).
pub fn image_present(image: &str) -> Result<bool, DockerError> {
    imp::image_present(image)
}

/// Create the network `name` unless it exists.
pub fn ensure_network(name: &str) -> Result<(), DockerError> {
    imp::ensure_network(name)
}

/// Remove a network Hoist created once no container is on it: `Ok` when
/// it does not exist, `Conflict` while containers use it.
pub fn remove_network(name: &str) -> Result<(), DockerError> {
    imp::remove_network(name)
}

/// Create a replicated Swarm service; returns its id. Ports must be empty
/// (Swarm cannot publish on 127.0.0.1 only); see the record's extensions.
pub fn create_service(spec: &ServiceSpec) -> Result<String, DockerError> {
    imp::create_service(spec)
}

/// Replace a service's spec (e.g. its replicas).
pub fn update_service(id: &str, spec: &ServiceSpec) -> Result<(), DockerError> {
    imp::update_service(id, spec)
}

/// Remove a service and its tasks; one that is gone is fine.
pub fn remove_service(id: &str) -> Result<(), DockerError> {
    imp::remove_service(id)
}

/// Swarm services whose labels include every given pair.
pub fn list_services(labels: &[(String, String)]) -> Result<Vec<ServiceInfo>, DockerError> {
    imp::list_services(labels)
}

/// The tasks of a Swarm service (by id or name), current ones and recent
/// history, with state, health and addresses; `NotFound` when the service
/// does not exist.
pub fn list_tasks(service: &str) -> Result<Vec<TaskInfo>, DockerError> {
    imp::list_tasks(service)
}

/// Create the swarm-scoped attachable bridge network `name` unless it
/// exists; a task's address on it is reachable from the task's node.
pub fn ensure_swarm_network(name: &str) -> Result<(), DockerError> {
    imp::ensure_swarm_network(name)
}

/// Create, start and inspect each container, concurrently on the host (at
/// most 8 at a time): one call costs about one container start. Results are
/// in the order of `specs`; a failing spec fails alone, and a container
/// created but not started is removed. At most 1000 specs a call.
pub fn run_containers(specs: &[ContainerSpec]) -> Vec<Result<ContainerInfo, DockerError>> {
    imp::run_containers(specs)
}

/// Stop (SIGTERM, then SIGKILL after `timeout_secs`) and remove each
/// container, concurrently on the host; one already gone is fine. Results
/// are in the order of `ids`. At most 1000 ids a call.
pub fn remove_containers(ids: &[String], timeout_secs: u32) -> Vec<Result<(), DockerError>> {
    imp::remove_containers(ids, timeout_secs)
}

#[cfg(target_family = "wasm")]
use crate::bindings::platform::hoist::plugin::docker as imp;
#[cfg(not(target_family = "wasm"))]
use crate::testing::docker_fake as imp;

/// A one-line description of `error` for messages.
pub fn describe(error: &DockerError) -> String {
    match error {
        DockerError::Unreachable(s)
        | DockerError::ImageNotFound(s)
        | DockerError::Conflict(s)
        | DockerError::Other(s) => s.clone(),
        DockerError::NotFound(s) => format!("not found: {s}"),
    }
}
