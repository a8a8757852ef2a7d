//! The `hoist` command line.

mod demo;
mod plugins;
mod registry;
mod serve;
mod stack;
mod table;
mod verbs;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::runtime::{CacheSetting, Runtime};

#[derive(Parser, Debug)]
#[command(
    name = "hoist",
    version,
    about = "Deployments whose strategies, policies and platforms are sandboxed WebAssembly plugins"
)]
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
    /// The control plane's state directory (store, token, process logs).
    #[arg(long, global = true, env = "HOIST_STATE", default_value = ".hoist")]
    pub state: PathBuf,
    /// The control plane's API (default: what `hoist serve` wrote to --state).
    #[arg(long, global = true, env = "HOIST_SERVER")]
    pub server: Option<String>,
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
    /// Multi-service stacks.
    #[command(subcommand)]
    Stack(stack::StackCommand),
    /// Run the control plane: the engine, routers and probes behind an
    /// HTTP/JSON API on loopback. Resumes in-flight rollouts after a restart.
    Serve {
        #[arg(long, default_value = "127.0.0.1:7070")]
        listen: std::net::SocketAddr,
        /// Serve read calls without the token (env values are then
        /// redacted from every answer).
        #[arg(long)]
        public_reads: bool,
        /// Start with an empty state store even though the state directory
        /// holds what an earlier control plane left (instances, logs).
        #[arg(long)]
        init: bool,
    },
    /// Deploy a new version of a service.
    Deploy(verbs::DeployArgs),
    /// The service's stable revision, latest rollout, instances and weights.
    Status {
        service: String,
        #[arg(long)]
        env: String,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Past rollouts and kept revisions of a service.
    History {
        service: String,
        #[arg(long)]
        env: String,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Roll back to a kept revision (default: the one before the current).
    Rollback {
        service: String,
        #[arg(long)]
        env: String,
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long)]
        wait: bool,
    },
    /// Another replica count for a service at rest (no new revision).
    Scale {
        service: String,
        #[arg(long)]
        env: String,
        #[arg(long)]
        replicas: u32,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// A rollout's decision log.
    Log {
        /// A rollout id; with --env, a service (its whole log: rollouts and
        /// replacements at rest).
        rollout: String,
        #[arg(long)]
        env: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    #[command(flatten)]
    Verb(verbs::Verb),
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
        Runtime::new(self.cache_setting())
    }

    fn cache_setting(&self) -> CacheSetting {
        if self.no_cache {
            CacheSetting::Off
        } else if let Some(dir) = &self.cache_dir {
            CacheSetting::At(dir.clone())
        } else {
            CacheSetting::Default
        }
    }
}

/// Runs the command; `Ok(false)` means it ran and found problems (exit 1).
pub fn run(cli: Cli) -> anyhow::Result<bool> {
    match &cli.command {
        Command::Registry(cmd) => registry::run(&cli, cmd),
        Command::Plugins(cmd) => plugins::run(&cli, cmd),
        Command::Simulate { scenario, output } => simulate(&cli, scenario, *output),
        Command::Stack(cmd) => stack::run(&cli, cmd),
        Command::Serve { listen, public_reads, init } => {
            serve::run(&cli, *listen, &cli.state, serve::Options { public_reads: *public_reads, init: *init })
        }
        Command::Deploy(args) => verbs::deploy(&cli, args),
        Command::Status { service, env, output } => verbs::status(&cli, service, env, *output),
        Command::History { service, env, output } => verbs::history(&cli, service, env, *output),
        Command::Scale { service, env, replicas, reason } => verbs::scale(&cli, service, env, *replicas, reason),
        Command::Rollback { service, env, to, reason, wait } => {
            verbs::rollback(&cli, service, env, to.clone(), reason, *wait)
        }
        Command::Log { rollout, env: None, output } => verbs::log(&cli, rollout, *output),
        Command::Log { rollout: service, env: Some(env), output } => verbs::service_log(&cli, service, env, *output),
        Command::Verb(v) => verbs::verb(&cli, v),
        Command::Demo => demo::run(cli.runtime()?, "plugins: the builtins embedded in this binary"),
        Command::DemoService { args } => {
            let argv = std::iter::once("hoist-demo".to_string()).chain(args.iter().cloned());
            Ok(hoist_demo_service::run(argv) == std::process::ExitCode::SUCCESS)
        }
    }
}

fn simulate(cli: &Cli, path: &std::path::Path, output: Output) -> anyhow::Result<bool> {
    let scenario = crate::simulate::scenario::Scenario::load(path)?;
    // Fuel, not wall time, bounds each call: the same scenario gives the
    // same bytes on any machine.
    let runtime = Runtime::deterministic(cli.cache_setting())?;
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcome = tokio.block_on(crate::simulate::simulate(&runtime, &scenario))?;
    match output {
        Output::Json => println!("{}", crate::simulate::render_json(&outcome)?),
        Output::Table => print!("{}", crate::simulate::render_text(&outcome)),
    }
    Ok(true)
}
