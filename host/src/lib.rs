//! Hoist: a deployment orchestrator whose strategies, policies and platform
//! adapters are sandboxed WebAssembly components.

pub mod api;
pub mod builtins;
pub mod capabilities;
pub mod catalog;
pub mod cli;
pub mod engine;
pub mod exits;
pub mod live;
pub mod names;
pub mod runtime;
pub mod simulate;
pub mod stack;
