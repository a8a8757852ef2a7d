//! The control plane's HTTP/JSON API (`hoist serve`) and its client (the
//! CLI verbs). Loopback only; mutating calls need the bearer token.

pub mod client;
pub mod server;
mod stacks;
pub mod wire;
