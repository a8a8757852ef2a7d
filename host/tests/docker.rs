//! `hoist serve` end to end on the real Docker engine with `builtin:docker`
//! (no registry: the demo image is built locally in setup). Every test
//! deploys its own service and removes its containers at the end, also on
//! failure; an unreachable engine fails the tests, never skips them. The
//! Docker tier: `#[ignore]`d by a plain `cargo test`, run by `cargo xtask
//! test` or `cargo test -p hoist --test docker -- --ignored`.
//!
//! - `canary`: a bad canary is rolled back leaving only v1's containers; a
//!   `kill -9`ed control plane adopts containers by label; a missing image
//!   rolls back at once with the engine's reason.
//! - `blue_green`: the switch under continuous load fails no request.
//! - `killed`: a candidate container killed mid-rollout is recorded and
//!   replaced.
//! - `healed`: a container killed at rest is replaced on the engine's event;
//!   an OOM kill, a `docker kill` and an exit read apart in the heal records.
//! - `abort`: abort leaves no container of the candidate; v1 keeps serving.
//! - `engine_outage`: the engine unreachable mid-rollout (through a proxy,
//!   see `engine_outage.rs`) is reported and retried, and the rollout ends
//!   consistently once it is back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "docker/abort.rs"]
mod abort;
#[path = "docker/blue_green.rs"]
mod blue_green;
#[path = "docker/canary.rs"]
mod canary;
#[path = "docker/deploy.rs"]
mod deploy;
#[path = "docker/engine_outage.rs"]
mod engine_outage;
#[path = "docker/healed.rs"]
mod healed;
#[path = "docker/killed.rs"]
mod killed;
#[path = "docker/proxy.rs"]
mod proxy;
mod support;
