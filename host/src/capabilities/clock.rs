//! `hoist:plugin/clock`: the call's "now" — virtual time in simulation, so
//! a plugin that reads the clock still decides deterministically.

use crate::runtime::bindings::base::hoist::plugin::clock::Host;
use crate::runtime::host_state::HostState;

impl Host for HostState {
    fn now_ms(&mut self) -> u64 {
        self.now_ms
    }
}
