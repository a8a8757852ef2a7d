//! The one harness of Hoist's end-to-end tests (`host/tests/*.rs`): each
//! e2e file says `mod support;` and uses the pieces it needs. One concern
//! per file; every helper fails the test (never skips it) when what it
//! needs — a Docker engine, a free port, a started server — is missing.

// Each e2e file is its own crate and uses only part of the harness.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod containers;
pub mod engine;
pub mod guards;
pub mod http;
pub mod images;
pub mod load;
pub mod plane;
pub mod ports;
pub mod procs;
pub mod prometheus;
pub mod serve_image;
pub mod stacks;
pub mod swarm;
pub mod wait;
pub mod webhook;
