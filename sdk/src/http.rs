//! Outgoing HTTP to allow-listed hosts, for plugins granted
//! `capabilities = ["http"]` with the hosts in `allow-hosts` (platform
//! plugins). Plain http only; a URL outside the list, a redirect out of it
//! or a name resolving to this machine is `denied`; bodies are capped
//! (1 MiB out, 4 MiB in) and a request ends with its call at the latest.
//! Credentials the registry lists for a host are added by the host: the
//! plugin never sees them.
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
