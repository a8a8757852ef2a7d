//! An in-memory Docker engine standing in for the `docker` capability.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::swarm::FakeSwarm;
use crate::docker::{
    ContainerInfo, ContainerSpec, DockerError, Health, PortBinding, ServiceInfo, ServiceSpec, TaskInfo,
};

#[derive(Debug, Default)]
pub(super) struct Engine {
    next_id: u32,
    next_port: u16,
    containers: BTreeMap<String, Fake>,
    images: BTreeSet<String>,
    networks: BTreeSet<String>,
    stopped: Vec<(String, u32)>,
    unreachable: bool,
    pub(super) swarm: FakeSwarm,
}

#[derive(Debug, Clone)]
struct Fake {
    order: u32,
    info: ContainerInfo,
    spec: ContainerSpec,
}

thread_local! {
    static ENGINE: RefCell<Engine> = RefCell::new(Engine::default());
}

/// A handle on this thread's fake engine, which the functions of
/// [`docker`](crate::docker) use natively.
///
/// Containers get ids `c1`, `c2`, ...; a created container is `created`,
/// a started one `running` with host ports from 30000 for requested port 0.
/// Only images added with [`FakeDocker::add_image`] are present.
/// It is also a single-node swarm manager (see the Swarm methods).
#[derive(Debug, Clone, Copy)]
pub struct FakeDocker {
    _private: (),
}

impl FakeDocker {
    /// Empty this thread's engine and return a handle on it.
    pub fn new() -> Self {
        ENGINE.with(|e| *e.borrow_mut() = Engine::default());
        Self::current()
    }

    /// A handle on this thread's engine as it is.
    pub fn current() -> Self {
        Self { _private: () }
    }

    pub(super) fn with<R>(self, f: impl FnOnce(&mut Engine) -> R) -> R {
        ENGINE.with(|e| f(&mut e.borrow_mut()))
    }

    /// Make `image` present on the engine.
    pub fn add_image(self, image: &str) -> Self {
        self.with(|e| e.images.insert(image.to_owned()));
        self
    }

    pub(super) fn has_image(self, image: &str) -> bool {
        self.with(|e| e.images.contains(image))
    }

    /// Make every call fail with `unreachable`.
    pub fn set_unreachable(self, unreachable: bool) -> Self {
        self.with(|e| e.unreachable = unreachable);
        self
    }

    pub(super) fn reachable(self) -> Result<(), DockerError> {
        if self.with(|e| e.unreachable) {
            return Err(DockerError::Unreachable("engine unreachable at fake://".to_owned()));
        }
        Ok(())
    }

    /// Every container, in creation order.
    pub fn containers(self) -> Vec<ContainerInfo> {
        self.with(|e| {
            let mut all: Vec<&Fake> = e.containers.values().collect();
            all.sort_by_key(|c| c.order);
            all.into_iter().map(|c| c.info.clone()).collect()
        })
    }

    /// The spec container `id` was created with.
    pub fn spec(self, id: &str) -> Option<ContainerSpec> {
        self.with(|e| e.containers.get(id).map(|c| c.spec.clone()))
    }

    /// The `(id, timeout)` of every stop call, in order.
    pub fn stopped(self) -> Vec<(String, u32)> {
        self.with(|e| e.stopped.clone())
    }

    /// The networks ensured so far.
    pub fn networks(self) -> Vec<String> {
        self.with(|e| e.networks.iter().cloned().collect())
    }

    /// Set the state (`running`, `exited`, ...) of container `id`.
    pub fn set_state(self, id: &str, state: &str) -> bool {
        self.with(|e| e.containers.get_mut(id).map(|c| c.info.state = state.to_owned()).is_some())
    }

    /// Set the health of container `id`.
    pub fn set_health(self, id: &str, health: Health) -> bool {
        self.with(|e| e.containers.get_mut(id).map(|c| c.info.health = health).is_some())
    }

