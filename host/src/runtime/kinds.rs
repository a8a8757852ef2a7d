//! What the runtime needs to know of a plugin's kind and capabilities.
//! (Interim: replaced by the registry crate's types when it lands.)

/// The world a plugin implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    Strategy,
    HealthPolicy,
    AdmissionPolicy,
    Platform,
}

/// A host capability a plugin may import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Log,
    Clock,
    Process,
    Docker,
    Http,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Clock => "clock",
            Self::Process => "process",
            Self::Docker => "docker",
            Self::Http => "http",
        }
    }
    /// Granted to every plugin.
    pub fn is_ambient(self) -> bool {
        matches!(self, Self::Log | Self::Clock)
    }
    pub fn from_interface(name: &str) -> Option<Self> {
        Some(match name {
            "log" => Self::Log,
            "clock" => Self::Clock,
            "process" => Self::Process,
            "docker" => Self::Docker,
            "http" => Self::Http,
            _ => return None,
        })
    }
}
