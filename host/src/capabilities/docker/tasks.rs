//! `list-tasks`: a Swarm service's tasks with their state, health and
//! addresses.
//!
//! The engine's task list carries no container health and, for networks
//! local to a node (a swarm-scoped bridge), no address: both are read from
//! the task's container, which this engine can inspect when the task runs
//! on its node. A task on another node gets its address from the verbose
//! view of its overlay networks instead (cluster-wide), and no health.

use std::collections::HashMap;

use bollard::errors::Error as EngineError;
use bollard::models::{ContainerInspectResponse, Task};
use bollard::query_parameters::{InspectNetworkOptionsBuilder, ListTasksOptionsBuilder};

use super::client::{DockerClient, MAX_LIST, health_of};
use crate::runtime::bindings::platform::hoist::plugin::docker::{DockerError, Health, TaskInfo};

/// States in which a task may have a live container worth inspecting.
fn may_run(state: &str) -> bool {
    matches!(state, "starting" | "running")
}

fn task_info(t: Task) -> TaskInfo {
    let status = t.status.unwrap_or_default();
    let state = status.state.map(|s| s.to_string()).unwrap_or_default();
    let message = match (status.message.unwrap_or_default(), status.err.unwrap_or_default()) {
        (m, e) if e.is_empty() => m,
        (m, e) if m.is_empty() => e,
        (m, e) => format!("{m}: {e}"),
    };
    TaskInfo {
        id: t.id.unwrap_or_default(),
        slot: t.slot.and_then(|s| u32::try_from(s).ok()).unwrap_or(0),
        node_id: t.node_id.unwrap_or_default(),
        state,
        desired_state: t.desired_state.map(|s| s.to_string()).unwrap_or_default(),
        message,
        container_id: status.container_status.and_then(|c| c.container_id).filter(|c| !c.is_empty()),
        health: Health::None,
        addresses: Vec::new(),
        extensions: Vec::new(),
    }
}

/// `(network name, IP)` of an inspected container on each of its networks.
fn addresses_of(c: &ContainerInspectResponse) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(name, endpoint)| {
            let ip = endpoint.ip_address.as_deref().filter(|ip| !ip.is_empty())?;
            Some((name.clone(), ip.to_owned()))
        })
        .collect();
    out.sort();
    out
}

/// `(task id, IP)` of every task a verbose overlay inspection lists: its
/// `Services` map holds `{"Tasks": [{"Name": "<service>.<slot>.<task id>",
/// "EndpointIP": "10.0.1.3"}]}` per service.
fn overlay_endpoints(services: &HashMap<String, serde_json::Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for service in services.values() {
        let Some(tasks) = service.get("Tasks").and_then(|t| t.as_array()) else { continue };
        for task in tasks {
            let name = task.get("Name").and_then(|n| n.as_str()).unwrap_or_default();
            let ip = task.get("EndpointIP").and_then(|n| n.as_str()).unwrap_or_default();
            if let (Some(id), false) = (name.rsplit('.').next().filter(|id| !id.is_empty()), ip.is_empty()) {
                out.push((id.to_owned(), ip.to_owned()));
            }
        }
    }
    out
}

impl DockerClient {
    pub async fn list_tasks(&self, service: &str) -> Result<Vec<TaskInfo>, DockerError> {
        let docker = self.engine().await?;
        let subject = format!("service `{service}`");
        let filters = HashMap::from([("service".to_owned(), vec![service.to_owned()])]);
        let options = ListTasksOptionsBuilder::new().filters(&filters).build();
        let tasks = docker.list_tasks(Some(options)).await.map_err(|err| self.map_swarm(err, &subject))?;
        let mut networks: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for task in tasks.into_iter().take(MAX_LIST) {
            for n in task.spec.as_ref().and_then(|s| s.networks.as_ref()).into_iter().flatten() {
                if let Some(target) = &n.target
                    && !networks.contains(target)
                {
                    networks.push(target.clone());
                }
            }
            let mut info = task_info(task);
            if let (Some(container), true) = (&info.container_id, may_run(&info.state)) {
                match docker.inspect_container(container, None).await {
                    Ok(c) => {
                        info.health = health_of(&c);
                        info.addresses = addresses_of(&c);
                    }
                    // On another node (or just removed): see the overlays below.
                    Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => {}
                    Err(err) => return Err(self.map(err, &format!("container `{container}` of {subject}"))),
                }
            }
            out.push(info);
        }
        if out.iter().any(|t| may_run(&t.state) && t.addresses.is_empty()) {
            self.fill_overlay_addresses(&networks, &mut out).await?;
        }
        out.sort_by(|a, b| (a.slot, &a.id).cmp(&(b.slot, &b.id)));
        Ok(out)
    }

    /// Addresses of tasks on other nodes, from their overlay networks.
    async fn fill_overlay_addresses(&self, networks: &[String], tasks: &mut [TaskInfo]) -> Result<(), DockerError> {
        let docker = self.engine().await?;
        for network in networks {
            let options = InspectNetworkOptionsBuilder::new().verbose(true).scope("swarm").build();
            let inspected = match docker.inspect_network(network, Some(options)).await {
                Ok(n) => n,
                Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => continue,
                Err(err) => return Err(self.map_swarm(err, &format!("network `{network}`"))),
            };
            if inspected.driver.as_deref() != Some("overlay") {
                continue;
            }
            let name = inspected.name.clone().unwrap_or_else(|| network.clone());
            for (id, ip) in overlay_endpoints(&inspected.services.unwrap_or_default()) {
                if let Some(t) = tasks.iter_mut().find(|t| t.id == id && t.addresses.is_empty()) {
                    t.addresses.push((name.clone(), ip));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_endpoints_are_read_by_task_id() {
        let services: HashMap<String, serde_json::Value> = serde_json::from_str(
            r#"{"hoist-web-dev-r1": {"VIP": "10.0.1.2", "Tasks": [
                {"Name": "hoist-web-dev-r1.1.j8pjxuufj7u2hze8954fz78l3", "EndpointIP": "10.0.1.3", "Info": {"Host IP": "192.0.2.7"}},
                {"Name": "", "EndpointIP": "10.0.1.9"}]}}"#,
        )
        .unwrap();
        assert_eq!(overlay_endpoints(&services), vec![("j8pjxuufj7u2hze8954fz78l3".to_owned(), "10.0.1.3".to_owned())]);
    }
}
