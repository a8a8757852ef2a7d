//! Per-call store state: the sandboxed WASI context, the memory limiter, the
//! call's clock, captured logs and stderr, and the granted capabilities.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::capabilities::docker::DockerClient;
use crate::capabilities::process::ProcessTable;

/// Bytes of the guest's stderr kept for error reports (a panic message).
const STDERR_CAPACITY: usize = 8 * 1024;
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
    stderr: MemoryOutputPipe,
    pub(crate) grants: Grants,
}

impl HostState {
    pub fn new(plugin: Arc<str>, memory_limit: usize, now_ms: u64, grants: Grants) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        // No preopens, no environment, no arguments, no network; clocks read
        // the call's "now" so a plugin that asks WASI for the time still
        // decides deterministically.
        let wasi = WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .wall_clock(FixedClock(now_ms))
            .monotonic_clock(FixedClock(now_ms))
            .build();
        Self {
            plugin,
            wasi,
            table: ResourceTable::new(),
            limiter: CallLimiter::new(memory_limit),
            now_ms,
            logs: Vec::new(),
            logs_dropped: 0,
            stderr,
            grants,
        }
    }

    /// The last lines the guest wrote to stderr (a Rust panic message lands
    /// here), trimmed.
    pub fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        let start = text.len().saturating_sub(1024);
        let start = (start..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
        text[start..].to_string()
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

/// A clock stopped at the call's "now".
struct FixedClock(u64);

impl HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_millis(self.0)
    }
}

impl HostMonotonicClock for FixedClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        self.0.saturating_mul(1_000_000)
    }
}
