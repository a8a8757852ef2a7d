//! The control plane's HTTP/JSON API (`hoist serve`) and its client (the
//! CLI verbs). Loopback only; every call needs the bearer token unless
//! `--public-reads` opens the read calls (redacted).

pub mod client;
mod guard;
pub mod listen;
pub mod server;
mod stacks;
pub mod wire;
