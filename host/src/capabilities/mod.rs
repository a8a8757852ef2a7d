//! Host capabilities a plugin imports. Each is one unit (wasmtime's
//! `WasiView`, Spin's factors): its host trait implementation, the state it
//! keeps for the runtime, the state it lends one call, and its
//! `add_to_linker`. Granting a capability means linking its unit for that
//! plugin, nothing more; the runtime links from [`UNITS`] and names none.

pub mod clock;
pub mod docker;
pub mod http;
pub mod log;
pub mod process;
mod unit;

pub use unit::{Capabilities, Granted, SERVED, UNITS, Unit, Worlds, link};
