//! `hoist-demo`: the small HTTP service Hoist deploys in its demo and
//! end-to-end tests. See `hoist-demo --help` for the knobs. The `hoist`
//! binary embeds it too (`hoist demo-service ...`), so the demo needs no
//! second build. `hoist-demo check` is its health check as a command (for
//! `FROM scratch` images, which have no curl).

mod behaviour;
pub mod check;
mod config;
mod healthcheck;
mod requires;
mod server;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use crate::behaviour::Behaviour;
use crate::config::Config;

/// Runs the service with these command-line arguments (the first is the
/// program name) until SIGTERM; `check` as the first argument runs the
/// health check instead.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let started = Instant::now();
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    if args.get(1).is_some_and(|a| a == "check") {
        return check::run(args.into_iter().skip(1));
    }
    let config = match Config::try_parse_from(args) {
        Ok(config) => config,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    if config.check_health {
        return healthcheck::run(config.port);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut behaviour = Behaviour::with_requires(&config, started, requires::Requires::start(config.require.clone()));
    if let Some(dir) = &config.data_dir {
        match count_start(dir) {
            Ok(n) => behaviour.starts = Some(n),
            Err(e) => {
                eprintln!("error: data directory {}: {e}", dir.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let result = runtime.block_on(async {
        let shutdown = match termination() {
            Ok(shutdown) => shutdown,
            Err(e) => return Err(format!("cannot install the SIGTERM handler: {e}")),
        };
        let addr = std::net::SocketAddr::new(config.host, config.port);
        server::serve(addr, behaviour, config.drain_timeout(), shutdown)
            .await
            .map_err(|e| format!("cannot serve on {addr}: {e}"))
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: in-flight requests did not finish within {} ms", config.drain_timeout_ms);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One more start in `dir/starts`; the count including this one.
fn count_start(dir: &std::path::Path) -> std::io::Result<u64> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("starts");
    let before = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<u64>().unwrap_or(0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    std::fs::write(&path, (before + 1).to_string())?;
    Ok(before + 1)
}

/// Resolves on the first SIGTERM or SIGINT.
fn termination() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
