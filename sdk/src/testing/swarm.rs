//! The fake engine as a single-node swarm manager: services, their tasks
//! and swarm networks, for platform plugins' native tests.

use std::collections::{BTreeMap, BTreeSet};

use super::FakeDocker;
use crate::docker::{DockerError, Health, ServiceInfo, ServiceSpec, TaskInfo};

#[derive(Debug, Default)]
pub(crate) struct FakeSwarm {
    next_id: u32,
    services: BTreeMap<String, FakeService>,
    networks: BTreeSet<String>,
    inactive: bool,
}

#[derive(Debug, Clone)]
struct FakeService {
    order: u32,
    number: u32,
    spec: ServiceSpec,
    tasks: Vec<TaskInfo>,
}

impl FakeService {
    fn network(&self) -> Option<&str> {
        self.spec.extensions.iter().find(|(k, _)| k == "network").map(|(_, v)| v.as_str())
    }

    /// Like Swarm's orchestrator: one live task per slot up to `replicas`;
    /// tasks of slots above it are shut down (and kept as history).
    fn reconcile(&mut self, next_id: &mut u32) {
        let replicas = self.spec.replicas;
        for t in &mut self.tasks {
            if t.slot > replicas && t.desired_state == "running" {
                t.desired_state = "shutdown".to_owned();
                t.state = "shutdown".to_owned();
            }
        }
        for slot in 1..=replicas {
            if !self.tasks.iter().any(|t| t.slot == slot && t.desired_state == "running") {
                *next_id += 1;
                let id = format!("t{next_id}");
                let addresses = self
                    .network()
                    .map(|n| (n.to_owned(), format!("10.0.{}.{}", self.number, next_id)))
                    .into_iter()
                    .collect();
                self.tasks.push(TaskInfo {
                    id: id.clone(),
                    slot,
                    node_id: "node1".to_owned(),
                    state: "running".to_owned(),
                    desired_state: "running".to_owned(),
                    message: "started".to_owned(),
                    container_id: Some(format!("{id}-container")),
                    health: Health::None,
                    addresses,
                    extensions: Vec::new(),
                });
            }
        }
    }

    fn info(&self, id: &str) -> ServiceInfo {
        let mut labels = self.spec.labels.clone();
        labels.sort();
        let running = self.tasks.iter().filter(|t| t.state == "running" && t.desired_state == "running").count();
        ServiceInfo {
            id: id.to_owned(),
            name: self.spec.name.clone(),
            labels,
            replicas: self.spec.replicas,
            running_tasks: u32::try_from(running).unwrap_or(u32::MAX),
        }
    }
}

/// Swarm: services get ids `s1`, `s2`, ...; each slot's task (`t1`, ...)
/// runs at once with no HEALTHCHECK, and with address `10.0.<n>.<task>`
/// on the service's `network` extension when it has one.
impl FakeDocker {
    /// Make the engine leave (false) or be (true, the default) a swarm
    /// manager; outside a swarm every Swarm call fails as on a real engine.
    pub fn set_swarm(self, active: bool) -> Self {
        self.with(|e| e.swarm.inactive = !active);
        self
    }

