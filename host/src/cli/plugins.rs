//! `hoist plugins list` and `hoist plugins inspect`.

use clap::Subcommand;
use hoist_registry::Registry;
use serde::Serialize;

use super::{Cli, Output, table};
use crate::catalog::Declared;
use crate::runtime::surface::expected_export;
use crate::runtime::{CacheState, Plugin, Runtime};

#[derive(Subcommand, Debug)]
pub enum PluginsCommand {
    /// List the registry's plugins (or those one environment uses), loading
    /// and checking each.
    List {
        /// Only the plugins this environment uses, with its overrides.
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Everything Hoist knows of one plugin.
    Inspect {
        name: String,
        /// Show the plugin as this environment runs it.
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

/// One plugin as `list` and `inspect` show it.
#[derive(Serialize)]
struct PluginView {
    name: String,
    kind: &'static str,
    source: String,
    environment: Option<String>,
    world: String,
    contract_version: Option<String>,
    imported_capabilities: Vec<&'static str>,
    granted_capabilities: Vec<&'static str>,
    imports: Vec<String>,
    exports: Vec<String>,
    sha256: Option<String>,
    size_bytes: Option<usize>,
    cache: Option<CacheState>,
    cache_path: Option<String>,
    memory_limit_bytes: Option<usize>,
    time_limit_ms: Option<u128>,
    config: serde_json::Value,
    error: Option<String>,
}

fn view(runtime: &Runtime, declared: &Declared<'_>) -> PluginView {
    let config = serde_json::from_str(&declared.config_json()).unwrap_or(serde_json::Value::Null);
    let (name, kind, source, environment, granted) = match declared {
        Declared::Plugin(_, d) => (d.name.to_string(), d.kind, d.source.to_string(), None, &d.capabilities),
        Declared::InEnvironment(r) => {
            (r.name.to_string(), r.kind, r.source.to_string(), Some(r.environment.to_string()), &r.capabilities)
        }
    };
    let (_, world) = expected_export(kind);
    let mut v = PluginView {
        name,
        kind: kind.as_str(),
        source,
        environment,
        world: format!("hoist:plugin/{world}"),
        contract_version: None,
        imported_capabilities: Vec::new(),
        granted_capabilities: granted.iter().map(|c| c.as_str()).collect(),
        imports: Vec::new(),
        exports: Vec::new(),
        sha256: None,
        size_bytes: None,
        cache: None,
        cache_path: None,
        memory_limit_bytes: None,
        time_limit_ms: None,
        config,
        error: None,
    };
    match declared.load(runtime) {
        Ok(plugin) => fill(&mut v, runtime, &plugin),
        Err(err) => {
            v.error = Some(err.to_string());
            // What it really imports and exports is what a user needs to
            // see to fix a refused plugin.
            if let Some(surface) = declared.spec().ok().and_then(|spec| runtime.surface_of(&spec.bytes)) {
                v.imports = surface.imports.iter().map(ToString::to_string).collect();
                v.exports = surface.exports.iter().map(ToString::to_string).collect();
            }
        }
    }
    v
}

fn fill(v: &mut PluginView, runtime: &Runtime, plugin: &Plugin) {
    v.contract_version = plugin.contract_version().map(str::to_string);
    v.imported_capabilities = plugin.surface.capabilities().into_iter().map(|c| c.as_str()).collect();
    v.imports = plugin.surface.imports.iter().map(ToString::to_string).collect();
    v.exports = plugin.surface.exports.iter().map(ToString::to_string).collect();
    v.sha256 = Some(plugin.digest.clone());
    v.size_bytes = Some(plugin.size);
    v.cache = Some(plugin.cache);
    v.cache_path = runtime.cache().path_for(&plugin.digest).map(|p| p.display().to_string());
    v.memory_limit_bytes = Some(plugin.limits.memory_usize());
    v.time_limit_ms = Some(plugin.limits.time.as_millis());
}

fn views(cli: &Cli, registry: &Registry, env: Option<&str>, only: Option<&str>) -> anyhow::Result<Vec<PluginView>> {
    let runtime = cli.runtime()?;
    let mut out = Vec::new();
    match env {
        None => {
            for decl in registry.plugins.values() {
                if only.is_none_or(|n| n == decl.name.as_str()) {
                    out.push(view(&runtime, &Declared::Plugin(registry, decl)));
                }
            }
        }
        Some(env) => {
            let resolved = registry.environment(env)?;
            let used = [&resolved.platform, &resolved.strategy]
                .into_iter()
                .chain(&resolved.health_policies)
                .chain(&resolved.admission_policies);
            for plugin in used {
                if only.is_none_or(|n| n == plugin.name.as_str()) {
                    out.push(view(&runtime, &Declared::InEnvironment(plugin)));
                }
            }
        }
    }
    Ok(out)
}

pub fn run(cli: &Cli, cmd: &PluginsCommand) -> anyhow::Result<bool> {
    let registry = Registry::load(&cli.registry)?;
    match cmd {
        PluginsCommand::List { env, output } => {
            let list = views(cli, &registry, env.as_deref(), None)?;
            let ok = list.iter().all(|v| v.error.is_none());
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&list)?),
                Output::Table => print!("{}", list_table(&list)),
            }
            for v in list.iter().filter(|v| v.error.is_some()) {
                eprintln!("error: {}", v.error.as_deref().unwrap_or_default());
            }
            Ok(ok)
        }
        PluginsCommand::Inspect { name, env, output } => {
            let list = views(cli, &registry, env.as_deref(), Some(name))?;
            let Some(v) = list.into_iter().next() else {
                let known: Vec<_> = registry.plugins.keys().map(|k| k.to_string()).collect();
                let scope = env.as_deref().map(|e| format!(" used by environment `{e}`")).unwrap_or_default();
                anyhow::bail!(
                    "no plugin `{name}`{scope} in {}; declared plugins: {}",
                    cli.registry.display(),
                    known.join(", ")
                );
            };
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Output::Table => print!("{}", inspect_text(&v)),
            }
            if let Some(err) = &v.error {
                eprintln!("error: {err}");
            }
            Ok(v.error.is_none())
        }
    }
}

