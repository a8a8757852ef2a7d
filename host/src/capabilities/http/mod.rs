//! `hoist:plugin/http`: outgoing HTTP for plugins granted
//! `capabilities = ["http"]`, to the hosts of their `allow-hosts` only.
//!
//! `allow.rs` decides which URLs and addresses a plugin may reach,
//! `send.rs` makes one bounded request (redirects checked hop by hop),
//! `secret.rs` adds the registry's credentials, `limits.rs` holds the caps.
//! Plain http only: this build has no TLS stack.

mod allow;
mod limits;
mod secret;
mod send;

use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use wasmtime::component::HasSelf;

use hoist_registry::Credential;

use crate::runtime::bindings::platform::hoist::plugin::http::{self as wit, Host, HttpError, Request, Response};
use crate::runtime::host_state::HostState;
use crate::runtime::kinds::Capability;

pub use allow::{AllowList, Target};

use super::{Unit, Worlds};

pub(super) const UNIT: Unit = Unit {
    capability: Capability::Http,
    worlds: Worlds::Effects,
    link: |linker| wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s),
    lend: |_, spec, call| {
        call.http = Some(Arc::new(Access {
            plugin: spec.name.clone(),
            allow: AllowList::new(&spec.http.allow_hosts),
            credentials: spec.http.credentials.clone(),
            call_limit: spec.limits.time,
        }))
    },
};

/// What the registry says about one plugin's `http`: its `allow-hosts`
/// and where its credentials are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpGrant {
    pub allow_hosts: Vec<String>,
    pub credentials: Vec<Credential>,
}

/// What a granted plugin's calls are lent.
#[derive(Debug)]
pub struct Access {
    plugin: String,
    allow: AllowList,
    credentials: Vec<Credential>,
    /// The plugin's time per call: no request outlives its call.
    call_limit: Duration,
}

impl Access {
    /// The headers the registry's credentials add to a request allowed by
    /// allow-list entry `entry` (only that entry's).
    fn credentials_for(&self, entry: &str) -> Result<Vec<(HeaderName, HeaderValue)>, HttpError> {
        self.credentials.iter().filter(|c| c.host == entry).map(|c| secret::header(&self.plugin, c)).collect()
    }
}

impl Host for HostState {
    async fn send(&mut self, request: Request) -> Result<Response, HttpError> {
        let Some(access) = self.granted.http.clone() else {
            return Err(HttpError::Denied(format!(
                "plugin `{}` is not granted `http`; add \"http\" to its `capabilities` and the hosts to `allow-hosts`",
                self.plugin
            )));
        };
        // A tenth of the call is left to the plugin to handle the outcome.
        let call_ends = tokio::time::Instant::from_std(self.started + access.call_limit * 9 / 10);
        let deadline = send::deadline(request.timeout_ms, call_ends);
        send::send(&access, request, deadline).await
    }
}