    fn manager(self) -> Result<(), DockerError> {
        self.reachable()?;
        if self.with(|e| e.swarm.inactive) {
            return Err(DockerError::Unreachable(
                "the engine at fake:// is not a Swarm manager; run `docker swarm init` (or join a swarm) first"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// Every service, in creation order.
    pub fn services(self) -> Vec<ServiceInfo> {
        self.with(|e| {
            let mut all: Vec<(&String, &FakeService)> = e.swarm.services.iter().collect();
            all.sort_by_key(|(_, s)| s.order);
            all.into_iter().map(|(id, s)| s.info(id)).collect()
        })
    }

    /// The spec service `id` runs now.
    pub fn service_spec(self, id: &str) -> Option<ServiceSpec> {
        self.with(|e| e.swarm.services.get(id).map(|s| s.spec.clone()))
    }

    /// The swarm networks ensured so far.
    pub fn swarm_networks(self) -> Vec<String> {
        self.with(|e| e.swarm.networks.iter().cloned().collect())
    }

    fn with_task<R>(self, task: &str, f: impl FnOnce(&mut TaskInfo) -> R) -> Option<R> {
        self.with(|e| e.swarm.services.values_mut().flat_map(|s| s.tasks.iter_mut()).find(|t| t.id == task).map(f))
    }

    /// Set the observed state (`starting`, `running`, ...) of task `id`.
    pub fn set_task_state(self, id: &str, state: &str) -> bool {
        self.with_task(id, |t| t.state = state.to_owned()).is_some()
    }

    /// Set the container health of task `id`.
    pub fn set_task_health(self, id: &str, health: Health) -> bool {
        self.with_task(id, |t| t.health = health).is_some()
    }

    /// Task `id` fails with `message`; like Swarm, a new task replaces it
    /// in its slot and the failed one stays in the history.
    pub fn fail_task(self, id: &str, message: &str) -> bool {
        self.with(|e| {
            let FakeSwarm { services, next_id, .. } = &mut e.swarm;
            let Some(service) = services.values_mut().find(|s| s.tasks.iter().any(|t| t.id == id)) else {
                return false;
            };
            for t in service.tasks.iter_mut().filter(|t| t.id == id) {
                t.state = "failed".to_owned();
                t.desired_state = "shutdown".to_owned();
                t.message = message.to_owned();
            }
            service.reconcile(next_id);
            true
        })
    }

    pub fn create_service(self, spec: &ServiceSpec) -> Result<String, DockerError> {
        self.manager()?;
        if !spec.ports.is_empty() {
            return Err(DockerError::Other(format!(
                "service `{}`: Swarm cannot publish ports on 127.0.0.1 only; publish no ports",
                spec.name
            )));
        }
        if !self.has_image(&spec.image) {
            return Err(DockerError::ImageNotFound(format!(
                "image `{}` is not present on the engine and no registry is configured",
                spec.image
            )));
        }
        self.with(|e| {
            let swarm = &mut e.swarm;
            if swarm.services.values().any(|s| s.spec.name == spec.name) {
                return Err(DockerError::Conflict(format!("service `{}`: name already in use", spec.name)));
            }
            if let Some(net) = spec.extensions.iter().find(|(k, _)| k == "network").map(|(_, v)| v)
                && !swarm.networks.contains(net)
            {
                return Err(DockerError::NotFound(format!("service `{}`: network {net} not found", spec.name)));
            }
            swarm.next_id += 1;
            let number = swarm.next_id;
            let id = format!("s{number}");
            let mut service = FakeService { order: number, number, spec: spec.clone(), tasks: Vec::new() };
            service.reconcile(&mut swarm.next_id);
            swarm.services.insert(id.clone(), service);
            Ok(id)
        })
    }

    pub fn update_service(self, id: &str, spec: &ServiceSpec) -> Result<(), DockerError> {
        self.manager()?;
        self.with(|e| {
            let FakeSwarm { services, next_id, .. } = &mut e.swarm;
            let Some(service) = services.get_mut(id) else {
                return Err(DockerError::NotFound(format!("service `{id}`: no such service")));
            };
            service.spec = spec.clone();
            service.reconcile(next_id);
            Ok(())
        })
    }

    pub fn remove_service(self, id: &str) -> Result<(), DockerError> {
        self.manager()?;
        self.with(|e| e.swarm.services.remove(id));
        Ok(())
    }

    pub fn list_services(self, labels: &[(String, String)]) -> Result<Vec<ServiceInfo>, DockerError> {
        self.manager()?;
        Ok(self.services().into_iter().filter(|s| labels.iter().all(|l| s.labels.contains(l))).collect())
    }

    /// Tasks of a service by id or name; `NotFound` for an unknown one.
    pub fn list_tasks(self, service: &str) -> Result<Vec<TaskInfo>, DockerError> {
        self.manager()?;
        self.with(|e| {
            e.swarm
                .services
                .iter()
                .find(|(id, s)| *id == service || s.spec.name == service)
                .map(|(_, s)| s.tasks.clone())
                .ok_or_else(|| DockerError::NotFound(format!("service `{service}`: service {service} not found")))
        })
    }

    pub fn ensure_swarm_network(self, name: &str) -> Result<(), DockerError> {
        self.manager()?;
        self.with(|e| e.swarm.networks.insert(name.to_owned()));
        Ok(())
    }
}
