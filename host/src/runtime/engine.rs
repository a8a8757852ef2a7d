//! The one wasmtime `Engine` every plugin runs in, and the epoch ticker that
//! gives each call its CPU deadline (and sleeps while no call runs).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, Thread};
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

/// Advances the engine's epoch every [`EPOCH_TICK`] on a background thread,
/// but only while at least one call is in flight: at rest the thread is
/// parked and costs nothing. Stopped when dropped.
pub struct EpochTicker {
    epochs: Epochs,
    thread: Option<JoinHandle<()>>,
}

/// A handle calls use to keep the ticker running while they execute.
#[derive(Clone)]
pub struct Epochs {
    shared: Arc<TickerShared>,
}

struct TickerShared {
    in_flight: AtomicUsize,
    stop: AtomicBool,
    thread: OnceLock<Thread>,
}

/// Keeps the epoch advancing until dropped.
pub struct Ticking {
    shared: Arc<TickerShared>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> std::io::Result<Self> {
        let shared = Arc::new(TickerShared {
            in_flight: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            thread: OnceLock::new(),
        });
        let engine = engine.clone();
        let state = shared.clone();
        let thread = std::thread::Builder::new().name("hoist-epoch".into()).spawn(move || {
            while !state.stop.load(Ordering::Acquire) {
                if state.in_flight.load(Ordering::Acquire) == 0 {
                    // `park` returns at once if `enter` unparked us after
                    // the check, so no call can start unticked.
                    std::thread::park();
                    continue;
                }
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        let _ = shared.thread.set(thread.thread().clone());
        Ok(Self { epochs: Epochs { shared }, thread: Some(thread) })
    }

    pub fn epochs(&self) -> &Epochs {
        &self.epochs
    }
}

impl Epochs {
    /// Marks a call in flight; the ticker runs until the guard drops.
    pub fn enter(&self) -> Ticking {
        if self.shared.in_flight.fetch_add(1, Ordering::AcqRel) == 0
            && let Some(thread) = self.shared.thread.get()
        {
            thread.unpark();
        }
        Ticking { shared: self.shared.clone() }
    }
}

impl Drop for Ticking {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.epochs.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
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
