//! Host capabilities a plugin may import, and the kinds of plugins.

use std::fmt;
use std::str::FromStr;

/// The WIT package every capability interface lives in.
pub const WIT_PACKAGE: &str = "hoist:plugin";

/// A host capability: one WIT interface of `hoist:plugin` that a plugin may
/// import. `log` and `clock` are ambient (always granted); the others must
/// be granted in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Structured logging (`hoist:plugin/log`). Always granted.
    Log,
    /// Wall-clock and monotonic time (`hoist:plugin/clock`). Always granted.
    Clock,
    /// Spawn and stop local processes (`hoist:plugin/process`).
    Process,
    /// A subset of the Docker Engine API (`hoist:plugin/docker`).
    Docker,
    /// Outgoing HTTP to the hosts in `allow-hosts` (`hoist:plugin/http`).
    Http,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 5] =
        [Capability::Log, Capability::Clock, Capability::Process, Capability::Docker, Capability::Http];

    /// The name used in the registry's `capabilities` lists.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Log => "log",
            Capability::Clock => "clock",
            Capability::Process => "process",
            Capability::Docker => "docker",
            Capability::Http => "http",
        }
    }

    /// The unversioned WIT interface name, e.g. `hoist:plugin/docker`.
    pub fn interface(self) -> String {
        format!("{WIT_PACKAGE}/{}", self.as_str())
    }

    /// Whether every plugin gets this capability without a grant.
    pub fn is_ambient(self) -> bool {
        matches!(self, Capability::Log | Capability::Clock)
    }

    /// The capability a component import names, such as
    /// `hoist:plugin/docker@0.1.0` or `hoist:plugin/docker`; `None` for any
    /// other import (including `hoist:plugin/types`).
    pub fn from_import(import: &str) -> Option<Capability> {
        let rest = import.strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?;
        let interface = rest.split('@').next().unwrap_or(rest);
        interface.parse().ok()
    }
}

impl FromStr for Capability {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Capability::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            format!("unknown capability {s:?}; expected one of: {}", join(Capability::ALL.map(Capability::as_str)))
        })
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a plugin is: which WIT world it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    /// A rollout strategy (`strategy-plugin` world).
    Strategy,
    /// A health/rollback policy (`health-policy-plugin` world).
    HealthPolicy,
    /// An admission policy (`admission-policy-plugin` world).
    AdmissionPolicy,
    /// A platform adapter (`platform-plugin` world).
    Platform,
    /// A metric provider (`metrics-provider-plugin` world).
    MetricsProvider,
}

impl PluginKind {
    /// Every kind, in declaration order.
    pub const ALL: [PluginKind; 5] = [
        PluginKind::Strategy,
        PluginKind::HealthPolicy,
        PluginKind::AdmissionPolicy,
        PluginKind::Platform,
        PluginKind::MetricsProvider,
    ];

    /// The name used in the registry's `kind` field.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Strategy => "strategy",
            PluginKind::HealthPolicy => "health-policy",
            PluginKind::AdmissionPolicy => "admission-policy",
            PluginKind::Platform => "platform",
            PluginKind::MetricsProvider => "metrics-provider",
        }
    }

    /// The WIT world a plugin of this kind implements.
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::Strategy => "strategy-plugin",
            PluginKind::HealthPolicy => "health-policy-plugin",
            PluginKind::AdmissionPolicy => "admission-policy-plugin",
            PluginKind::Platform => "platform-plugin",
            PluginKind::MetricsProvider => "metrics-provider-plugin",
        }
    }

    /// Whether the world of this kind can import `capability` at all. Only
    /// platform adapters have effects, and metric providers reach their
    /// metrics system over `http`; strategies and policies are pure.
    pub fn can_import(self, capability: Capability) -> bool {
        capability.is_ambient()
            || self == PluginKind::Platform
            || (self == PluginKind::MetricsProvider && capability == Capability::Http)
    }
}

impl PluginKind {
    /// What the world of this kind may import, for messages.
    pub fn importable(self) -> &'static str {
        match self {
            PluginKind::Platform => "log, clock and any granted capability",
            PluginKind::MetricsProvider => "log, clock and http",
            _ => "log and clock",
        }
    }
}

impl FromStr for PluginKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        PluginKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!("unknown plugin kind {s:?}; expected one of: {}", join(PluginKind::ALL.map(PluginKind::as_str)))
        })
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn join<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> String {
    items.into_iter().map(|s| s.as_ref().to_owned()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_and_interfaces() {
        assert_eq!(Capability::Docker.interface(), "hoist:plugin/docker");
        assert_eq!(Capability::from_import("hoist:plugin/process@0.1.0"), Some(Capability::Process));
        assert_eq!(Capability::from_import("hoist:plugin/types@0.1.0"), None);
        assert_eq!(Capability::from_import("wasi:http/outgoing-handler"), None);
        assert!(Capability::Log.is_ambient() && !Capability::Http.is_ambient());
        assert!("net".parse::<Capability>().unwrap_err().contains("process, docker, http"));
    }

    #[test]
    fn only_platforms_import_effects() {
        assert!(PluginKind::Platform.can_import(Capability::Docker));
        assert!(!PluginKind::Strategy.can_import(Capability::Http));
        assert!(PluginKind::HealthPolicy.can_import(Capability::Clock));
        assert_eq!("health-policy".parse(), Ok(PluginKind::HealthPolicy));
        assert!(PluginKind::MetricsProvider.can_import(Capability::Http));
        assert!(!PluginKind::MetricsProvider.can_import(Capability::Process));
    }
}
