//! The CLI verbs that talk to a running control plane.

use std::time::Duration;

use clap::{Args, Subcommand};
use hoist_store::{DecisionRecord, Revision, Rollout};

use super::serve::{client_token, server_url};
use super::{Cli, Output, table};
use crate::api::client::{Client, path};
use crate::api::wire::{RollbackBody, StatusView, VerbBody};
use crate::engine::{DeployRequest, ServiceSpec};

#[derive(Args, Debug)]
pub struct DeployArgs {
    pub service: String,
    #[arg(long)]
    pub env: String,
    /// The version label (an image tag, a release name).
    #[arg(long)]
    pub version: String,
    #[arg(long, default_value_t = 1)]
    pub replicas: u32,
    /// A strategy plugin instead of the environment's default.
    #[arg(long)]
    pub strategy: Option<String>,
    /// The service's front door on Hoist's router (host:port).
    #[arg(long)]
    pub router: Option<String>,
    /// Probe each instance with GET on this path before it counts as ready.
    #[arg(long)]
    pub probe_path: Option<String>,
    /// When an instance that exits at rest is replaced.
    #[arg(long, value_enum, default_value_t)]
    pub restart: crate::engine::heal::RestartPolicy,
    /// An image, for container platforms.
    #[arg(long)]
    pub image: Option<String>,
    /// The port the service listens on inside its instance (container platforms publish it).
    #[arg(long)]
    pub port: Option<u16>,
    /// Environment variables of the service, KEY=VALUE.
    #[arg(long = "set-env", value_parser = parse_kv)]
    pub env_vars: Vec<(String, String)>,
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Follow the rollout until it ends; exit 0 only if it completed.
    #[arg(long)]
    pub wait: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    /// The command each instance runs (after `--`).
    #[arg(last = true)]
    pub command: Vec<String>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
}

