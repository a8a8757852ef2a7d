//! Docker Compose import: services with their image or build reference,
//! command, ports, environment (and env files), `depends_on` (short and
//! long syntax) and healthcheck. Keys Hoist does not carry over are
//! reported by service, name and line — never silently dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::compose_values::{Lines, depends_on, healthcheck, port, substitute, tmpfs_volume, volume};
pub(crate) use crate::compose_values::{duration_ms, env_pairs, scalar};
use crate::graph::{Condition, Graph, GraphError};
use crate::interpolate::Vars;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: not valid YAML: {source}", path.display())]
    Yaml { path: PathBuf, source: serde_yaml::Error },
    #[error("{}:{line}: {message}", path.display())]
    Invalid { path: PathBuf, line: usize, message: String },
    #[error("{}: {source}", path.display())]
    Graph { path: PathBuf, source: GraphError },
}

/// A key of the file Hoist did not import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub service: String,
    pub key: String,
    pub line: usize,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: service `{}`: `{}` is not imported by Hoist", self.line, self.service, self.key)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Healthcheck {
    /// The command, as Compose's `CMD` form (a `CMD-SHELL` string runs in `sh -c`).
    pub test: Vec<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub retries: u32,
    pub start_period_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportedService {
    pub name: String,
    pub image: Option<String>,
    /// The build context, when the service is built rather than pulled.
    pub build: Option<String>,
    pub command: Vec<String>,
    /// (published host port, container port).
    pub ports: Vec<(Option<u16>, u16)>,
    pub env: Vec<(String, String)>,
    pub depends_on: BTreeMap<String, Condition>,
    pub healthcheck: Option<Healthcheck>,
    /// `SOURCE:TARGET[:ro]`: a named volume, or an absolute host path
    /// (relative bind sources resolved against the Compose file).
    pub volumes: Vec<String>,
    /// `restart: "no"`: runs once to completion.
    pub job: bool,
    /// User, limits, labels, the instance's own health check, ….
    pub runtime: crate::runtime::Runtime,
    /// Secrets mounted read-only: target (`/run/secrets/TARGET`) → file.
    pub secrets: BTreeMap<String, String>,
    /// `deploy.replicas`.
    pub replicas: Option<u32>,
    /// From `deploy.update_config.order`.
    pub strategy: Option<String>,
    /// From `deploy.update_config`: `rolling`'s batch and wait.
    pub strategy_config: Option<serde_json::Value>,
    /// `restart: on-failure`, `deploy.restart_policy`.
    pub restart: crate::definition::Restart,
    /// `networks:`, with their aliases.
    pub networks: BTreeMap<String, crate::definition::ServiceNetwork>,
    /// `profiles:`: deployed only when one of them is active.
    pub profiles: Vec<String>,
    /// `configs:`, target → config.
    pub configs: BTreeMap<String, crate::definition::ConfigFile>,
}

/// What an import produced.
#[derive(Debug)]
pub struct Imported {
    /// The top-level `name:` (Compose's project name), if the file sets one.
    pub name: Option<String>,
    pub services: Vec<ImportedService>,
    pub graph: Graph,
    /// The top-level `networks`.
    pub networks: BTreeMap<String, crate::definition::NetworkDef>,
    pub unsupported: Vec<Unsupported>,
    /// Variables used without a value (substituted empty, as Compose does).
    pub warnings: Vec<String>,
}

/// Imports `path`, its variables from the `.env` beside it.
pub fn import(path: &Path) -> Result<Imported, ComposeError> {
    import_with(path, &[])
}

