//! `hoist stack`: import a Compose file; deploy, follow, roll back stacks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Subcommand, ValueEnum};

use super::verbs::{block, client, who};
use super::{Cli, Output, table};
use crate::api::client::Client;
use crate::api::wire::{StackDeployBody, VerbBody};
use crate::stack::{StackPhase, StackRollout};

#[derive(Subcommand, Debug)]
pub enum StackCommand {
    /// Read a Compose file as a Hoist stack: prints it as stack TOML (or a
    /// table / JSON); keys Hoist does not import are listed by line.
    Import {
        file: PathBuf,
        #[command(flatten)]
        read: ReadArgs,
        #[arg(long, value_enum, default_value_t)]
        output: ImportOutput,
    },
    /// Update the stack's changed services in dependency order, each with
    /// its own strategy; a failure rolls back the updated ones in reverse
    /// order. FILE is a stack TOML or a Compose file.
    Deploy {
        file: PathBuf,
        #[command(flatten)]
        read: ReadArgs,
        #[arg(long)]
        env: String,
        #[arg(long, default_value = "")]
        reason: String,
        /// Follow until it ends; exit 0 only if it completed.
        #[arg(long)]
        wait: bool,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// The stack's latest rollout and where each service stands.
    Status {
        stack: String,
        #[arg(long)]
        env: String,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// The stack's past rollouts.
    History {
        stack: String,
        #[arg(long)]
        env: String,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Roll back what the latest completed stack rollout updated, in
    /// reverse dependency order.
    Rollback {
        stack: String,
        #[arg(long)]
        env: String,
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long)]
        wait: bool,
    },
    /// Remove every service of the stack, dependents first.
    Down {
        stack: String,
        #[arg(long)]
        env: String,
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long)]
        wait: bool,
    },
}

/// How the stack file is read, as `docker compose` reads it.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReadArgs {
    /// Activate a profile (repeatable; `COMPOSE_PROFILES` adds more): the
    /// services of other profiles are left out.
    #[arg(long = "profile")]
    pub profiles: Vec<String>,
    /// Read variables from this file instead of the `.env` beside the
    /// stack file (repeatable; the shell's environment still wins).
    #[arg(long = "env-file")]
    pub env_files: Vec<PathBuf>,
}

impl ReadArgs {
    fn load(&self, file: &Path) -> Result<hoist_stack::Loaded, hoist_stack::StackError> {
        let options = hoist_stack::LoadOptions { profiles: self.profiles.clone(), env_files: self.env_files.clone() };
        hoist_stack::load_with(file, &options)
    }
}

#[derive(Clone, Copy, Debug, Default, ValueEnum, PartialEq, Eq)]
pub enum ImportOutput {
    #[default]
    Toml,
    Table,
    Json,
}

pub fn run(cli: &Cli, cmd: &StackCommand) -> anyhow::Result<bool> {
    match cmd {
        StackCommand::Import { file, read, output } => import(file, read, *output),
        StackCommand::Deploy { file, read, env, reason, wait, output } => {
            deploy(cli, file, read, env, reason, *wait, *output)
        }
        StackCommand::Status { stack, env, output } => status(cli, stack, env, *output),
        StackCommand::History { stack, env, output } => history(cli, stack, env, *output),
        StackCommand::Rollback { stack, env, reason, wait } => unwind(cli, stack, env, reason, *wait, "rollback"),
        StackCommand::Down { stack, env, reason, wait } => unwind(cli, stack, env, reason, *wait, "down"),
    }
}