#[derive(Subcommand, Debug)]
pub enum Verb {
    /// Finish the current step (or pause); `--full` skips every remaining step and analysis.
    Promote {
        rollout: String,
        #[arg(long)]
        full: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Hold the rollout where it is.
    Pause {
        rollout: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Continue a paused rollout.
    Resume {
        rollout: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Give up: all traffic and full replicas back on the stable revision.
    Abort {
        rollout: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Grant a rollout held by an approval policy.
    Approve {
        rollout: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Skip the current step.
    SkipStep {
        rollout: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

pub(super) fn who() -> String {
    std::env::var("HOIST_OPERATOR").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "operator".into())
}

pub(super) fn client(cli: &Cli) -> Client {
    Client::new(&server_url(cli.server.as_deref(), &cli.state), client_token(&cli.state))
}

pub(super) fn block<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(f)
}

pub fn deploy(cli: &Cli, a: &DeployArgs) -> anyhow::Result<bool> {
    names(&a.service, &a.env)?;
    if a.command.is_empty() && a.image.is_none() {
        anyhow::bail!(
            "deploy `{}`: nothing to run; give the command after `--` (hoist deploy {} --env {} --version {} -- ./server --port 8080), or --image for a container platform",
            a.service,
            a.service,
            a.env,
            a.version
        );
    }
    let probe = a.probe_path.as_ref().map(|p| hoist_probe::ProbeSpec::http(p.clone()));
    let body = DeployRequest {
        service: a.service.clone(),
        environment: a.env.clone(),
        version: a.version.clone(),
        spec: ServiceSpec {
            image: a.image.clone(),
            command: a.command.clone(),
            env: a.env_vars.clone(),
            port: a.port,
            replicas: a.replicas,
            router: a.router.clone(),
            probe,
            restart: a.restart,
            stack: None,
            volumes: Vec::new(),
            strategy_config: None,
            extensions: Vec::new(),
        },
        strategy: a.strategy.clone(),
        requested_by: who(),
        reason: a.reason.clone(),
    };
    block(async {
        let c = client(cli);
        let r: Rollout = c.post("/v1/deploy", &body).await?.ok_or_else(|| anyhow::anyhow!("empty answer"))?;
        if a.output == Output::Json && !a.wait {
            println!("{}", serde_json::to_string_pretty(&r)?);
            return Ok(true);
        }
        println!(
            "rollout {} of {} {} ({}) started with strategy `{}`",
            r.id, r.service, r.candidate, a.version, r.strategy
        );
        if !a.wait {
            return Ok(true);
        }
        follow(&c, &r.id, a.output).await
    })
}

/// Prints each new state of the rollout until it ends; true if it completed.
async fn follow(c: &Client, id: &str, output: Output) -> anyhow::Result<bool> {
    let mut last = String::new();
    loop {
        let view: serde_json::Value = c.get(&path(&["rollouts", id])).await?;
        if let Some(stuck) = view.get("stuck").and_then(|v| v.as_str()) {
            anyhow::bail!("rollout {id} cannot take its next step: {stuck}");
        }
        let r: Rollout = serde_json::from_value(view)?;
        let line = format!("{} step {} {}", r.phase, r.step, r.status);
        if line != last {
            if output == Output::Table {
                println!("  {:<17} step {:<3} {}", r.phase.as_str(), r.step, r.status);
            }
            last = line;
        }
        if r.phase.is_terminal() {
            if output == Output::Json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("rollout {id} {}{}", r.phase, r.reason.map(|w| format!(": {w}")).unwrap_or_default());
            }
            return Ok(r.phase == hoist_store::Phase::Completed);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The CLI's side of the one naming rule: refused before any request.
fn names(service: &str, env: &str) -> anyhow::Result<()> {
    crate::names::check("service", service).map_err(anyhow::Error::msg)?;
    crate::names::check("environment", env).map_err(anyhow::Error::msg)
}

fn rollout_id(id: &str) -> anyhow::Result<()> {
    crate::names::check_rollout_id(id).map_err(anyhow::Error::msg)
}

pub fn verb(cli: &Cli, v: &Verb) -> anyhow::Result<bool> {
    let (rollout, name, reason) = match v {
        Verb::Promote { rollout, full, reason } => (rollout, if *full { "promote-full" } else { "promote" }, reason),
        Verb::Pause { rollout, reason } => (rollout, "pause", reason),
        Verb::Resume { rollout, reason } => (rollout, "resume", reason),
        Verb::Abort { rollout, reason } => (rollout, "abort", reason),
        Verb::Approve { rollout, reason } => (rollout, "approve", reason),
        Verb::SkipStep { rollout, reason } => (rollout, "skip-step", reason),
    };
    rollout_id(rollout)?;
    block(async {
        let body = VerbBody { operator: who(), reason: reason.clone() };
        client(cli).post::<_, serde_json::Value>(&path(&["rollouts", rollout, name]), &body).await?;
        println!("{name} sent to {rollout}");
        Ok(true)
    })
}

pub fn status(cli: &Cli, service: &str, env: &str, output: Output) -> anyhow::Result<bool> {
    names(service, env)?;
    block(async {
        let s: StatusView = client(cli).get(&path(&["services", service, env])).await?;
        if output == Output::Json {
            println!("{}", serde_json::to_string_pretty(&s)?);
            return Ok(true);
        }
        let current = s.current.as_ref().map(|r| format!("{} ({})", r.id, r.version)).unwrap_or_else(|| "none".into());
        println!("{service} in {env}: stable {current}");
        if let Some(r) = &s.rollout {
            println!(
                "rollout {} ({} → {}): {} at step {}: {}",
                r.id,
                r.stable.as_deref().unwrap_or("-"),
                r.candidate,
                r.phase,
                r.step,
                r.status
            );
        }
        if let Some(h) = &s.healing {
            let state = if h.crash_looping() { "CRASH-LOOPING, backing off" } else { "replaced" };
            println!("restarts  {} ({state}; last exit: {})", h.restarts, h.last_exit.as_deref().unwrap_or("-"));
        }
        if let Some(a) = &s.analysis {
            let why = a.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            println!("analysis  `{}` {}{why}", a.name, a.state);
            for line in &a.summary {
                println!("          {line}");
            }
        }
        if let Some(stuck) = &s.stuck {
            println!("STUCK     the control plane cannot step this rollout: {stuck}");
        }
        match &s.platform_error {
            Some(err) => println!("instances unknown: {err}"),
            None => println!("instances {}", s.observed["revisions"]),
        }
        println!("weights   {}", s.observed["weights"]);
        Ok(true)
    })
}

pub fn history(cli: &Cli, service: &str, env: &str, output: Output) -> anyhow::Result<bool> {
    names(service, env)?;
    block(async {
        let c = client(cli);
        let rollouts: Vec<Rollout> = c.get(&path(&["services", service, env, "history"])).await?;
        let revisions: Vec<Revision> = c.get(&path(&["services", service, env, "revisions"])).await?;
        if output == Output::Json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "rollouts": rollouts, "revisions": revisions }))?
            );
            return Ok(true);
        }
        let rows: Vec<Vec<String>> = rollouts
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    format!("{} → {}", r.stable.as_deref().unwrap_or("-"), r.candidate),
                    r.strategy.clone(),
                    r.phase.to_string(),
                    r.requested_by.clone(),
                    r.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print!("{}", table::render(&["ROLLOUT", "REVISIONS", "STRATEGY", "PHASE", "BY", "REASON"], &rows));
        println!(
            "kept revisions: {}",
            revisions.iter().map(|r| format!("{} ({})", r.id, r.version)).collect::<Vec<_>>().join(", ")
        );
        Ok(true)
    })
}

pub fn rollback(
    cli: &Cli,
    service: &str,
    env: &str,
    to: Option<String>,
    reason: &str,
    wait: bool,
) -> anyhow::Result<bool> {
    names(service, env)?;
    block(async {
        let c = client(cli);
        let body = RollbackBody { to, operator: who(), reason: reason.to_string() };
        let r: Rollout = c
            .post(&path(&["services", service, env, "rollback"]), &body)
            .await?
            .ok_or_else(|| anyhow::anyhow!("empty answer"))?;
        println!("rollback {} to {} started", r.id, r.candidate);
        if wait { follow(&c, &r.id, Output::Table).await } else { Ok(true) }
    })
}

pub fn scale(cli: &Cli, service: &str, env: &str, replicas: u32, reason: &str) -> anyhow::Result<bool> {
    names(service, env)?;
    block(async {
        let body = crate::api::wire::ScaleBody { replicas, operator: who(), reason: reason.to_string() };
        let record: DecisionRecord = client(cli)
            .post(&path(&["services", service, env, "scale"]), &body)
            .await?
            .ok_or_else(|| anyhow::anyhow!("empty answer"))?;
        match &record.error {
            Some(err) => {
                println!("{service} in {env}: scaled to {replicas} in the store, but the platform refused: {err}");
                Ok(false)
            }
            None => {
                println!(
                    "{service} in {env}: {} → {replicas} replicas of {}",
                    record.input["from"],
                    record.input["revision"].as_str().unwrap_or("?")
                );
                Ok(true)
            }
        }
    })
}

pub fn log(cli: &Cli, rollout: &str, output: Output) -> anyhow::Result<bool> {
    rollout_id(rollout)?;
    print_log(cli, &path(&["rollouts", rollout, "log"]), output)
}

/// Everything recorded for a service: its rollouts and its replacements at rest.
pub fn service_log(cli: &Cli, service: &str, env: &str, output: Output) -> anyhow::Result<bool> {
    names(service, env)?;
    print_log(cli, &path(&["services", service, env, "log"]), output)
}

fn print_log(cli: &Cli, path: &str, output: Output) -> anyhow::Result<bool> {
    block(async {
        let records: Vec<DecisionRecord> = client(cli).get(path).await?;
        if output == Output::Json {
            println!("{}", serde_json::to_string_pretty(&records)?);
            return Ok(true);
        }
        for r in records {
            println!(
                "#{:<5} {} {:<9} {:<14} {}{}{}",
                r.seq,
                r.at_ms,
                r.kind,
                r.plugin.as_deref().unwrap_or("-"),
                r.operator.as_deref().map(|o| format!("by {o} ")).unwrap_or_default(),
                r.reason.as_deref().unwrap_or(""),
                r.error.as_deref().map(|e| format!(" ERROR {e}")).unwrap_or_default()
            );
            print_plugin_output(r.plugin_output.as_ref());
        }
        Ok(true)
    })
}

/// A call's stdout, stderr and log lines, indented under its record.
fn print_plugin_output(output: Option<&serde_json::Value>) {
    let Some(output) = output else { return };
    for stream in ["stdout", "stderr"] {
        if let Some(text) = output.get(stream).and_then(|v| v.as_str()) {
            for line in text.lines() {
                println!("        {stream}: {line}");
            }
        }
    }
    for line in output.get("logs").and_then(|v| v.as_array()).into_iter().flatten() {
        let level = line.get("level").and_then(|v| v.as_str()).unwrap_or("info");
        let message = line.get("message").and_then(|v| v.as_str()).unwrap_or("");
        println!("        log {level}: {message}");
    }
}
