//! Outgoing HTTP to allow-listed hosts, for plugins granted
//! `capabilities = ["http"]` (not served by the host in this release).
//!
//! Natively, requests go to the handler set with
//! [`testing::set_http_handler`](crate::testing::set_http_handler).

pub use crate::bindings::platform::hoist::plugin::http::{HttpError, Request, Response};

/// Send `request` and wait for the whole response.
pub fn send(request: &Request) -> Result<Response, HttpError> {
    imp::send(request)
}

#[cfg(target_family = "wasm")]
use crate::bindings::platform::hoist::plugin::http as imp;
#[cfg(not(target_family = "wasm"))]
use crate::testing::fake_host as imp;
