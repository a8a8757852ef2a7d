//! The stack file: `stack.toml`, or a Docker Compose file used directly.
//!
//! ```toml
//! version = 1
//! name = "shop"
//!
//! [services.db]
//! image = "postgres:16"
//! port = 5432
//! probe = { kind = "tcp" }
//!
//! [services.api]
//! image = "shop/api:2.4.1"
//! port = 8080
//! replicas = 3
//! router = "127.0.0.1:8080"
//! strategy = "canary"
//! probe_path = "/healthz"
//! depends_on = { db = "healthy" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hoist_probe::ProbeSpec;
use serde::{Deserialize, Serialize};

use crate::compose::{self, ComposeError, Unsupported};
pub use crate::from_compose::from_compose;
use crate::graph::{Condition, Graph, GraphError};
use crate::profiles::select_profiles;

/// A stack: services that depend on each other, deployed as one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackDef {
    pub version: u32,
    pub name: String,
    pub services: BTreeMap<String, StackService>,
    /// Named networks besides the stack's `default` one (Compose's
    /// top-level `networks`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, NetworkDef>,
}

/// A network of the stack: `[networks.back] internal = true`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkDef {
    /// No route out: its services reach each other, nothing else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
}

/// A configuration file of a service: exactly one of `file` and `content`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// The most bytes of a config given as `content`.
pub const MAX_CONFIG_CONTENT: usize = 1 << 20;

/// How a service joins one network: the DNS names it answers to there
/// besides its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNetwork {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// One service of a stack: what `hoist deploy` takes, plus its strategy and
/// dependencies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackService {
    /// The version label; default: a digest of the service's definition, so
    /// an unchanged service is recognised and left alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The port the service listens on inside its instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default = "one")]
    pub replicas: u32,
    /// The service's front door on Hoist's router (host:port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
    /// A strategy plugin instead of the environment's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Its settings for this service, over the environment's, e.g.
    /// `{ max-surge = 2, max-unavailable = 0 }` for `rolling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy_config: Option<serde_json::Value>,
    /// Shorthand for an HTTP GET probe of this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeSpec>,
    /// `{ dependency = "started" | "healthy" | "completed-successfully" }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Condition>,
    /// Volumes mounted in every instance, `SOURCE:TARGET[:ro]`: a named
    /// volume (kept across revisions and `stack down`) or an absolute host
    /// path. A service with a volume is updated stop-first (`recreate`), so
    /// two instances never share its data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// A one-shot job (Compose `restart: "no"`): it runs once per stack
    /// rollout to completion; exit 0 meets `completed-successfully`, any
    /// other exit fails the stack rollout. It has no port, probe or router.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub job: bool,
    /// How its instances run: `user`, `working_dir`, `entrypoint`,
    /// `memory` (bytes), `cpus`, `pids`, `stop_grace_ms`, `labels`, and
    /// `healthcheck`, run by the platform inside the instance (Docker's
    /// HEALTHCHECK) — so it needs no published port — or `{ disable = true }`.
    #[serde(default, skip_serializing_if = "crate::runtime::Runtime::is_empty")]
    pub runtime: crate::runtime::Runtime,
    /// Secrets, `{ NAME = "FILE" }`: the file (relative to the stack file)
    /// mounted read-only at `/run/secrets/NAME` (or at NAME, if absolute).
    /// Only the path is kept; the value is never read by Hoist.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// When an exited instance is replaced at rest: `always` (default),
    /// `on-failure` (unless it exited 0) or `no`.
    #[serde(default, skip_serializing_if = "Restart::is_always")]
    pub restart: Restart,
    /// The stack networks it joins, `{ back = { aliases = ["primary"] } }`;
    /// none: the stack's `default` network only. On each, it answers to
    /// its name and its aliases.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, ServiceNetwork>,
    /// Configuration files, `{ "/etc/app.yml" = { file = "app.yml" } }` (a
    /// file relative to the stack file, mounted read-only) or `{ content =
    /// "..." }` (written into each instance before it starts, 0444).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, ConfigFile>,
    /// Deployed only when one of these profiles is active (`--profile`,
    /// `COMPOSE_PROFILES`); none: always.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
}

/// When an exited instance of a service at rest is replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    #[default]
    Always,
    OnFailure,
    No,
}

impl Restart {
    fn is_always(&self) -> bool {
        *self == Restart::Always
    }
}

