//! Plugin kinds and capabilities are the registry's vocabulary; the runtime
//! adds the mapping from WIT interface names.

pub use hoist_registry::{Capability, PluginKind};

/// The capability a `hoist:plugin/<interface>` import stands for.
pub fn capability_of_interface(interface: &str) -> Option<Capability> {
    Capability::ALL.into_iter().find(|c| c.as_str() == interface)
}

/// Whether calls of `kind` run on an async store under a wall-clock
/// timeout: they wait on the outside world through their capabilities.
pub fn runs_async(kind: PluginKind) -> bool {
    matches!(kind, PluginKind::Platform | PluginKind::MetricsProvider)
}
