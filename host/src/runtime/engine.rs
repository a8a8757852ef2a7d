//! The one wasmtime `Engine` every plugin runs in, and the epoch ticker that
//! gives each call its CPU deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. A call's time limit is enforced with this
/// granularity (plus scheduling noise).
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The largest linear memory any plugin may be granted (the registry caps
/// `limits.memory` at the same figure).
pub const MAX_PLUGIN_MEMORY: usize = 1 << 30;

/// Bytes of each pooled linear memory reset in place rather than returned
/// to the kernel between calls.
const KEEP_RESIDENT: usize = 4 << 20;

/// How a call's time limit is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metering {
    /// Live: epoch deadlines (wall time), plus a tokio timeout for calls
    /// that wait on the outside world.
    Epochs,
    /// `hoist simulate`: a fuel budget proportional to the time limit, so a
    /// call that runs out does so at the same instruction on any machine
    /// and the same scenario always prints the same bytes.
    Fuel,
}

/// Fuel per millisecond of a plugin's time limit under [`Metering::Fuel`].
/// One unit is roughly one wasm instruction; this machine runs 1–3 of them
/// per nanosecond, so a budget is one to three times what the live limit
/// allows — a plugin that fits its limit live also fits it in simulation.
pub const FUEL_PER_MS: u64 = 1_000_000;

/// The fuel budget standing in for `limit` under [`Metering::Fuel`].
pub fn fuel_for(limit: Duration) -> u64 {
    u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1).saturating_mul(FUEL_PER_MS)
}

/// Builds the engine: Cranelift, pooling allocator, epoch interruption (or
/// fuel), and no component-model concurrency (it makes every call 2–4×
/// slower and no Hoist world needs it).
pub fn build_engine(metering: Metering) -> anyhow::Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(1000)
        .total_core_instances(8000)
        .total_memories(1000)
        .total_tables(4000)
        .total_stacks(256)
        .max_core_instances_per_component(16)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_memory_size(MAX_PLUGIN_MEMORY)
        // A call touches a few pages of stack, data and heap. Resetting just
        // those dirty pages with memcpy (found with Linux's PAGEMAP_SCAN)
        // keeps them resident, so the next call takes no page faults and no
        // madvise/TLB flush: this halves the cost of a fresh instance.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(64 << 10);

    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .epoch_interruption(metering == Metering::Epochs)
        .consume_fuel(metering == Metering::Fuel)
        .concurrency_support(false)
        .wasm_component_model(true)
        .max_wasm_stack(1 << 20)
        .async_stack_size(2 << 20);
    Ok(Engine::new(&config)?)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a background thread
/// until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("hoist-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Epoch ticks that cover `limit`, rounded up, plus one for the tick in
/// progress when the call starts.
pub fn deadline_ticks(limit: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos().max(1);
    (limit.as_nanos().div_ceil(tick) as u64).saturating_add(1)
}