fn one() -> u32 {
    1
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Compose(#[from] ComposeError),
    #[error("{}: {source}", path.display())]
    Graph { path: PathBuf, source: GraphError },
}

/// A loaded stack and what the loading could not carry over.
#[derive(Debug)]
pub struct Loaded {
    pub stack: StackDef,
    pub graph: Graph,
    /// Compose keys Hoist does not import, by line (empty for a TOML stack).
    pub unsupported: Vec<Unsupported>,
    /// Translations the reader should know about (e.g. a Compose healthcheck
    /// turned into a TCP probe).
    pub notes: Vec<String>,
    /// Variables used without a value, substituted empty.
    pub warnings: Vec<String>,
}

impl StackDef {
    /// The dependency graph; cycles and unknown dependencies are errors.
    pub fn graph(&self) -> Result<Graph, GraphError> {
        Graph::new(self.services.iter().map(|(name, s)| (name.clone(), s.depends_on.clone())).collect())
    }

    /// Checks what serde cannot: the version, names, something to run, probes.
    pub fn check(&self) -> Result<(), String> {
        if self.version != 1 {
            return Err(format!("`version = {}` is not supported; this Hoist reads `version = 1`", self.version));
        }
        valid_name("stack", &self.name)?;
        for net in self.networks.keys() {
            valid_name("network", net)?;
        }
        if self.services.is_empty() {
            return Err("the stack has no services; add a [services.NAME] table".into());
        }
        for (name, s) in &self.services {
            valid_name("service", name)?;
            if s.replicas == 0 {
                return Err(format!("service `{name}`: `replicas` must be at least 1"));
            }
            if s.probe.is_some() && s.probe_path.is_some() {
                return Err(format!("service `{name}`: set `probe` or `probe_path`, not both"));
            }
            if let Some(p) = &s.probe {
                p.validate().map_err(|e| format!("service `{name}`: probe: {e}"))?;
            }
            s.runtime.check().map_err(|e| format!("service `{name}`: runtime: {e}"))?;
            for (target, file) in &s.secrets {
                if target.is_empty() || target.contains(':') || (target.contains('/') && !target.starts_with('/')) {
                    return Err(format!("service `{name}`: secret `{target}`: give a name or an absolute path"));
                }
                if !Path::new(file).is_absolute() || file.contains(':') {
                    return Err(format!(
                        "service `{name}`: secret `{target}`: `{file}` is not an absolute path without `:`"
                    ));
                }
            }
            for (target, c) in &s.configs {
                if !target.starts_with('/') || target.contains(':') {
                    return Err(format!("service `{name}`: config `{target}`: the target must be an absolute path"));
                }
                match (&c.file, &c.content) {
                    (Some(f), None) if Path::new(f).is_absolute() && !f.contains(':') => {}
                    (None, Some(text)) if text.len() <= MAX_CONFIG_CONTENT => {}
                    (None, Some(_)) => {
                        return Err(format!(
                            "service `{name}`: config `{target}` is over {MAX_CONFIG_CONTENT} bytes; give it as a `file`"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "service `{name}`: config `{target}`: give exactly one of `file` (an absolute path without `:`) and `content`"
                        ));
                    }
                }
            }
            for (net, join) in &s.networks {
                if net != "default" && !self.networks.contains_key(net) {
                    return Err(format!(
                        "service `{name}`: network `{net}` is not declared; add it under the top-level `networks`"
                    ));
                }
                if let Some(a) = join.aliases.iter().find(|a| !dns_name(a)) {
                    return Err(format!(
                        "service `{name}`: network `{net}`: alias `{}` is not a DNS name",
                        a.escape_debug()
                    ));
                }
            }
            if s.job && (s.replicas != 1 || s.router.is_some() || s.readiness().is_some()) {
                return Err(format!(
                    "service `{name}`: a job runs once to completion; remove its `replicas`, `router` and probe"
                ));
            }
        }
        Ok(())
    }
}

impl StackDef {
    /// Checks that every service has something to run (an import may
    /// carry a service that is only `build:`; a deploy may not).
    pub fn check_runnable(&self) -> Result<(), String> {
        for (name, s) in &self.services {
            if s.image.is_none() && s.command.is_empty() {
                return Err(format!(
                    "service `{name}`: nothing to run; set `image` (containers) or `command` (processes)"
                ));
            }
        }
        Ok(())
    }
}

impl StackService {
    /// The readiness probe: `probe`, or an HTTP probe of `probe_path`.
    pub fn readiness(&self) -> Option<ProbeSpec> {
        self.probe.clone().or_else(|| self.probe_path.as_ref().map(|p| ProbeSpec::http(p.clone())))
    }
}

/// A DNS name: at most 253 bytes of dot-separated labels, each 1–63
/// letters, digits and inner `-`.
fn dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Hoist's one naming rule (`hoist_registry::validate_name`): no `_`, so
/// two names never become one once a platform sanitises them.
fn valid_name(what: &str, name: &str) -> Result<(), String> {
    hoist_registry::validate_name(name)
        .map_err(|e| format!("{what} name `{}` is not valid: {}", name.escape_debug(), e.reason))
}

/// How a stack file is read: its active profiles and env files.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--profile`, with those of `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
    /// `--env-file`: read instead of the `.env` beside the file.
    pub env_files: Vec<PathBuf>,
}

