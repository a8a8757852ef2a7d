//! Labels that tie processes to services and revisions, and how a process
//! reads as an instance.

use hoist_sdk::process::{ProcessInfo, ProcessState};
use hoist_sdk::types::{Instance, InstanceState};

pub use hoist_sdk::platform::labels::{INDEX, REVISION, selector};

/// The value of label `key`.
pub fn get<'a>(process: &'a ProcessInfo, key: &str) -> Option<&'a str> {
    hoist_sdk::platform::labels::get(&process.labels, key)
}

/// The instance index from `hoist.index` (unlabelled processes sort last).
pub fn index(process: &ProcessInfo) -> u32 {
    hoist_sdk::platform::labels::index(&process.labels)
}

/// How the host sees a process.
pub fn to_instance(process: &ProcessInfo) -> Instance {
    let running = process.state == ProcessState::Running;
    let state = match &process.state {
        ProcessState::Running => InstanceState::Ready,
        ProcessState::Exited(code) => InstanceState::Exited(format!("exit code {code}")),
        ProcessState::Signaled(signal) => InstanceState::Exited(hoist_sdk::process::killed_by(*signal)),
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
        ready_for_ms: running.then(|| hoist_sdk::clock::now_ms().saturating_sub(process.started_at_ms)),
        extensions,
    }
}