    pub fn create_container(self, spec: &ContainerSpec) -> Result<String, DockerError> {
        self.reachable()?;
        self.with(|e| {
            if !e.images.contains(&spec.image) {
                return Err(DockerError::ImageNotFound(format!(
                    "image `{}` is not present on the engine and no registry is configured",
                    spec.image
                )));
            }
            if e.containers.values().any(|c| c.info.name == spec.name) {
                return Err(DockerError::Conflict(format!("container name `{}` is in use", spec.name)));
            }
            for (_, join) in spec.extensions.iter().filter(|(k, _)| k == "hoist.join") {
                let network = serde_json::from_str::<serde_json::Value>(join)
                    .ok()
                    .and_then(|j| j["network"].as_str().map(str::to_owned))
                    .ok_or_else(|| DockerError::Other(format!("container extension `hoist.join` = `{join}`")))?;
                e.networks.insert(network);
            }
            e.next_id += 1;
            let id = format!("c{}", e.next_id);
            let info = ContainerInfo {
                id: id.clone(),
                name: spec.name.clone(),
                image: spec.image.clone(),
                labels: spec.labels.clone(),
                state: "created".to_owned(),
                health: Health::None,
                ports: Vec::new(),
            };
            e.containers.insert(id.clone(), Fake { order: e.next_id, info, spec: spec.clone() });
            Ok(id)
        })
    }

    pub fn start_container(self, id: &str) -> Result<(), DockerError> {
        self.reachable()?;
        self.with(|e| {
            let Engine { containers, next_port, .. } = e;
            let Some(c) = containers.get_mut(id) else { return Err(DockerError::NotFound(id.to_owned())) };
            if c.info.ports.is_empty() {
                for p in &c.spec.ports {
                    let host_port = if p.host_port == 0 {
                        *next_port = next_port.saturating_add(1);
                        30000u16.saturating_add(*next_port)
                    } else {
                        p.host_port
                    };
                    c.info.ports.push(PortBinding { container_port: p.container_port, host_port });
                }
            }
            c.info.state = "running".to_owned();
            Ok(())
        })
    }

    pub fn stop_container(self, id: &str, timeout_secs: u32) -> Result<(), DockerError> {
        self.reachable()?;
        self.with(|e| {
            let Some(c) = e.containers.get_mut(id) else { return Err(DockerError::NotFound(id.to_owned())) };
            c.info.state = "exited".to_owned();
            e.stopped.push((id.to_owned(), timeout_secs));
            Ok(())
        })
    }

    pub fn remove_container(self, id: &str) -> Result<(), DockerError> {
        self.reachable()?;
        self.with(|e| match e.containers.remove(id) {
            Some(_) => Ok(()),
            None => Err(DockerError::NotFound(id.to_owned())),
        })
    }

    pub fn inspect_container(self, id: &str) -> Result<ContainerInfo, DockerError> {
        self.reachable()?;
        self.with(|e| e.containers.get(id).map(|c| c.info.clone()).ok_or_else(|| DockerError::NotFound(id.to_owned())))
    }

    pub fn list_containers(self, labels: &[(String, String)]) -> Result<Vec<ContainerInfo>, DockerError> {
        self.reachable()?;
        Ok(self.containers().into_iter().filter(|c| labels.iter().all(|l| c.labels.contains(l))).collect())
    }

    pub fn container_logs(self, id: &str, _tail: u32) -> Result<String, DockerError> {
        self.inspect_container(id).map(|_| String::new())
    }

    pub fn image_present(self, image: &str) -> Result<bool, DockerError> {
        self.reachable()?;
        Ok(self.with(|e| e.images.contains(image)))
    }

    pub fn ensure_network(self, name: &str) -> Result<(), DockerError> {
        self.reachable()?;
        self.with(|e| e.networks.insert(name.to_owned()));
        Ok(())
    }

    /// Removes `name` unless a container is on it (its `network`, or a
    /// `hoist.join` naming it), as the engine refuses to.
    pub fn remove_network(self, name: &str) -> Result<(), DockerError> {
        self.reachable()?;
        self.with(|e| {
            let joined = |c: &Fake| {
                c.spec.network.as_deref() == Some(name)
                    || c.spec.extensions.iter().any(|(k, v)| k == "hoist.join" && v.contains(&format!("\"{name}\"")))
            };
            if e.containers.values().any(joined) {
                return Err(DockerError::Conflict(format!("network `{name}` still has containers")));
            }
            e.networks.remove(name);
            Ok(())
        })
    }
}

impl Default for FakeDocker {
    fn default() -> Self {
        Self::new()
    }
}

/// The native stand-ins for the `docker` imports.
pub(crate) mod docker_fake {
    use super::*;