/// Reads a stack from `stack.toml`, or from a Compose file (`.yml`/`.yaml`)
/// named by its top-level `name:` or else after its directory.
pub fn load(path: &Path) -> Result<Loaded, StackError> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with profiles and env files.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Loaded, StackError> {
    let is_compose = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
    let (stack, unsupported, notes, warnings) = if is_compose {
        let imported = compose::import_with(path, &options.env_files)?;
        // Compose's own rule: the top-level `name:`, else the directory.
        let name = imported.name.clone().map(|n| n.to_lowercase()).unwrap_or_else(|| {
            path.canonicalize()
                .ok()
                .and_then(|p| p.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().to_lowercase()))
                .unwrap_or_else(|| "stack".into())
        });
        let (stack, notes) = from_compose(&imported, &sanitize(&name));
        (stack, imported.unsupported, notes, imported.warnings)
    } else {
        let text = hoist_files::text(path).map_err(|source| StackError::Read { path: path.into(), source })?;
        let toml_error = |message: String| StackError::Toml { path: path.into(), message };
        let (text, warnings) = interpolate_toml(&text, path, &options.env_files).map_err(toml_error)?;
        let mut stack = parse(&text).map_err(toml_error)?;
        // Secret files are relative to the stack file.
        let base = path.parent().unwrap_or(Path::new("."));
        for s in stack.services.values_mut() {
            for file in s.configs.values_mut().filter_map(|c| c.file.as_mut()) {
                let p = base.join(&*file);
                *file = p
                    .canonicalize()
                    .map_err(|e| toml_error(format!("config file `{}`: {e}", p.display())))?
                    .display()
                    .to_string();
            }
            for file in s.secrets.values_mut() {
                let p = base.join(&*file);
                *file = p
                    .canonicalize()
                    .map_err(|e| toml_error(format!("secret file `{}`: {e}", p.display())))?
                    .display()
                    .to_string();
            }
        }
        (stack, Vec::new(), Vec::new(), warnings)
    };
    let mut stack = stack;
    let invalid = |message: String| StackError::Invalid { path: path.into(), message };
    let mut notes = notes;
    notes.extend(select_profiles(&mut stack, &options.profiles).map_err(invalid)?);
    stack.check().map_err(invalid)?;
    let graph = stack.graph().map_err(|source| StackError::Graph { path: path.into(), source })?;
    Ok(Loaded { stack, graph, unsupported, notes, warnings })
}

/// A stack TOML with `${VAR}` substituted in its string values, as in a
/// Compose file: the shell's environment over the `.env` beside it.
fn interpolate_toml(text: &str, path: &Path, env_files: &[PathBuf]) -> Result<(String, Vec<String>), String> {
    let mut value: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
    let vars = crate::interpolate::Vars::from_files(path.parent().unwrap_or(Path::new(".")), env_files)
        .map_err(|e| e.to_string())?;
    let mut unset = Vec::new();
    fn walk(v: &mut toml::Value, vars: &crate::interpolate::Vars, unset: &mut Vec<String>) -> Result<(), String> {
        match v {
            toml::Value::String(s) => *s = crate::interpolate::interpolate(s, vars, unset)?,
            toml::Value::Array(items) => items.iter_mut().try_for_each(|i| walk(i, vars, unset))?,
            toml::Value::Table(t) => t.iter_mut().try_for_each(|(_, i)| walk(i, vars, unset))?,
            _ => {}
        }
        Ok(())
    }
    walk(&mut value, &vars, &mut unset)?;
    let warnings = unset.iter().map(|v| format!("variable `{v}` is not set; substituted an empty string")).collect();
    Ok((toml::to_string(&value).map_err(|e| e.to_string())?, warnings))
}

/// Parses a stack TOML document (errors carry line and column).
pub fn parse(text: &str) -> Result<StackDef, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .collect();
    let s = s.trim_start_matches(|c: char| !c.is_ascii_lowercase()).to_string();
    if s.is_empty() { "stack".into() } else { s }
}

/// The stack as TOML (what `hoist stack import` prints).
pub fn to_toml(stack: &StackDef) -> Result<String, String> {
    toml::to_string_pretty(stack).map_err(|e| e.to_string())
}

impl StackService {
    /// The version label: `version`, or `d-` and a digest of what the
    /// service runs (dependencies and strategy excluded: changing them does
    /// not change the service).
    pub fn version_label(&self) -> String {
        if let Some(v) = &self.version {
            return v.clone();
        }
        use sha2::Digest;
        let mut what = serde_json::json!({
            "image": self.image, "command": self.command, "env": self.env, "port": self.port,
            "replicas": self.replicas, "router": self.router, "probe": self.readiness(),
        });
        if !self.volumes.is_empty() {
            what["volumes"] = serde_json::json!(self.volumes);
        }
        if self.job {
            what["job"] = serde_json::json!(true);
        }
        if !self.runtime.is_empty() {
            what["runtime"] = serde_json::json!(self.runtime);
        }
        if !self.secrets.is_empty() {
            what["secrets"] = serde_json::json!(self.secrets);
        }
        if self.restart != Restart::Always {
            what["restart"] = serde_json::json!(self.restart);
        }
        if !self.networks.is_empty() {
            what["networks"] = serde_json::json!(self.networks);
        }
        if !self.configs.is_empty() {
            what["configs"] = serde_json::json!(self.configs);
        }
        let digest = sha2::Sha256::digest(what.to_string().as_bytes());
        format!("d-{}", &hex::encode(digest)[..12])
    }
}
