//! What a compiled component imports and exports, checked against the world
//! its registry entry declares and the capabilities it was granted.

use wasmtime::Engine;
use wasmtime::component::Component;

use super::kinds::{Capability, PluginKind, capability_of_interface};

/// The contract package this host serves.
pub const PACKAGE: &str = "hoist:plugin";
/// Its version; plugins built against any `0.1.x` load.
pub const CONTRACT_VERSION: (u64, u64, u64) = (0, 1, 0);

/// The interface a plugin of `kind` must export and the world it names.
pub fn expected_export(kind: PluginKind) -> (&'static str, &'static str) {
    match kind {
        PluginKind::Strategy => ("strategy", "strategy-plugin"),
        PluginKind::HealthPolicy => ("health", "health-policy-plugin"),
        PluginKind::AdmissionPolicy => ("admission", "admission-policy-plugin"),
        PluginKind::Platform => ("platform", "platform-plugin"),
        PluginKind::MetricsProvider => ("metrics", "metrics-provider-plugin"),
    }
}

/// One imported or exported interface name, e.g. `hoist:plugin/log@0.1.0`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InterfaceName {
    pub package: String,
    pub interface: String,
    pub version: Option<String>,
}

impl InterfaceName {
    pub fn parse(full: &str) -> Self {
        let (path, version) = match full.split_once('@') {
            Some((path, version)) => (path, Some(version.to_string())),
            None => (full, None),
        };
        let (package, interface) = path.split_once('/').unwrap_or(("", path));
        Self { package: package.to_string(), interface: interface.to_string(), version }
    }

    pub fn is_hoist(&self) -> bool {
        self.package == PACKAGE
    }

    pub fn is_wasi(&self) -> bool {
        self.package.starts_with("wasi:")
    }

    /// Whether this host can serve the version the plugin was built against.
    pub fn version_compatible(&self) -> bool {
        let Some(version) = &self.version else { return false };
        let mut parts = version.split(['.', '-', '+']).map(|p| p.parse::<u64>().ok());
        let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) else {
            return false;
        };
        let (host_major, host_minor, _) = CONTRACT_VERSION;
        major == host_major && (major != 0 || minor == host_minor)
    }
}

impl std::fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.package, self.interface)?;
        if let Some(v) = &self.version {
            write!(f, "@{v}")?;
        }
        Ok(())
    }
}

/// The component's imports and exports by name.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Surface {
    pub imports: Vec<InterfaceName>,
    pub exports: Vec<InterfaceName>,
}

impl Surface {
    pub fn of(engine: &Engine, component: &Component) -> Self {
        let ty = component.component_type();
        Self {
            imports: ty.imports(engine).map(|(name, _)| InterfaceName::parse(name)).collect(),
            exports: ty.exports(engine).map(|(name, _)| InterfaceName::parse(name)).collect(),
        }
    }

    /// Host capabilities the component imports (ambient ones included).
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut caps: Vec<Capability> = self
            .imports
            .iter()
            .filter(|i| i.is_hoist())
            .filter_map(|i| capability_of_interface(&i.interface))
            .collect();
        caps.sort();
        caps.dedup();
        caps
    }

    /// The WIT world version the plugin was built against, from its export.
    pub fn contract_version(&self, kind: PluginKind) -> Option<&str> {
        let (export, _) = expected_export(kind);
        self.exports.iter().find(|e| e.is_hoist() && e.interface == export).and_then(|e| e.version.as_deref())
    }
}

/// Why a component does not fit its declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurfaceProblem {
    /// It does not export the interface of the declared kind.
    WrongWorld { expected: String, found: Vec<String> },
    /// It was built against a contract version this host does not serve.
    Incompatible { interface: String },
    /// It imports a capability it was not granted.
    Ungranted { capability: Capability },
    /// It imports something Hoist does not provide at all.
    UnknownImport { name: String },
}

