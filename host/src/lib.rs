//! Hoist: a deployment orchestrator whose strategies, policies and platform
//! adapters are sandboxed WebAssembly components.

pub mod capabilities;
pub mod runtime;
