//! `hoist serve`: the long-running control plane.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hoist_registry::Registry;
use hoist_store::Store;

use super::Cli;
use crate::api::server::{ApiState, routes};
use crate::controlplane;
use crate::engine::EngineConfig;

pub fn run(cli: &Cli, listen: SocketAddr, state: &Path, auth_reads: bool) -> anyhow::Result<bool> {
    if !listen.ip().is_loopback() {
        anyhow::bail!("--listen {listen}: the API serves loopback addresses only (127.0.0.1, ::1)");
    }
    std::fs::create_dir_all(state).map_err(|e| anyhow::anyhow!("cannot create state directory {}: {e}", state.display()))?;
    let token = token(state)?;
    let registry = Registry::load(&cli.registry)?;
    let runtime = Arc::new(cli.runtime()?.with_durable_processes(state));
    let store = Arc::new(Store::open(state.join("state.db"))?);
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    tokio.block_on(async move {
        // A rollout waiting for readiness looks again every 250 ms (as in
        // `hoist demo`): each health-gated batch starts that much sooner.
        let config = EngineConfig { poll_ms: 250, ..EngineConfig::default() };
        let plane = controlplane::build(runtime, &registry, store, config)?;
        let api = routes(Arc::new(ApiState { driver: plane.driver.clone(), token, auth_reads }));
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        std::fs::write(state.join("serve.addr"), format!("http://{addr}"))?;
        eprintln!("hoist serve: API on http://{addr}, state in {}, token in {}", state.display(), state.join("token").display());
        let shutdown = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let driver_task = tokio::spawn(plane.driver.clone().run({
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.changed().await;
            }
        }));
        let at_rest_task = tokio::spawn(crate::engine::at_rest::run(plane.driver.engine.clone(), {
            let mut rx = stop_rx.clone();
            async move {
                let _ = rx.changed().await;
            }
        }));
        let server = axum::serve(listener, api).with_graceful_shutdown({
            let mut rx = stop_rx;
            async move {
                let _ = rx.changed().await;
            }
        });
        let server_task = tokio::spawn(async move { server.await });
        shutdown.await;
        // Instances keep serving: a control plane restart adopts them.
        eprintln!("hoist serve: stopping; running instances are left serving and will be adopted on restart");
        let _ = stop_tx.send(true);
        let _ = driver_task.await;
        let _ = at_rest_task.await;
        let _ = server_task.await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(true)
}

/// `HOIST_TOKEN`, else the token in `state/token` (created on first use).
fn token(state: &Path) -> anyhow::Result<String> {
    if let Ok(t) = std::env::var("HOIST_TOKEN") {
        return Ok(t);
    }
    let path = state.join("token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        return Ok(t.trim().to_string());
    }
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))?;
    let t = hex::encode(bytes);
    std::fs::write(&path, &t)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(t)
}

/// Where the CLI finds the control plane: `--server`, `HOIST_SERVER`, the
/// address `hoist serve` wrote to its state directory, or the default.
pub fn server_url(explicit: Option<&str>, state: &Path) -> String {
    explicit
        .map(str::to_string)
        .or_else(|| std::fs::read_to_string(state.join("serve.addr")).ok().map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "http://127.0.0.1:7070".into())
}

pub fn client_token(state: &Path) -> Option<String> {
    std::env::var("HOIST_TOKEN").ok().or_else(|| std::fs::read_to_string(state.join("token")).ok().map(|t| t.trim().to_string()))
}
