//! `hoist serve`: the long-running control plane.

use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::sync::Arc;

use hoist_registry::Registry;
use hoist_store::Store;

use super::Cli;
use crate::api::server::{ApiState, routes};
use crate::capabilities::Capabilities;
use crate::engine::EngineConfig;
use crate::live::{Config, ControlPlane};

/// Bytes of output kept per instance log (plus one rotated copy).
pub const INSTANCE_LOG_CAP: u64 = 16 << 20;

pub struct Options {
    pub public_reads: bool,
    pub init: bool,
}

pub fn run(cli: &Cli, listen: SocketAddr, state: &Path, options: Options) -> anyhow::Result<bool> {
    if !listen.ip().is_loopback() {
        anyhow::bail!("--listen {listen}: the API serves loopback addresses only (127.0.0.1, ::1)");
    }
    // 0700 from the start: the store, the token and the instance logs in it
    // are the operator's alone, with no window where they are readable.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state)
        .map_err(|e| anyhow::anyhow!("cannot create state directory {}: {e}", state.display()))?;
    refuse_lost_store(state, options.init)?;
    let token = token(state)?;
    let auth_reads = !options.public_reads;
    let registry = Registry::load(&cli.registry)?;
    let runtime = Arc::new(cli.runtime()?.with_capabilities(Capabilities::durable(state)?));
    let store = Arc::new(open_store(&state.join("state.db"))?);
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    tokio.block_on(async move {
        // A rollout waiting for readiness looks again every 250 ms (as in
        // `hoist demo`): each health-gated batch starts that much sooner.
        let config = Config {
            runtime,
            registry: &registry,
            store,
            engine: EngineConfig { poll_ms: 250, ..EngineConfig::default() },
            instance_log_cap: Some(INSTANCE_LOG_CAP),
        };
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let shutdown = async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            // Instances keep serving: a control plane restart adopts them.
            eprintln!("hoist serve: stopping; running instances are left serving and will be adopted on restart");
            let _ = stop_tx.send(true);
        };
        ControlPlane::run(config, shutdown, |plane| {
            let api = routes(Arc::new(ApiState { driver: plane.driver.clone(), token, auth_reads }));
            async move {
                let addr = listener.local_addr()?;
                std::fs::write(state.join("serve.addr"), format!("http://{addr}"))?;
                eprintln!("hoist serve: API on http://{addr}, state in {}, token in {}", state.display(), state.join("token").display());
                let mut rx = stop_rx;
                crate::api::listen::serve(listener, api, async move {
                    let _ = rx.changed().await;
                })
                .await;
                Ok(())
            }
        })
        .await
    })?;
    Ok(true)
}

/// A state store that is missing or empty while the state directory shows
/// an earlier control plane ran there (its process table, instance logs)
/// is lost state, not a first start: starting empty would run the old
/// instances' replacements beside them.
fn refuse_lost_store(state: &Path, init: bool) -> anyhow::Result<()> {
    let db = state.join("state.db");
    let empty = std::fs::metadata(&db).map(|m| m.len() == 0).unwrap_or(true);
    if !empty || init {
        return Ok(());
    }
    let table = std::fs::metadata(state.join("processes.json")).is_ok_and(|m| m.len() > 2);
    let logs = std::fs::read_dir(state.join("logs")).is_ok_and(|mut d| d.next().is_some());
    if table || logs {
        let what = if std::fs::metadata(&db).is_ok() { "is empty" } else { "is missing" };
        anyhow::bail!(
            "{} {what}, but {} holds what an earlier control plane left ({}); restore the store from a backup, \
             point --state at the right directory, or start afresh with `hoist serve --init`",
            db.display(),
            state.display(),
            if table { "processes.json" } else { "instance logs" }
        );
    }
    Ok(())
}

/// Opens the store, creating the file 0600 first when it is new.
fn open_store(path: &Path) -> anyhow::Result<Store> {
    if std::fs::metadata(path).is_err() {
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    }
    Ok(Store::open(path)?)
}

/// `HOIST_TOKEN`, else the token in `state/token` (created on first use,
/// 0600 from its first byte).
fn token(state: &Path) -> anyhow::Result<String> {
    if let Ok(t) = std::env::var("HOIST_TOKEN") {
        return Ok(t);
    }
    let path = state.join("token");
    match hoist_files::read_text(&path, 4096) {
        Ok(t) => return Ok(t.trim().to_string()),
        Err(err) if err.is_not_found() => {}
        Err(err) => anyhow::bail!("{err}"),
    }
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))?;
    let t = hex::encode(bytes);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
    std::io::Write::write_all(&mut file, t.as_bytes())?;
    Ok(t)
}

/// Where the CLI finds the control plane: `--server`, `HOIST_SERVER`, the
/// address `hoist serve` wrote to its state directory, or the default.
pub fn server_url(explicit: Option<&str>, state: &Path) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| hoist_files::read_text(&state.join("serve.addr"), 4096).ok().map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "http://127.0.0.1:7070".into())
}

pub fn client_token(state: &Path) -> Option<String> {
    std::env::var("HOIST_TOKEN")
        .ok()
        .or_else(|| hoist_files::read_text(&state.join("token"), 4096).ok().map(|t| t.trim().to_string()))
}