fn import(file: &Path, read: &ReadArgs, output: ImportOutput) -> anyhow::Result<bool> {
    let loaded = read.load(file)?;
    for u in &loaded.unsupported {
        eprintln!("warning: {}: {u}", file.display());
    }
    for n in &loaded.notes {
        eprintln!("note: {}: {n}", file.display());
    }
    for w in &loaded.warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    match output {
        ImportOutput::Toml => {
            print!("{}", hoist_stack::definition::to_toml(&loaded.stack).map_err(anyhow::Error::msg)?)
        }
        ImportOutput::Json => {
            let unsupported: Vec<String> = loaded.unsupported.iter().map(ToString::to_string).collect();
            let value = serde_json::json!({
                "stack": loaded.stack,
                "start_order": loaded.graph.start_order(),
                "unsupported": unsupported,
                "notes": loaded.notes,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        ImportOutput::Table => {
            let rows: Vec<Vec<String>> = loaded
                .stack
                .services
                .iter()
                .map(|(name, s)| {
                    let deps = s.depends_on.iter().map(|(d, c)| format!("{d} ({c:?})")).collect::<Vec<_>>().join(", ");
                    vec![
                        name.clone(),
                        s.image.clone().unwrap_or_else(|| s.command.join(" ")),
                        if deps.is_empty() { "-".into() } else { deps },
                        if s.readiness().is_some() { "yes".into() } else { "-".into() },
                    ]
                })
                .collect();
            print!("{}", table::render(&["SERVICE", "RUNS", "DEPENDS ON", "PROBE"], &rows));
            println!("start order: {}", loaded.graph.start_order().join(" → "));
        }
    }
    Ok(true)
}

fn deploy(
    cli: &Cli,
    file: &Path,
    read: &ReadArgs,
    env: &str,
    reason: &str,
    wait: bool,
    output: Output,
) -> anyhow::Result<bool> {
    let loaded = read.load(file)?;
    for u in &loaded.unsupported {
        eprintln!("warning: {}: {u}", file.display());
    }
    for n in &loaded.notes {
        eprintln!("note: {}: {n}", file.display());
    }
    for w in &loaded.warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    let body = StackDeployBody {
        definition: loaded.stack,
        environment: env.into(),
        requested_by: who(),
        reason: reason.into(),
    };
    block(async {
        let c = client(cli);
        let r: StackRollout =
            c.post("/v1/stacks/deploy", &body).await?.ok_or_else(|| anyhow::anyhow!("empty answer"))?;
        if output == Output::Json && !wait {
            println!("{}", serde_json::to_string_pretty(&r)?);
            return Ok(true);
        }
        let changed = r.services.values().filter(|s| s.state != crate::stack::ServiceState::Unchanged).count();
        println!("stack rollout {} started: {changed} of {} services to update", r.id, r.services.len());
        if wait { Ok(follow(&c, &r.id, output).await? == StackPhase::Completed) } else { Ok(true) }
    })
}

/// Prints every change of a service's state until the stack rollout ends;
/// returns its final phase.
async fn follow(c: &Client, id: &str, output: Output) -> anyhow::Result<StackPhase> {
    let mut seen = std::collections::BTreeMap::new();
    loop {
        let r: StackRollout = c.get(&crate::api::client::path(&["stack-rollouts", id])).await?;
        if output == Output::Table {
            for (name, s) in &r.services {
                let line = format!("{:?} {}", s.state, s.message);
                if seen.get(name) != Some(&line) {
                    println!("  {name:<16} {:<13} {}", state_name(s.state), s.message);
                    seen.insert(name.clone(), line);
                }
            }
        }
        if r.phase.is_terminal() {
            if output == Output::Json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "stack rollout {id} {}{}",
                    r.phase.as_str(),
                    r.outcome.map(|o| format!(": {o}")).unwrap_or_default()
                );
            }
            return Ok(r.phase);
        }
        // Short: `--wait` returning late would be counted against the stack.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn state_name(s: crate::stack::ServiceState) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn status(cli: &Cli, stack: &str, env: &str, output: Output) -> anyhow::Result<bool> {
    block(async {
        let list: Vec<StackRollout> =
            client(cli).get(&crate::api::client::path(&["stacks", stack, env, "history"])).await?;
        let Some(r) = list.into_iter().next() else {
            anyhow::bail!(
                "stack `{stack}` has no rollout in `{env}`; start one with `hoist stack deploy FILE --env {env}`"
            );
        };
        if output == Output::Json {
            println!("{}", serde_json::to_string_pretty(&r)?);
            return Ok(true);
        }
        println!(
            "stack {stack} in {env}: rollout {} {}{}",
            r.id,
            r.phase.as_str(),
            r.outcome.as_deref().map(|o| format!(": {o}")).unwrap_or_default()
        );
        let rows: Vec<Vec<String>> = r
            .order
            .iter()
            .filter_map(|name| r.services.get(name).map(|s| (name, s)))
            .map(|(name, s)| {
                vec![
                    name.clone(),
                    state_name(s.state),
                    s.version.clone(),
                    s.rollout.clone().unwrap_or_else(|| "-".into()),
                    s.message.clone(),
                ]
            })
            .collect();
        print!("{}", table::render(&["SERVICE", "STATE", "VERSION", "ROLLOUT", "DETAIL"], &rows));
        Ok(true)
    })
}

fn history(cli: &Cli, stack: &str, env: &str, output: Output) -> anyhow::Result<bool> {
    block(async {
        let list: Vec<StackRollout> =
            client(cli).get(&crate::api::client::path(&["stacks", stack, env, "history"])).await?;
        if output == Output::Json {
            println!("{}", serde_json::to_string_pretty(&list)?);
            return Ok(true);
        }
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|r| {
                let kind = match &r.kind {
                    crate::stack::StackKind::Deploy => "deploy".to_string(),
                    crate::stack::StackKind::Rollback { of } => format!("rollback of {of}"),
                    crate::stack::StackKind::Teardown => "down".to_string(),
                };
                vec![
                    r.id.clone(),
                    kind,
                    r.phase.as_str().into(),
                    r.requested_by.clone(),
                    r.outcome.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print!("{}", table::render(&["STACK ROLLOUT", "KIND", "PHASE", "BY", "OUTCOME"], &rows));
        Ok(true)
    })
}

/// `rollback` or `down`: both unwind services in reverse dependency order.
fn unwind(cli: &Cli, stack: &str, env: &str, reason: &str, wait: bool, verb: &str) -> anyhow::Result<bool> {
    block(async {
        let c = client(cli);
        let body = VerbBody { operator: who(), reason: reason.into() };
        let r: StackRollout = c
            .post(&crate::api::client::path(&["stacks", stack, env, verb]), &body)
            .await?
            .ok_or_else(|| anyhow::anyhow!("empty answer"))?;
        println!("stack {verb} {} started", r.id);
        if !wait {
            return Ok(true);
        }
        let success = if verb == "down" { StackPhase::Completed } else { StackPhase::RolledBack };
        Ok(follow(&c, &r.id, Output::Table).await? == success)
    })
}