    pub(crate) fn create_container(spec: &ContainerSpec) -> Result<String, DockerError> {
        FakeDocker::current().create_container(spec)
    }
    pub(crate) fn start_container(id: &str) -> Result<(), DockerError> {
        FakeDocker::current().start_container(id)
    }
    pub(crate) fn stop_container(id: &str, timeout_secs: u32) -> Result<(), DockerError> {
        FakeDocker::current().stop_container(id, timeout_secs)
    }
    pub(crate) fn remove_container(id: &str) -> Result<(), DockerError> {
        FakeDocker::current().remove_container(id)
    }
    pub(crate) fn inspect_container(id: &str) -> Result<ContainerInfo, DockerError> {
        FakeDocker::current().inspect_container(id)
    }
    pub(crate) fn list_containers(labels: &[(String, String)]) -> Result<Vec<ContainerInfo>, DockerError> {
        FakeDocker::current().list_containers(labels)
    }
    pub(crate) fn container_logs(id: &str, tail: u32) -> Result<String, DockerError> {
        FakeDocker::current().container_logs(id, tail)
    }
    pub(crate) fn image_present(image: &str) -> Result<bool, DockerError> {
        FakeDocker::current().image_present(image)
    }
    pub(crate) fn ensure_network(name: &str) -> Result<(), DockerError> {
        FakeDocker::current().ensure_network(name)
    }
    pub(crate) fn remove_network(name: &str) -> Result<(), DockerError> {
        FakeDocker::current().remove_network(name)
    }
    pub(crate) fn create_service(spec: &ServiceSpec) -> Result<String, DockerError> {
        FakeDocker::current().create_service(spec)
    }
    pub(crate) fn update_service(id: &str, spec: &ServiceSpec) -> Result<(), DockerError> {
        FakeDocker::current().update_service(id, spec)
    }
    pub(crate) fn remove_service(id: &str) -> Result<(), DockerError> {
        FakeDocker::current().remove_service(id)
    }
    pub(crate) fn list_services(labels: &[(String, String)]) -> Result<Vec<ServiceInfo>, DockerError> {
        FakeDocker::current().list_services(labels)
    }
    pub(crate) fn list_tasks(service: &str) -> Result<Vec<TaskInfo>, DockerError> {
        FakeDocker::current().list_tasks(service)
    }
    pub(crate) fn ensure_swarm_network(name: &str) -> Result<(), DockerError> {
        FakeDocker::current().ensure_swarm_network(name)
    }
    /// One after another: the host's concurrency is not the plugin's logic.
    pub(crate) fn run_containers(specs: &[ContainerSpec]) -> Vec<Result<ContainerInfo, DockerError>> {
        let fake = FakeDocker::current();
        specs
            .iter()
            .map(|spec| {
                let id = fake.create_container(spec)?;
                if let Err(e) = fake.start_container(&id) {
                    let _ = fake.remove_container(&id);
                    return Err(e);
                }
                fake.inspect_container(&id)
            })
            .collect()
    }
    pub(crate) fn remove_containers(ids: &[String], timeout_secs: u32) -> Vec<Result<(), DockerError>> {
        let fake = FakeDocker::current();
        ids.iter()
            .map(|id| {
                match fake.stop_container(id, timeout_secs) {
                    Ok(()) | Err(DockerError::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
                match fake.remove_container(id) {
                    Ok(()) | Err(DockerError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> ContainerSpec {
        ContainerSpec {
            name: name.to_owned(),
            image: "demo:v1".to_owned(),
            cmd: Vec::new(),
            env: Vec::new(),
            labels: vec![("hoist.service".to_owned(), "web".to_owned())],
            ports: vec![PortBinding { container_port: 8080, host_port: 0 }],
            network: None,
            extensions: Vec::new(),
        }
    }

    #[test]
    fn a_container_is_created_started_listed_and_removed() {
        let fake = FakeDocker::new().add_image("demo:v1");
        let id = crate::docker::create_container(&spec("a")).unwrap();
        crate::docker::start_container(&id).unwrap();
        let listed = crate::docker::list_containers(&[("hoist.service".to_owned(), "web".to_owned())]).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].state, "running");
        assert_eq!(listed[0].ports[0].host_port, 30001);
        crate::docker::remove_container(&id).unwrap();
        assert!(fake.containers().is_empty());
    }

    #[test]
    fn a_missing_image_is_refused() {
        FakeDocker::new();
        let err = crate::docker::create_container(&spec("a")).unwrap_err();
        assert!(crate::docker::describe(&err).contains("no registry"), "{err:?}");
    }
}
