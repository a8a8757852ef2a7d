//! The services a stack service depends on, as its revision spec names
//! them (`hoist.dependency` extensions, JSON `{"service", "port",
//! "router"}`), and the environment variables a platform gives an instance
//! to reach each: `HOIST_<NAME>_HOST`, `HOIST_<NAME>_PORT` and
//! `HOIST_<NAME>_ADDR` (`host:port`), `<NAME>` upper-cased with `-` as `_`.
//! On Docker the host is the service's name on the stack network; on local
//! processes, its front door when it has one, else a running instance.

use serde::Deserialize;

use super::RevisionSpec;

/// One dependency of the service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Dependency {
    pub service: String,
    /// The port it listens on inside its instances.
    #[serde(default)]
    pub port: Option<u16>,
    /// Its front door on Hoist's router (`host:port`), if it has one.
    #[serde(default)]
    pub router: Option<String>,
}

/// The dependencies of `spec` (unreadable entries are skipped: the host
/// writes them).
pub fn of(spec: &RevisionSpec) -> Vec<Dependency> {
    spec.extensions
        .iter()
        .filter(|(k, _)| k == "hoist.dependency")
        .filter_map(|(_, v)| serde_json::from_str(v).ok())
        .collect()
}

/// `HOIST_<NAME>_HOST`, `_PORT` and `_ADDR` for `service` at `host:port`,
/// leaving out any the service's own environment already sets.
pub fn env(spec: &RevisionSpec, service: &str, host: &str, port: u16) -> Vec<(String, String)> {
    let name: String = service.chars().map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() }).collect();
    [("HOST", host.to_owned()), ("PORT", port.to_string()), ("ADDR", format!("{host}:{port}"))]
        .into_iter()
        .map(|(what, value)| (format!("HOIST_{name}_{what}"), value))
        .filter(|(k, _)| !spec.env.iter().any(|(set, _)| set == k))
        .collect()
}
