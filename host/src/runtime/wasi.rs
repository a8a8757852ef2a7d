//! The WASI a plugin sees: no files, environment, arguments or network;
//! stdout and stderr captured per call; clocks stopped at the call's "now";
//! randomness seeded, so a `HashMap` iterates alike on every run; and
//! sleeps that return at once, because the call's clock never moves and a
//! plugin waiting on the host's wall clock would leak real time into a
//! decision (and hold a thread no epoch can interrupt).

use std::time::Duration;

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};
use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

use super::host_state::HostState;
use super::output::CapturedStream;

/// The `wasi:clocks/monotonic-clock` version wasmtime-wasi serves; guests
/// built against any 0.2.x import it under this name.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// A call's WASI context and its captured streams.
pub fn context(now_ms: u64, stdout: &CapturedStream, stderr: &CapturedStream) -> WasiCtx {
    WasiCtxBuilder::new()
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .wall_clock(FixedClock(now_ms))
        .monotonic_clock(FixedClock(now_ms))
        .secure_random(Deterministic::new(SEED.to_vec()))
        .insecure_random(Deterministic::new(SEED.to_vec()))
        .insecure_random_seed(0x68_6f69_7374)
        .build()
}

const SEED: [u8; 32] = *b"hoist: the same bytes every call";

/// Replaces the clock's `subscribe-*` with pollables that are ready at once.
/// Call after linking wasmtime-wasi.
pub fn add_frozen_sleep(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap("subscribe-duration", |mut store, (_ns,): (u64,)| Ok((ready_now(store.data_mut())?,)))?;
    clock.func_wrap("subscribe-instant", |mut store, (_at,): (u64,)| Ok((ready_now(store.data_mut())?,)))?;
    linker.allow_shadowing(false);
    Ok(())
}

fn ready_now(state: &mut HostState) -> wasmtime::Result<Resource<DynPollable>> {
    let table = state.table_mut();
    let ready = table.push(ReadyNow)?;
    subscribe(table, ready)
}

struct ReadyNow;

#[wasmtime_wasi::async_trait]
impl Pollable for ReadyNow {
    async fn ready(&mut self) {}
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
