//! The table of capability units, and the state they keep for the runtime
//! and lend each call.

use wasmtime::component::Linker;

use crate::runtime::host_state::HostState;
use crate::runtime::kinds::{Capability, PluginKind};
use crate::runtime::plugin::PluginSpec;

use super::docker::DockerClient;
use super::process::ProcessTable;

/// One capability as the runtime sees it.
pub struct Unit {
    pub capability: Capability,
    /// The worlds that can import it.
    pub worlds: Worlds,
    /// Adds its host functions to a plugin's linker.
    pub link: fn(&mut Linker<HostState>) -> wasmtime::Result<()>,
    /// Lends a granted plugin's calls the runtime's state of this unit and
    /// what its registry entry says (e.g. `allow-hosts`).
    pub lend: fn(&Capabilities, &PluginSpec, &mut Granted),
}

/// Which plugin worlds import a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Worlds {
    /// Every world (the pure ones too).
    Every,
    /// Only the platform world, whose calls may wait on the outside world.
    Platform,
    /// The worlds that reach outside through granted effects: platforms
    /// (and metric providers); never strategies or policies.
    Effects,
}

impl Worlds {
    fn admit(self, kind: PluginKind) -> bool {
        match self {
            Worlds::Every => true,
            Worlds::Platform => kind == PluginKind::Platform,
            Worlds::Effects => matches!(kind, PluginKind::Platform | PluginKind::MetricsProvider),
        }
    }
}

/// Every capability this host implements, in linking order.
pub const UNITS: [Unit; 5] =
    [super::log::UNIT, super::clock::UNIT, super::process::UNIT, super::docker::UNIT, super::http::UNIT];

/// The capabilities this host serves; an import of any other is refused at load.
pub const SERVED: [Capability; UNITS.len()] = served();

const fn served() -> [Capability; UNITS.len()] {
    let mut out = [Capability::Log; UNITS.len()];
    let mut i = 0;
    while i < UNITS.len() {
        out[i] = UNITS[i].capability;
        i += 1;
    }
    out
}

/// Links the units a plugin of `kind` gets — the ambient ones always, the
/// others when `granted` and its world imports them — and returns what
/// they lend its calls.
pub fn link(linker: &mut Linker<HostState>, spec: &PluginSpec, runtime: &Capabilities) -> wasmtime::Result<Granted> {
    let mut lent = Granted::default();
    for unit in linked(spec.kind, &spec.capabilities) {
        (unit.link)(linker)?;
        (unit.lend)(runtime, spec, &mut lent);
    }
    Ok(lent)
}

fn linked(kind: PluginKind, granted: &[Capability]) -> impl Iterator<Item = &'static Unit> + '_ {
    let all: &'static [Unit] = &UNITS;
    all.iter().filter(move |u| u.worlds.admit(kind) && (u.capability.is_ambient() || granted.contains(&u.capability)))
}

/// What the units keep for the runtime, across plugins and calls: the
/// processes spawned through `process`, the engine client of `docker`.
#[derive(Clone, Default)]
pub struct Capabilities {
    pub(super) processes: ProcessTable,
    pub(super) docker: DockerClient,
}

impl Capabilities {
    /// A process table in memory and the local Docker engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// A durable process table under `state` (see [`ProcessTable::durable`])
    /// and the local Docker engine. Give it to the runtime before it loads
    /// plugins.
    pub fn durable(state: &std::path::Path) -> anyhow::Result<Self> {
        Ok(Self { processes: ProcessTable::durable(state).map_err(anyhow::Error::msg)?, ..Self::default() })
    }

    /// The processes spawned through the `process` capability.
    pub fn processes(&self) -> &ProcessTable {
        &self.processes
    }

    /// The engine the `docker` capability talks to.
    pub fn docker(&self) -> &DockerClient {
        &self.docker
    }
}

/// What one plugin's calls are lent: the state of each unit it was granted,
/// `None` for the others.
#[derive(Clone, Default)]
pub struct Granted {
    pub(super) processes: Option<ProcessTable>,
    pub(super) docker: Option<DockerClient>,
    pub(super) http: Option<std::sync::Arc<super::http::Access>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_log_clock_process_docker_and_http() {
        assert_eq!(
            SERVED,
            [Capability::Log, Capability::Clock, Capability::Process, Capability::Docker, Capability::Http]
        );
    }

    #[test]
    fn only_the_ambient_units_reach_the_pure_worlds() {
        let linked = |kind, granted: &[Capability]| linked(kind, granted).map(|u| u.capability).collect::<Vec<_>>();
        assert_eq!(linked(PluginKind::Strategy, &[Capability::Process]), [Capability::Log, Capability::Clock]);
        assert_eq!(
            linked(PluginKind::Platform, &[Capability::Docker]),
            [Capability::Log, Capability::Clock, Capability::Docker]
        );
        assert_eq!(linked(PluginKind::HealthPolicy, &[Capability::Http]), [Capability::Log, Capability::Clock]);
        assert_eq!(
            linked(PluginKind::Platform, &[Capability::Http]),
            [Capability::Log, Capability::Clock, Capability::Http]
        );
        assert_eq!(
            linked(PluginKind::MetricsProvider, &[Capability::Http, Capability::Docker]),
            [Capability::Log, Capability::Clock, Capability::Http]
        );
    }
}
