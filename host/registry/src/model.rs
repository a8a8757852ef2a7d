//! The validated registry: what `Registry::load` returns.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::capability::Capability;
use crate::capability::PluginKind;
use crate::diagnostic::Location;
use crate::digest::Digest;
use crate::error::RegistryError;
use crate::names::{EnvName, PluginName};
use crate::units::Limits;

/// A JSON object: plugin configuration as handed to the plugin.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// A parsed and validated registry file. Maps iterate in name order.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    /// The file the registry was read from, as given to [`Registry::load`].
    pub path: PathBuf,
    /// Every `[plugins.NAME]` table.
    pub plugins: BTreeMap<PluginName, PluginDecl>,
    /// Every `[environments.NAME]` table.
    pub environments: BTreeMap<EnvName, Environment>,
}

impl Registry {
    /// Reads and validates the registry at `path`. Relative plugin paths are
    /// resolved against the directory of `path`.
    pub fn load(path: &Path) -> Result<Registry, RegistryError> {
        let text = hoist_files::text(path).map_err(|source| RegistryError::Io { path: path.to_path_buf(), source })?;
        Registry::parse(&text, path)
    }

    /// Validates registry `text` read from `origin` (used in messages and to
    /// resolve relative plugin paths). Does no I/O.
    pub fn parse(text: &str, origin: &Path) -> Result<Registry, RegistryError> {
        crate::parse::parse(text, origin)
    }

    /// The plugin declared as `name`.
    pub fn plugin(&self, name: &str) -> Option<&PluginDecl> {
        self.plugins.get(name)
    }
}

/// Where a plugin's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `builtin:NAME`: a component shipped inside the `hoist` binary.
    Builtin(String),
    /// A `.wasm` component file, resolved against the registry's directory.
    Path(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Builtin(name) => write!(f, "builtin:{name}"),
            Source::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A `[plugins.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginDecl {
    /// The table's name.
    pub name: PluginName,
    /// The world the plugin implements.
    pub kind: PluginKind,
    /// Where its component comes from.
    pub source: Source,
    /// The pinned digest: always present for [`Source::Path`], optional for
    /// builtins (checked against the embedded bytes when present).
    pub sha256: Option<Digest>,
    /// Granted capabilities, always including the ambient `log` and `clock`.
    pub capabilities: BTreeSet<Capability>,
    /// Hosts (`name` or `name:port`, `*.` prefix allowed) reachable through
    /// `http`; empty unless `http` is granted.
    pub allow_hosts: Vec<String>,
    /// Secrets the host adds to requests to some of those hosts.
    pub credentials: Vec<Credential>,
    /// Per-call limits, defaults filled in.
    pub limits: Limits,
    /// The `config` table as a JSON object (empty when absent).
    pub config: JsonObject,
    /// Where `[plugins.NAME]` is declared.
    pub location: Location,
    /// Where `sha256` is written, to point digest mismatches at it.
    pub sha256_location: Option<Location>,
}

/// A secret the `http` capability adds as a header to every request to one
/// allow-listed host. The registry names where the secret is, never the
/// secret: the host reads it for each request and neither logs nor keeps it,
/// and the plugin never sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The `allow-hosts` entry it is sent to (and only to it, redirects too).
    pub host: String,
    /// The header it goes in, lowercase (default `authorization`).
    pub header: String,
    /// Written before the secret and a space, e.g. `Bearer`.
    pub scheme: Option<String>,
    /// Where the secret is read from.
    pub secret: SecretSource,
}

/// Where a [`Credential`]'s secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable of the `hoist` process.
    Env(String),
    /// A file (resolved against the registry's directory); trailing
    /// newlines are trimmed.
    File(PathBuf),
}

/// An `[environments.NAME]` table, as written (see
/// [`Registry::environment`] for the effective plugin settings).
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// The table's name.
    pub name: EnvName,
    /// The platform adapter (a plugin of kind `platform`).
    pub platform: PluginName,
    /// The default strategy (a plugin of kind `strategy`).
    pub strategy: PluginName,
    /// Health policies, in the order written.
    pub health_policies: Vec<PluginName>,
    /// Admission policies, in the order written.
    pub admission_policies: Vec<PluginName>,
    /// Facts handed to admission policies.
    pub labels: BTreeMap<String, String>,
    /// Addresses besides loopback the service routers of this environment
    /// may listen on (`router-addresses = ["0.0.0.0"]`); empty: loopback only.
    pub router_addresses: Vec<std::net::IpAddr>,
    /// `[environments.NAME.plugins.PLUGIN]` overrides.
    pub overrides: BTreeMap<PluginName, PluginOverride>,
    /// `[environments.NAME.analysis.METRIC]` templates, in name order.
    pub analysis: Vec<crate::analysis::AnalysisTemplate>,
    /// `[environments.NAME.notify.SUBSCRIPTION]` webhooks, in name order.
    pub notify: Vec<crate::notify::Subscription>,
    /// Where `[environments.NAME]` is declared.
    pub location: Location,
}

/// Per-environment settings for one plugin; `None` keeps the plugin's own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PluginOverride {
    /// Deep-merged over the plugin's config; the environment wins.
    pub config: Option<JsonObject>,
    /// Replaces the plugin's grant; always a subset of it.
    pub capabilities: Option<BTreeSet<Capability>>,
    /// Replaces the plugin's `allow-hosts` (hosts differ per environment).
    pub allow_hosts: Option<Vec<String>>,
    /// Replaces the memory cap.
    pub memory_bytes: Option<u64>,
    /// Replaces the time limit.
    pub time: Option<Duration>,
}
