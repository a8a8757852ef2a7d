//! The `hoist` command line.

mod demo;
mod plugins;
mod registry;
mod table;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::runtime::{CacheSetting, Runtime};

#[derive(Parser, Debug)]
#[command(name = "hoist", version, about = "Deployments whose strategies, policies and platforms are sandboxed WebAssembly plugins")]
pub struct Cli {
    /// The plugin registry (TOML).
    #[arg(long, global = true, env = "HOIST_REGISTRY", default_value = "registry.toml")]
    pub registry: PathBuf,
    /// Where compiled plugins are cached (default: $HOIST_CACHE_DIR, $XDG_CACHE_HOME/hoist or ~/.cache/hoist).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile every plugin afresh and cache nothing.
    #[arg(long, global = true, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// Format of log lines on stderr (`RUST_LOG` sets the level).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum Output {
    #[default]
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a registry file.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// List and inspect the plugins a registry declares.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Run a scenario through the real engine and plugins in virtual time
    /// against a simulated platform; print its timeline.
    Simulate {
        /// The scenario file (see examples/scenarios/).
        scenario: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Deploy Hoist's demo service on local processes behind Hoist's router:
    /// v1, a bad v2 that the canary rolls back, a good v3 that is promoted.
    Demo,
    /// Hoist's demo HTTP service (what `hoist demo` deploys).
    #[command(hide = true, disable_help_flag = true)]
    DemoService {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

impl Cli {
    fn runtime(&self) -> anyhow::Result<Runtime> {
        let cache = if self.no_cache {
            CacheSetting::Off
        } else if let Some(dir) = &self.cache_dir {
            CacheSetting::At(dir.clone())
        } else {
            CacheSetting::Default
        };
        Runtime::new(cache)
    }
}

/// Runs the command; `Ok(false)` means it ran and found problems (exit 1).
pub fn run(cli: Cli) -> anyhow::Result<bool> {
    match &cli.command {
        Command::Registry(cmd) => registry::run(&cli, cmd),
        Command::Plugins(cmd) => plugins::run(&cli, cmd),
        Command::Simulate { scenario, output } => simulate(&cli, scenario, *output),
        Command::Demo => demo::run(cli.runtime()?, "plugins: the builtins embedded in this binary"),
        Command::DemoService { args } => {
            let argv = std::iter::once("hoist-demo".to_string()).chain(args.iter().cloned());
            Ok(hoist_demo_service::run(argv) == std::process::ExitCode::SUCCESS)
        }
    }
}

fn simulate(cli: &Cli, path: &std::path::Path, output: Output) -> anyhow::Result<bool> {
    let scenario = crate::simulate::scenario::Scenario::load(path)?;
    let runtime = cli.runtime()?;
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcome = tokio.block_on(crate::simulate::simulate(&runtime, &scenario))?;
    match output {
        Output::Json => println!("{}", crate::simulate::render_json(&outcome)?),
        Output::Table => print!("{}", crate::simulate::render_text(&outcome)),
    }
    Ok(true)
}
