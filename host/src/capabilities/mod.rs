//! Host capabilities a plugin imports. Each is one unit: its host trait
//! implementation and its per-call state; granting a capability means the
//! runtime links it for that plugin, nothing more.

pub mod clock;
pub mod docker;
mod docker_swarm;
mod docker_tasks;
pub mod log;
pub mod process;
mod process_token;