fn list_table(list: &[PluginView]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|v| {
            vec![
                v.name.clone(),
                v.kind.to_string(),
                v.source.clone(),
                v.contract_version.clone().unwrap_or_else(|| "-".into()),
                if v.imported_capabilities.is_empty() { "-".into() } else { v.imported_capabilities.join(",") },
                v.size_bytes.map(table::bytes).unwrap_or_else(|| "-".into()),
                match (&v.error, v.cache) {
                    (Some(_), _) => "ERROR".into(),
                    (None, Some(CacheState::Hit)) => "cached".into(),
                    (None, Some(CacheState::Compiled)) => "compiled".into(),
                    (None, _) => "uncached".into(),
                },
            ]
        })
        .collect();
    table::render(&["NAME", "KIND", "SOURCE", "WIT", "IMPORTS", "SIZE", "STATE"], &rows)
}

fn inspect_text(v: &PluginView) -> String {
    let dash = || "-".to_string();
    let mut lines = vec![
        ("name", v.name.clone()),
        ("kind", v.kind.to_string()),
        ("source", v.source.clone()),
        ("environment", v.environment.clone().unwrap_or_else(|| "(all)".into())),
        ("world", format!("{}@{}", v.world, v.contract_version.as_deref().unwrap_or("?"))),
        (
            "capabilities",
            format!(
                "imports {}; granted {}",
                if v.imported_capabilities.is_empty() { "none".into() } else { v.imported_capabilities.join(", ") },
                v.granted_capabilities.join(", ")
            ),
        ),
        ("sha256", v.sha256.clone().unwrap_or_else(dash)),
        ("size", v.size_bytes.map(table::bytes).unwrap_or_else(dash)),
        (
            "cache",
            match v.cache {
                Some(CacheState::Hit) => format!("hit ({})", v.cache_path.as_deref().unwrap_or("")),
                Some(CacheState::Compiled) => {
                    format!("compiled now, stored at {}", v.cache_path.as_deref().unwrap_or(""))
                }
                Some(CacheState::Uncached) => "compiled now, not cached".into(),
                None => dash(),
            },
        ),
        (
            "limits",
            match (v.memory_limit_bytes, v.time_limit_ms) {
                (Some(m), Some(t)) => format!("memory {}, time {t} ms per call", table::bytes(m)),
                _ => dash(),
            },
        ),
        ("config", v.config.to_string()),
        ("imports", v.imports.join("\n              ")),
        ("exports", v.exports.join(", ")),
    ];
    if let Some(err) = &v.error {
        lines.push(("error", err.clone()));
    }
    lines.iter().map(|(k, val)| format!("{k:<12}  {val}\n")).collect()
}
