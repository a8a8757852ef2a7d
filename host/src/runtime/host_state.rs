//! Per-call store state: the sandboxed WASI context, the memory limiter, the
//! call's clock, captured logs and stderr, and the granted capabilities.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::docker::DockerClient;
use crate::capabilities::process::ProcessTable;

use super::output::{CapturedStream, OUTPUT_CAPACITY, PluginOutput};
/// Longest log line kept; longer ones are truncated.
pub const MAX_LOG_LINE: usize = 4 * 1024;
/// Log lines kept per call; later ones are counted and dropped.
pub const MAX_LOG_LINES: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub level: &'static str,
    pub message: String,
}

/// What the host lends one call.
#[derive(Clone, Default)]
pub struct Grants {
    pub processes: Option<ProcessTable>,
    pub docker: Option<DockerClient>,
}

pub struct HostState {
    pub(crate) plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: CallLimiter,
    pub(crate) now_ms: u64,
    pub(crate) logs: Vec<LogLine>,
    pub(crate) logs_dropped: u32,
    stdout: CapturedStream,
    stderr: CapturedStream,
    pub(crate) grants: Grants,
    /// Keeps the epoch ticker running for as long as this call's store lives.
    pub(crate) ticking: Option<super::engine::Ticking>,
}

impl HostState {
    pub fn new(plugin: Arc<str>, memory_limit: usize, now_ms: u64, grants: Grants) -> Self {
        let stdout = CapturedStream::new(OUTPUT_CAPACITY);
        let stderr = CapturedStream::new(OUTPUT_CAPACITY);
        let wasi = super::wasi::context(now_ms, &stdout, &stderr);
        Self {
            plugin,
            wasi,
            table: ResourceTable::new(),
            limiter: CallLimiter::new(memory_limit),
            now_ms,
            logs: Vec::new(),
            logs_dropped: 0,
            stdout,
            stderr,
            grants,
            ticking: None,
        }
    }

    /// What the call printed and logged so far.
    pub fn output(&self) -> PluginOutput {
        PluginOutput {
            stdout: self.stdout.text(),
            stderr: self.stderr.text(),
            logs: self.logs.clone(),
            logs_dropped: self.logs_dropped,
        }
    }

    pub(crate) fn table_mut(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    pub fn push_log(&mut self, level: &'static str, mut message: String) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.logs_dropped = self.logs_dropped.saturating_add(1);
            return;
        }
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" …(truncated)");
        }
        self.logs.push(LogLine { level, message });
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// `StoreLimits` that remembers a refused memory growth, so the host can
/// tell "out of memory" from any other trap.
pub struct CallLimiter {
    inner: StoreLimits,
    pub(crate) memory_refused: Option<usize>,
    pub(crate) memory_limit: usize,
}

impl CallLimiter {
    fn new(memory_limit: usize) -> Self {
        let inner = StoreLimitsBuilder::new()
            .memory_size(memory_limit)
            .instances(32)
            .tables(32)
            .memories(8)
            .table_elements(100_000)
            .build();
        Self { inner, memory_refused: None, memory_limit }
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.memory_refused = Some(desired);
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }
    fn tables(&self) -> usize {
        self.inner.tables()
    }
    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
