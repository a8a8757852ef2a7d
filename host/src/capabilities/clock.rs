//! `hoist:plugin/clock`: the call's "now" — virtual time in simulation, so
//! a plugin that reads the clock still decides deterministically. Always
//! granted.

use wasmtime::component::HasSelf;

use crate::runtime::bindings::base::hoist::plugin::clock::{self as wit, Host};
use crate::runtime::host_state::HostState;
use crate::runtime::kinds::Capability;

use super::{Unit, Worlds};

pub(super) const UNIT: Unit = Unit {
    capability: Capability::Clock,
    worlds: Worlds::Every,
    link: |linker| wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s),
    // It reads the store's "now", which WASI's clocks read too.
    lend: |_, _, _| {},
};

impl Host for HostState {
    fn now_ms(&mut self) -> u64 {
        self.now_ms
    }
}
