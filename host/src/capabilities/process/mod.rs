//! `hoist:plugin/process`: local processes for the process platform.
//!
//! The unit keeps one [`ProcessTable`] for the runtime (`table.rs`) and
//! lends it to the calls of plugins granted `process`; a durable table's
//! children carry a token a restarted host adopts them by (`token.rs`); an
//! exit is told to listeners at once through a pidfd (`exits.rs`).

mod exits;
mod table;
mod token;

use std::time::Duration;

use wasmtime::component::HasSelf;

use crate::runtime::bindings::platform::hoist::plugin::process::{
    self as wit, Host, ProcessError, ProcessInfo, SpawnRequest,
};
use crate::runtime::host_state::HostState;
use crate::runtime::kinds::Capability;

pub use exits::ExitListener;
pub use table::ProcessTable;

use super::{Unit, Worlds};

pub(super) const UNIT: Unit = Unit {
    capability: Capability::Process,
    worlds: Worlds::Platform,
    link: |linker| wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s),
    lend: |runtime, _, call| call.processes = Some(runtime.processes.clone()),
};

impl Host for HostState {
    async fn spawn(&mut self, request: SpawnRequest) -> Result<ProcessInfo, ProcessError> {
        match &self.granted.processes {
            Some(table) => table.spawn(request),
            None => Err(not_granted()),
        }
    }

    async fn stop(&mut self, id: String, grace_ms: u32) -> Result<(), ProcessError> {
        match self.granted.processes.clone() {
            Some(table) => table.stop(&id, Duration::from_millis(u64::from(grace_ms))).await,
            None => Err(not_granted()),
        }
    }

    async fn find(&mut self, selector: Vec<(String, String)>) -> Vec<ProcessInfo> {
        match &self.granted.processes {
            Some(table) => table.find(&selector),
            None => Vec::new(),
        }
    }
}

fn not_granted() -> ProcessError {
    ProcessError::Other("the `process` capability is not granted to this plugin".into())
}
