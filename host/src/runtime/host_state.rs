//! Per-call store state: the sandboxed WASI context, the memory limiter, the
//! call's clock, captured logs and stderr, and what the granted capability
//! units lend the call.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::Granted;
use crate::capabilities::log::LogBook;

use super::output::{CapturedStream, OUTPUT_CAPACITY, PluginOutput};

pub struct HostState {
    pub(crate) plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: CallLimiter,
    pub(crate) now_ms: u64,
    /// When the call's store was made: host calls end with the call's time.
    pub(crate) started: std::time::Instant,
    pub(crate) log: LogBook,
    stdout: CapturedStream,
    stderr: CapturedStream,
    pub(crate) granted: Granted,
    /// Keeps the epoch ticker running for as long as this call's store lives.
    pub(crate) ticking: Option<super::engine::Ticking>,
}

impl HostState {
    pub fn new(plugin: Arc<str>, memory_limit: usize, now_ms: u64, granted: Granted) -> Self {
        let stdout = CapturedStream::new(OUTPUT_CAPACITY);
        let stderr = CapturedStream::new(OUTPUT_CAPACITY);
        let wasi = super::wasi::context(now_ms, &stdout, &stderr);
        Self {
            plugin,
            wasi,
            table: ResourceTable::new(),
            limiter: CallLimiter::new(memory_limit),
            now_ms,
            started: std::time::Instant::now(),
            log: LogBook::default(),
            stdout,
            stderr,
            granted,
            ticking: None,
        }
    }

    /// What the call printed and logged so far.
    pub fn output(&self) -> PluginOutput {
        PluginOutput {
            stdout: self.stdout.text(),
            stderr: self.stderr.text(),
            logs: self.log.lines.clone(),
            logs_dropped: self.log.dropped,
        }
    }

    pub(crate) fn table_mut(&mut self) -> &mut ResourceTable {
        &mut self.table
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
