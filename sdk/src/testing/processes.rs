//! An in-memory process table standing in for the `process` capability.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use crate::process::{ProcessError, ProcessInfo, ProcessState, SpawnRequest};

#[derive(Debug, Default)]
struct Table {
    next_id: u32,
    next_port: u16,
    processes: BTreeMap<String, Fake>,
    stopped: Vec<(String, u32)>,
    missing: BTreeSet<String>,
    limit: Option<usize>,
}

#[derive(Debug, Clone)]
struct Fake {
    order: u32,
    info: ProcessInfo,
    request: SpawnRequest,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// A handle on this thread's fake process table, which
/// [`process::spawn`](crate::process::spawn), `stop` and `find` use natively.
///
/// Spawned processes are `running`, get ids `p1`, `p2`, ..., pids from 1000
/// and ports from 20000 (when `assign-port` is set), and start at the
/// current [`clock`](crate::clock::now_ms). A stopped process disappears
/// (the host reaps it); an exited one stays until stopped.
#[derive(Debug, Clone, Copy)]
pub struct FakeProcesses {
    _private: (),
}

impl FakeProcesses {
    /// Empty this thread's table and return a handle on it.
    pub fn new() -> Self {
        TABLE.with(|t| *t.borrow_mut() = Table::default());
        Self::current()
    }

    /// A handle on this thread's table as it is.
    pub fn current() -> Self {
        Self { _private: () }
    }

    fn with<R>(self, f: impl FnOnce(&mut Table) -> R) -> R {
        TABLE.with(|t| f(&mut t.borrow_mut()))
    }

    /// The `process.spawn` call.
    pub fn spawn(self, request: &SpawnRequest) -> Result<ProcessInfo, ProcessError> {
        let now = crate::clock::now_ms();
        self.with(|t| {
            if t.missing.contains(&request.program) {
                return Err(ProcessError::NotFound(request.program.clone()));
            }
            if t.limit.is_some_and(|limit| t.processes.len() >= limit) {
                return Err(ProcessError::Limit("too many processes".to_owned()));
            }
            t.next_id += 1;
            let id = format!("p{}", t.next_id);
            let port = request.assign_port.then(|| {
                let port = 20000u16.saturating_add(t.next_port);
                t.next_port = t.next_port.saturating_add(1);
                port
            });
            let info = ProcessInfo {
                id: id.clone(),
                pid: 999 + t.next_id,
                labels: request.labels.clone(),
                port,
                state: ProcessState::Running,
                started_at_ms: now,
            };
            t.processes.insert(id, Fake { order: t.next_id, info: info.clone(), request: request.clone() });
            Ok(info)
        })
    }

    /// The `process.stop` call: the process is removed; stopping an unknown
    /// id is `no-such-process`.
    pub fn stop(self, id: &str, grace_ms: u32) -> Result<(), ProcessError> {
        self.with(|t| {
            if t.processes.remove(id).is_none() {
                return Err(ProcessError::NoSuchProcess(id.to_owned()));
            }
            t.stopped.push((id.to_owned(), grace_ms));
            Ok(())
        })
    }

    /// The `process.find` call, in spawn order.
    pub fn find(self, selector: &[(String, String)]) -> Vec<ProcessInfo> {
        self.with(|t| {
            let mut found: Vec<&Fake> =
                t.processes.values().filter(|p| selector.iter().all(|pair| p.info.labels.contains(pair))).collect();
            found.sort_by_key(|p| p.order);
            found.into_iter().map(|p| p.info.clone()).collect()
        })
    }

    /// Make process `id` exit with `code`. False if there is no such process.
    pub fn exit(self, id: &str, code: i32) -> bool {
        self.set_state(id, ProcessState::Exited(code))
    }

    /// Make process `id` die of `signal`.
    pub fn kill(self, id: &str, signal: i32) -> bool {
        self.set_state(id, ProcessState::Signaled(signal))
    }

    /// Set any state on process `id`.
    pub fn set_state(self, id: &str, state: ProcessState) -> bool {
        self.with(|t| match t.processes.get_mut(id) {
            Some(p) => {
                p.info.state = state;
                true
            }
            None => false,
        })
    }

    /// Spawning `program` fails with `not-found` from now on.
    pub fn missing_program(self, program: &str) {
        self.with(|t| {
            t.missing.insert(program.to_owned());
        });
    }

    /// Spawning fails with `limit` once `max` processes exist.
    pub fn limit(self, max: usize) {
        self.with(|t| t.limit = Some(max));
    }

    /// Every process in the table, in spawn order.
    pub fn all(self) -> Vec<ProcessInfo> {
        self.find(&[])
    }

    /// The request process `id` was spawned with.
    pub fn request(self, id: &str) -> Option<SpawnRequest> {
        self.with(|t| t.processes.get(id).map(|p| p.request.clone()))
    }

    /// The `(id, grace-ms)` of every stop call that found its process, in order.
    pub fn stopped(self) -> Vec<(String, u32)> {
        self.with(|t| t.stopped.clone())
    }

    /// How many processes are `running`.
    pub fn running(self) -> usize {
        self.with(|t| t.processes.values().filter(|p| p.info.state == ProcessState::Running).count())
    }
}

impl Default for FakeProcesses {
    fn default() -> Self {
        Self::new()
    }
}