/// Checks the component against the declared kind and the granted
/// capabilities. `served` says which capabilities this host implements.
pub fn check(
    surface: &Surface,
    kind: PluginKind,
    granted: &[Capability],
    served: &[Capability],
) -> Vec<SurfaceProblem> {
    let mut problems = Vec::new();
    let (export, _) = expected_export(kind);
    match surface.exports.iter().find(|e| e.is_hoist() && e.interface == export) {
        None => problems.push(SurfaceProblem::WrongWorld {
            expected: format!("{PACKAGE}/{export}"),
            found: surface.exports.iter().map(|e| e.to_string()).collect(),
        }),
        Some(e) if !e.version_compatible() => {
            problems.push(SurfaceProblem::Incompatible { interface: e.to_string() });
        }
        Some(_) => {}
    }
    for import in &surface.imports {
        if import.is_wasi() {
            continue;
        }
        if !import.is_hoist() {
            problems.push(SurfaceProblem::UnknownImport { name: import.to_string() });
            continue;
        }
        if import.interface == "types" {
            continue;
        }
        if !import.version_compatible() {
            problems.push(SurfaceProblem::Incompatible { interface: import.to_string() });
            continue;
        }
        match capability_of_interface(&import.interface) {
            None => problems.push(SurfaceProblem::UnknownImport { name: import.to_string() }),
            Some(cap) if cap.is_ambient() => {}
            // A pure world is refused an effect even when a spec grants it.
            Some(cap) if !granted.contains(&cap) || !kind.can_import(cap) => {
                problems.push(SurfaceProblem::Ungranted { capability: cap });
            }
            Some(cap) if !served.contains(&cap) => {
                problems.push(SurfaceProblem::UnknownImport { name: import.to_string() });
            }
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versioned_names() {
        let n = InterfaceName::parse("hoist:plugin/log@0.1.0");
        assert_eq!(n.package, "hoist:plugin");
        assert_eq!(n.interface, "log");
        assert!(n.version_compatible());
        assert!(!InterfaceName::parse("hoist:plugin/log@0.2.0").version_compatible());
        assert!(InterfaceName::parse("hoist:plugin/log@0.1.7").version_compatible());
        assert!(!InterfaceName::parse("hoist:plugin/log").version_compatible());
        assert!(InterfaceName::parse("wasi:io/streams@0.2.6").is_wasi());
    }

    fn surface(imports: &[&str], exports: &[&str]) -> Surface {
        Surface {
            imports: imports.iter().map(|s| InterfaceName::parse(s)).collect(),
            exports: exports.iter().map(|s| InterfaceName::parse(s)).collect(),
        }
    }

    #[test]
    fn reports_wrong_world_ungranted_and_foreign_imports() {
        let s = surface(
            &["hoist:plugin/docker@0.1.0", "acme:secrets/vault@1.0.0", "wasi:cli/stderr@0.2.6"],
            &["hoist:plugin/health@0.1.0"],
        );
        let problems = check(&s, PluginKind::Strategy, &[], &[Capability::Process]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(matches!(problems[0], SurfaceProblem::WrongWorld { .. }));
        assert_eq!(problems[1], SurfaceProblem::Ungranted { capability: Capability::Docker });
        assert!(matches!(problems[2], SurfaceProblem::UnknownImport { .. }));
    }

    #[test]
    fn accepts_a_granted_platform() {
        let s = surface(
            &["hoist:plugin/types@0.1.0", "hoist:plugin/process@0.1.0", "hoist:plugin/log@0.1.0"],
            &["hoist:plugin/platform@0.1.0"],
        );
        assert!(check(&s, PluginKind::Platform, &[Capability::Process], &[Capability::Process]).is_empty());
    }

    #[test]
    fn refuses_http_to_strategies_and_health_policies_even_when_granted() {
        let served = [Capability::Http];
        for (kind, export) in [(PluginKind::Strategy, "strategy"), (PluginKind::HealthPolicy, "health")] {
            let s = surface(&["hoist:plugin/http@0.1.0"], &[&format!("hoist:plugin/{export}@0.1.0")]);
            assert_eq!(
                check(&s, kind, &[Capability::Http], &served),
                [SurfaceProblem::Ungranted { capability: Capability::Http }]
            );
        }
        let s = surface(&["hoist:plugin/http@0.1.0"], &["hoist:plugin/platform@0.1.0"]);
        assert!(check(&s, PluginKind::Platform, &[Capability::Http], &served).is_empty());
    }
}
