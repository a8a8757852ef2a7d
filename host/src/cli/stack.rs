//! `hoist stack import`: read a Docker Compose file as a Hoist stack.

use std::path::PathBuf;

use clap::Subcommand;

use super::{Output, table};

#[derive(Subcommand, Debug)]
pub enum StackCommand {
    /// Import a Compose file: services, dependencies with their conditions,
    /// start waves; keys Hoist does not import are listed by line.
    Import {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

pub fn run(cmd: &StackCommand) -> anyhow::Result<bool> {
    let StackCommand::Import { file, output } = cmd;
    let imported = hoist_stack::import(file)?;
    if *output == Output::Json {
        let services: Vec<serde_json::Value> = imported
            .services
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name, "image": s.image, "build": s.build, "command": s.command,
                    "ports": s.ports, "env": s.env, "depends_on": s.depends_on,
                    "healthcheck": s.healthcheck.as_ref().map(|h| serde_json::json!({
                        "test": h.test, "interval_ms": h.interval_ms, "timeout_ms": h.timeout_ms,
                        "retries": h.retries, "start_period_ms": h.start_period_ms })),
                })
            })
            .collect();
        let unsupported: Vec<String> = imported.unsupported.iter().map(ToString::to_string).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "services": services,
                "start_order": imported.graph.start_order(),
                "unsupported": unsupported,
            }))?
        );
        return Ok(true);
    }
    let rows: Vec<Vec<String>> = imported
        .services
        .iter()
        .map(|s| {
            let deps = s.depends_on.iter().map(|(d, c)| format!("{d} ({c:?})")).collect::<Vec<_>>().join(", ");
            vec![
                s.name.clone(),
                s.image.clone().or_else(|| s.build.as_ref().map(|b| format!("build {b}"))).unwrap_or_default(),
                if deps.is_empty() { "-".into() } else { deps },
                if s.healthcheck.is_some() { "yes".into() } else { "-".into() },
            ]
        })
        .collect();
    print!("{}", table::render(&["SERVICE", "IMAGE", "DEPENDS ON", "HEALTHCHECK"], &rows));
    println!("start order: {}", imported.graph.start_order().join(" → "));
    for u in &imported.unsupported {
        eprintln!("warning: {}: {u}", file.display());
    }
    Ok(true)
}
