//! Labels and names that tie containers to services and revisions, and how
//! a container reads as an instance.

use hoist_sdk::docker::{ContainerInfo, Health};
use hoist_sdk::types::{Instance, InstanceState};

pub use hoist_sdk::platform::labels::{INDEX, REVISION, selector};

/// `hoist-<service>-<env>-<rev>-<idx>`, with characters Docker refuses in
/// a name replaced by `_`.
pub fn container_name(service: &str, environment: &str, revision: &str, index: u32) -> String {
    let raw = format!("hoist-{service}-{environment}-{revision}-{index}");
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' }).collect()
}

/// The value of label `key`.
pub fn get<'a>(container: &'a ContainerInfo, key: &str) -> Option<&'a str> {
    hoist_sdk::platform::labels::get(&container.labels, key)
}

/// The instance index from `hoist.index` (unlabelled containers sort last).
pub fn index(container: &ContainerInfo) -> u32 {
    hoist_sdk::platform::labels::index(&container.labels)
}

/// Whether the engine runs the container (healthy or not).
pub fn running(container: &ContainerInfo) -> bool {
    container.state == "running"
}

/// How the host sees a container. Readiness follows Docker's HEALTHCHECK
/// when the image has one, else a running container is ready; the host's
/// probes overlay readiness anyway.
pub fn to_instance(container: &ContainerInfo, port: Option<u16>) -> Instance {
    let state = match container.state.as_str() {
        "running" => match &container.health {
            Health::None | Health::Healthy => InstanceState::Ready,
            Health::Starting => InstanceState::Starting,
            Health::Unhealthy => InstanceState::Unready,
            Health::Other(what) => InstanceState::Other(what.clone()),
        },
        "created" | "restarting" => InstanceState::Starting,
        // `exit code N` when the engine says (as the process platform does),
        // so a job's success is told from its failure.
        "exited" | "dead" => match &container.health {
            Health::Other(how) if how.starts_with("exit code ") => InstanceState::Exited(how.clone()),
            _ => InstanceState::Exited(container.state.clone()),
        },
        "removing" => InstanceState::Stopping,
        other => InstanceState::Other(other.to_owned()),
    };
    let host_port =
        container.ports.iter().find(|p| port.is_none_or(|want| p.container_port == want)).map(|p| p.host_port);
    let mut extensions = vec![("container".to_owned(), container.name.clone())];
    if let Some(index) = get(container, INDEX) {
        extensions.push((INDEX.to_owned(), index.to_owned()));
    }
    let ready = state == InstanceState::Ready;
    Instance {
        id: container.id.clone(),
        revision: get(container, REVISION).unwrap_or_default().to_owned(),
        address: host_port.map(|p| format!("127.0.0.1:{p}")),
        state,
        ready_for_ms: ready.then_some(0),
        extensions,
    }
}
