//! Labels that tie processes to services and revisions, and how a process
//! reads as an instance.

use hoist_sdk::process::{ProcessInfo, ProcessState};
use hoist_sdk::types::{Instance, InstanceState};

pub const SERVICE: &str = "hoist.service";
pub const ENVIRONMENT: &str = "hoist.environment";
pub const REVISION: &str = "hoist.revision";
pub const INDEX: &str = "hoist.index";

/// The selector for a service in an environment, optionally one revision.
pub fn selector(service: &str, environment: &str, revision: Option<&str>) -> Vec<(String, String)> {
    let mut pairs = vec![
        (SERVICE.to_owned(), service.to_owned()),
        (ENVIRONMENT.to_owned(), environment.to_owned()),
    ];
    if let Some(revision) = revision {
        pairs.push((REVISION.to_owned(), revision.to_owned()));
    }
    pairs
}

/// The value of label `key`.
pub fn get<'a>(process: &'a ProcessInfo, key: &str) -> Option<&'a str> {
    process
        .labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The instance index from `hoist.index` (unlabelled processes sort last).
pub fn index(process: &ProcessInfo) -> u32 {
    get(process, INDEX)
        .and_then(|i| i.parse().ok())
        .unwrap_or(u32::MAX)
}

/// How the host sees a process.
pub fn to_instance(process: &ProcessInfo) -> Instance {
    let running = process.state == ProcessState::Running;
    let state = match &process.state {
        ProcessState::Running => InstanceState::Ready,
        ProcessState::Exited(code) => InstanceState::Exited(format!("exit code {code}")),
        ProcessState::Signaled(signal) => {
            InstanceState::Exited(format!("killed by signal {signal}"))
        }
        ProcessState::Other(what) => InstanceState::Other(what.clone()),
    };
    let mut extensions = vec![("pid".to_owned(), process.pid.to_string())];
    if let Some(index) = get(process, INDEX) {
        extensions.push((INDEX.to_owned(), index.to_owned()));
    }
    Instance {
        id: process.id.clone(),
        revision: get(process, REVISION).unwrap_or_default().to_owned(),
        address: process.port.map(|port| format!("127.0.0.1:{port}")),
        state,
        ready_for_ms: running
            .then(|| hoist_sdk::clock::now_ms().saturating_sub(process.started_at_ms)),
        extensions,
    }
}