/// Imports `path`, its variables from `env_files` (`--env-file`) when given.
pub fn import_with(path: &Path, env_files: &[PathBuf]) -> Result<Imported, ComposeError> {
    let text = hoist_files::text(path).map_err(|source| ComposeError::Read { path: path.into(), source })?;
    let mut doc: Value =
        serde_yaml::from_str(&text).map_err(|source| ComposeError::Yaml { path: path.into(), source })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let lines = Lines::new(&text);
    let invalid = |line: usize, message: String| ComposeError::Invalid { path: path.into(), line, message };
    // `<<: *base` merge keys, then `${VAR}` from the shell over `.env`.
    doc.apply_merge().map_err(|source| ComposeError::Yaml { path: path.into(), source })?;
    let vars = Vars::from_files(base, env_files)
        .map_err(|e| ComposeError::Read { path: e.path.clone(), source: e.into_io() })?;
    let mut unset = Vec::new();
    substitute(&mut doc, &vars, &mut unset).map_err(|(found, message)| invalid(lines.containing(&found), message))?;
    let warnings = unset
        .iter()
        .map(|v| {
            format!("variable `{v}` is not set (neither in the environment nor in .env); substituted an empty string")
        })
        .collect();
    let Some(services) = doc.get("services").and_then(Value::as_mapping) else {
        return Err(invalid(1, "no `services:` mapping; is this a Compose file?".into()));
    };
    let secrets = crate::compose_secrets::declared(&doc, base).map_err(|m| invalid(lines.top("secrets"), m))?;
    let configs = crate::compose_configs::declared(&doc, base, &vars).map_err(|m| invalid(lines.top("configs"), m))?;
    let (networks, ignored) = crate::compose_networks::declared(&doc).map_err(|m| invalid(lines.top("networks"), m))?;
    let mut out = Vec::new();
    let mut unsupported: Vec<Unsupported> = ignored
        .into_iter()
        .map(|key| Unsupported { service: "(top level)".into(), key, line: lines.top("networks") })
        .collect();
    for (name, body) in services {
        let name = name.as_str().unwrap_or_default().to_string();
        let at = lines.service(&name);
        let Some(body) = body.as_mapping() else {
            return Err(invalid(at, format!("service `{name}` is not a mapping")));
        };
        let mut svc = ImportedService { name: name.clone(), ..Default::default() };
        let mut from_files: Vec<(String, String)> = Vec::new();
        for (key, value) in body {
            let key = key.as_str().unwrap_or_default();
            let line = lines.key(at, key);
            match key {
                "image" => svc.image = value.as_str().map(str::to_string),
                "build" => {
                    svc.build = match value {
                        Value::String(s) => Some(s.clone()),
                        _ => value.get("context").and_then(Value::as_str).map(str::to_string).or(Some(".".into())),
                    }
                }
                "command" => {
                    svc.command = crate::compose_runtime::words(value)
                        .map_err(|m| invalid(line, format!("service `{name}`: command: {m}")))?
                }
                "deploy" => {
                    let deploy = crate::compose_deploy::read(&mut svc.runtime, value)
                        .map_err(|m| invalid(line, format!("service `{name}`: {m}")))?;
                    svc.replicas = deploy.replicas.or(svc.replicas);
                    svc.strategy = deploy.strategy.or(svc.strategy.take());
                    svc.strategy_config = deploy.strategy_config.or(svc.strategy_config.take());
                    svc.restart = deploy.restart.unwrap_or(svc.restart);
                    for key in deploy.ignored {
                        // Each segment under the one before: `reservations.cpus`
                        // is not the `cpus` of `limits`.
                        let at = key.split('.').skip(1).fold(line, |from, segment| lines.key(from, segment));
                        unsupported.push(Unsupported { service: name.clone(), line: at, key });
                    }
                }
                "ports" => {
                    for p in value.as_sequence().into_iter().flatten() {
                        svc.ports.push(
                            port(p)
                                .ok_or_else(|| invalid(line, format!("service `{name}`: cannot read port {p:?}")))?,
                        );
                    }
                }
                "environment" => svc.env.extend(env_pairs(value)),
                "env_file" => {
                    let files: Vec<String> = match value {
                        Value::String(s) => vec![s.clone()],
                        _ => value
                            .as_sequence()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                    };
                    for f in files {
                        let p = base.join(&f);
                        let content =
                            hoist_files::text(&p).map_err(|source| ComposeError::Read { path: p.clone(), source })?;
                        from_files.extend(crate::dotenv::parse(&content));
                    }
                }
                "depends_on" => {
                    svc.depends_on = depends_on(value).map_err(|m| invalid(line, format!("service `{name}`: {m}")))?
                }
                "healthcheck" => {
                    let disabled = value.get("disable").and_then(Value::as_bool).unwrap_or(false)
                        || value
                            .get("test")
                            .and_then(Value::as_sequence)
                            .and_then(|t| t.first())
                            .and_then(Value::as_str)
                            == Some("NONE");
                    svc.healthcheck = if disabled { None } else { healthcheck(value) };
                    svc.runtime.healthcheck = crate::compose_runtime::health(svc.healthcheck.as_ref(), disabled);
                }
                "volumes" => {
                    for v in value.as_sequence().into_iter().flatten() {
                        if v.get("type").and_then(Value::as_str) == Some("tmpfs") {
                            svc.runtime.tmpfs.push(
                                tmpfs_volume(v).map_err(|m| invalid(line, format!("service `{name}`: volume {m}")))?,
                            );
                            continue;
                        }
                        svc.volumes
                            .push(volume(v, base).map_err(|m| invalid(line, format!("service `{name}`: volume {m}")))?);
                    }
                }
                "configs" => {
                    svc.configs = crate::compose_configs::service(value, &configs)
                        .map_err(|m| invalid(line, format!("service `{name}`: {m}")))?
                }
                "secrets" => {
                    svc.secrets = crate::compose_secrets::service(value, &secrets)
                        .map_err(|m| invalid(line, format!("service `{name}`: {m}")))?
                }
                "restart" => match value.as_str() {
                    Some("no") => svc.job = true,
                    // Hoist replaces an exited instance whatever its exit.
                    Some("always" | "unless-stopped") => {}
                    Some(r) if r == "on-failure" || r.starts_with("on-failure:") => {
                        svc.restart = crate::definition::Restart::OnFailure;
                        if r != "on-failure" {
                            unsupported.push(Unsupported {
                                service: name.clone(),
                                key: format!("restart: {r} (the retry limit; Hoist backs off up to 5 min instead)"),
                                line,
                            });
                        }
                    }
                    _ => unsupported.push(Unsupported {
                        service: name.clone(),
                        key: format!("restart: {}", scalar(value).unwrap_or_default()),
                        line,
                    }),
                },
                "container_name" => {}
                "profiles" => {
                    svc.profiles = value
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .map(|p| p.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| invalid(line, format!("service `{name}`: `profiles` must be a list of names")))?
                }
                "networks" => {
                    svc.networks = crate::compose_networks::service(value)
                        .map_err(|m| invalid(line, format!("service `{name}`: {m}")))?
                }
                // Documentation in Compose too: on the stack's network every
                // port of an instance is reachable by its service's name.
                "expose" => {}
                "network_mode" => {
                    return Err(invalid(
                        line,
                        format!(
                            "service `{name}`: `network_mode: {}` cannot be honoured: Hoist puts every service on its stack's network (where others reach it by name); remove it, and publish the port with `ports`",
                            scalar(value).unwrap_or_default()
                        ),
                    ));
                }
                other
                    if crate::compose_runtime::key(&mut svc.runtime, other, value)
                        .map_err(|m| invalid(line, format!("service `{name}`: {m}")))? => {}
                other => unsupported.push(Unsupported { service: name.clone(), key: other.to_string(), line }),
            }
        }
        // Values in `environment` win over env files.
        from_files.retain(|(k, _)| !svc.env.iter().any(|(e, _)| e == k));
        svc.env.splice(0..0, from_files);
        out.push(svc);
    }
    for key in doc.as_mapping().into_iter().flatten().filter_map(|(k, _)| k.as_str()) {
        // Top-level `volumes:` declares the named volumes services mount.
        if key != "services"
            && key != "version"
            && key != "name"
            && key != "volumes"
            && key != "secrets"
            && key != "networks"
            && key != "configs"
            && !key.starts_with("x-")
        {
            unsupported.push(Unsupported { service: "(top level)".into(), key: key.into(), line: lines.top(key) });
        }
    }
    let deps = out.iter().map(|s| (s.name.clone(), s.depends_on.clone())).collect();
    let graph = Graph::new(deps).map_err(|source| ComposeError::Graph { path: path.into(), source })?;
    let name = doc.get("name").and_then(Value::as_str).map(str::to_string);
    Ok(Imported { name, services: out, graph, networks, unsupported, warnings })
}
