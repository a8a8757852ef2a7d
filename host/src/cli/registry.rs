//! `hoist registry check`: the file parses, every plugin loads and fits its
//! declared world, and every environment grants what its plugins import.

use std::path::PathBuf;

use clap::Subcommand;
use hoist_registry::Registry;

use super::Cli;
use crate::catalog::Declared;

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
    let runtime = cli.runtime()?;
    let mut problems = Vec::new();
    for decl in registry.plugins.values() {
        if let Err(err) = Declared::Plugin(&registry, decl).load(&runtime) {
            problems.push(format!("{}: {err}", path.display()));
        }
    }
    for env in registry.environments.keys() {
        let resolved = registry.environment(env.as_str())?;
        let used = [&resolved.platform, &resolved.strategy]
            .into_iter()
            .chain(&resolved.health_policies)
            .chain(&resolved.admission_policies);
        for plugin in used {
            if let Err(err) = Declared::InEnvironment(plugin).load(&runtime) {
                let line = format!("{}: environment `{env}`: {err}", path.display());
                if !problems.iter().any(|p| p.ends_with(&err.to_string())) {
                    problems.push(line);
                }
            }
        }
    }
    if problems.is_empty() {
        println!(
            "{}: ok ({} plugins, {} environments)",
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
