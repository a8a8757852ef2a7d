//! How a Swarm task reads as an instance.

use hoist_sdk::docker::{Health, TaskInfo};
use hoist_sdk::types::{Instance, InstanceState};

/// The instance a task is, or `None` for history: a task the orchestrator
/// no longer wants and that no longer runs (a failed task's replacement
/// is listed instead).
///
/// Readiness: a task Swarm reports running is ready unless its container
/// has a HEALTHCHECK that does not pass yet (Swarm itself reports a task
/// with a HEALTHCHECK as running only once it is healthy). Hoist's probes
/// overlay readiness anyway when the service has a probe.
pub fn to_instance(task: &TaskInfo, revision: &str, network: &str, port: Option<u16>) -> Option<Instance> {
    let live = matches!(task.state.as_str(), "starting" | "running");
    let state = if task.desired_state != "running" {
        if !live {
            return None;
        }
        InstanceState::Stopping
    } else {
        match task.state.as_str() {
            "new" | "allocated" | "pending" | "assigned" | "accepted" | "preparing" | "ready" | "starting" => {
                InstanceState::Starting
            }
            "running" => match &task.health {
                Health::None | Health::Healthy => InstanceState::Ready,
                Health::Starting => InstanceState::Starting,
                Health::Unhealthy => InstanceState::Unready,
                Health::Other(what) => InstanceState::Other(what.clone()),
            },
            "complete" | "shutdown" | "failed" | "rejected" | "orphaned" | "remove" => {
                InstanceState::Exited(if task.message.is_empty() {
                    task.state.clone()
                } else {
                    format!("{}: {}", task.state, task.message)
                })
            }
            other => InstanceState::Other(other.to_owned()),
        }
    };
    let ip = task.addresses.iter().find(|(n, _)| n == network).map(|(_, ip)| ip.as_str());
    let address = match (ip, port) {
        (Some(ip), Some(port)) if ip.contains(':') => Some(format!("[{ip}]:{port}")),
        (Some(ip), Some(port)) => Some(format!("{ip}:{port}")),
        _ => None,
    };
    // A serving task the router cannot reach is not ready for traffic:
    // say where it runs instead (another node, on a node-local network).
    let state = match (&state, &address, port) {
        (InstanceState::Ready, None, Some(_)) => InstanceState::Other(format!(
            "running on node {} with no address on network `{network}` known here; the router must run on a node \
             attached to that network",
            task.node_id
        )),
        _ => state,
    };
    let mut extensions =
        vec![("swarm.slot".to_owned(), task.slot.to_string()), ("swarm.node".to_owned(), task.node_id.clone())];
    if let Some(container) = &task.container_id {
        extensions.push(("container".to_owned(), container.clone()));
    }
    let ready = state == InstanceState::Ready;
    Some(Instance {
        id: task.id.clone(),
        revision: revision.to_owned(),
        address,
        state,
        ready_for_ms: ready.then_some(0),
        extensions,
    })
}
