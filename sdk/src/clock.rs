//! The rollout's clock (virtual in `hoist simulate`).
//!
//! Natively it reads the per-thread clock set by
//! [`testing::set_now_ms`](crate::testing::set_now_ms).

use crate::types::TimestampMs;

/// The time the host considers "now" for this call, in Unix milliseconds.
pub fn now_ms() -> TimestampMs {
    imp::now_ms()
}

#[cfg(target_family = "wasm")]
use crate::bindings::base::hoist::plugin::clock as imp;
#[cfg(not(target_family = "wasm"))]
use crate::testing::fake_host as imp;
