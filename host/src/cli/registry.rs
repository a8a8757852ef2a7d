//! `hoist registry check`: the file parses, every plugin loads and fits its
//! declared world, and every environment grants what its plugins import.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use hoist_registry::Registry;

use super::Cli;
use crate::catalog::{CatalogError, Declared};
use crate::runtime::ConfigProblem;

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Parse the registry strictly and load every plugin it declares, for
    /// every environment; report every problem found.
    Check {
        /// The registry file (default: --registry).
        file: Option<PathBuf>,
    },
}

pub fn run(cli: &Cli, cmd: &RegistryCommand) -> anyhow::Result<bool> {
    let RegistryCommand::Check { file } = cmd;
    let path = file.clone().unwrap_or_else(|| cli.registry.clone());
    let registry = Registry::load(&path)?;
    let text = hoist_files::text(&path)?;
    let runtime = cli.runtime()?;
    let mut problems: Vec<String> = Vec::new();
    let used: BTreeSet<&str> = registry
        .environments
        .values()
        .flat_map(|e| {
            [&e.platform, &e.strategy]
                .into_iter()
                .chain(&e.health_policies)
                .chain(&e.admission_policies)
                .chain(e.analysis.iter().map(|t| &t.provider))
        })
        .map(|p| p.as_str())
        .collect();
    for decl in registry.plugins.values() {
        let declared = Declared::Plugin(&registry, decl);
        let checked = declared.load(&runtime).and_then(|plugin| {
            // A plugin no environment uses is checked with its own config;
            // the others with what each environment hands it, below.
            if used.contains(decl.name.as_str()) { Ok(()) } else { declared.check_config(&plugin) }
        });
        match checked {
            Ok(()) => {}
            Err(CatalogError::Config { plugin, problems: found, .. }) => {
                for problem in &found {
                    push(&mut problems, config_problem(&text, &path, &plugin, None, problem));
                }
            }
            Err(err) => push(&mut problems, format!("{}: {err}", path.display())),
        }
    }
    for env in registry.environments.keys() {
        let resolved = registry.environment(env.as_str())?;
        let mut providers: Vec<&hoist_registry::ResolvedPlugin> = Vec::new();
        for t in &resolved.analysis {
            if !providers.iter().any(|p| p.name == t.provider.name) {
                providers.push(&t.provider);
            }
        }
        let plugins = [&resolved.platform, &resolved.strategy]
            .into_iter()
            .chain(&resolved.health_policies)
            .chain(&resolved.admission_policies)
            .chain(providers);
        for plugin in plugins {
            match Declared::InEnvironment(plugin).load(&runtime) {
                Ok(_) => {}
                Err(CatalogError::Config { plugin, problems: found, .. }) => {
                    for problem in &found {
                        push(&mut problems, config_problem(&text, &path, &plugin, Some(env.as_str()), problem));
                    }
                }
                Err(err) => {
                    let line = format!("{}: environment `{env}`: {err}", path.display());
                    if !problems.iter().any(|p| p.ends_with(&err.to_string())) {
                        push(&mut problems, line);
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        let templates: usize = registry.environments.values().map(|e| e.analysis.len()).sum();
        let templates = match templates {
            0 => String::new(),
            1 => ", 1 analysis template".to_string(),
            n => format!(", {n} analysis templates"),
        };
        println!(
            "{}: ok ({} plugins, {} environments{templates})",
            path.display(),
            registry.plugins.len(),
            registry.environments.len()
        );
        return Ok(true);
    }
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    eprintln!("{}: {} problem(s)", path.display(), problems.len());
    Ok(false)
}

fn push(problems: &mut Vec<String>, problem: String) {
    if !problems.contains(&problem) {
        problems.push(problem);
    }
}

/// A plugin's config problem at the key it concerns: the environment's
/// override when the key is written there, else the plugin's own `config`,
/// else the nearest table that is.
fn config_problem(text: &str, path: &Path, plugin: &str, env: Option<&str>, problem: &ConfigProblem) -> String {
    let keys: Vec<&str> = problem.path.iter().map(String::as_str).collect();
    let message = match env {
        Some(env) => format!("plugin `{plugin}` in environment `{env}` refuses its config: {problem}"),
        None => format!("plugin `{plugin}` refuses its config: {problem}"),
    };
    let own: Vec<&str> = ["plugins", plugin, "config"].into_iter().chain(keys.iter().copied()).collect();
    let mut candidates = vec![own.clone()];
    if let Some(env) = env {
        let overlay: Vec<&str> =
            ["environments", env, "plugins", plugin, "config"].into_iter().chain(keys.iter().copied()).collect();
        candidates.insert(0, overlay);
    }
    // The first candidate written in full, else whichever reaches deepest
    // into the config (the plugin's own entry on a tie).
    let located: Vec<_> = candidates
        .iter()
        .filter_map(|keys| hoist_registry::locate(text, path, keys, &message).map(|(d, depth)| (d, depth, keys.len())))
        .collect();
    let best = located
        .iter()
        .find(|(_, depth, len)| depth == len)
        .or_else(|| located.iter().max_by_key(|(_, depth, len)| (depth + own.len()).saturating_sub(*len)));
    match best {
        Some((diagnostic, _, _)) => diagnostic.render(),
        None => format!("{}: {message}", path.display()),
    }
}
