//! The live shell around the rollout core (`engine/`): the real platform
//! (wasm platform plugins behind Hoist's probes), the router as traffic and
//! metrics, the driver that steps rollouts in real time, and the wiring of
//! it all into one control plane (`ControlPlane::run`).

pub mod changes;
pub mod control_plane;
pub mod driver;
pub mod notify;
pub mod plugin_platform;
pub mod probed_platform;
pub mod router_traffic;

pub use control_plane::{Config, ControlPlane};
