//! `hoist demo`: the whole product on local processes in well under a
//! minute. The control plane runs in-process; the service is Hoist's own
//! demo server (this binary, `hoist demo-service`); traffic flows through
//! Hoist's router under generated load. v1 is deployed, a bad v2 is
//! canaried and rolled back by the health policy, a good v3 is promoted.

use hoist_store::DecisionKind;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hoist_registry::Registry;
use hoist_store::{Phase, Store};

use crate::engine::{DeployRequest, EngineConfig, ServiceSpec};
use crate::live::driver::Driver;
use crate::live::{Config, ControlPlane};
use crate::runtime::Runtime;
use crate::runtime::bindings::base::hoist::plugin::types::Verdict;
use crate::runtime::bindings::health::exports::hoist::plugin::health::Evaluation;

const REGISTRY: &str = r#"version = 1

[plugins.canary]
kind = "strategy"
source = "builtin:canary"
config = { initial-weight = 20, step-weight = 30, max-weight = 50, step-duration-ms = 4000, failure-threshold = 1 }

[plugins.threshold]
kind = "health-policy"
source = "builtin:threshold"
config = { max-error-rate = 0.05, min-requests = 20 }

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
config = { stop-grace-ms = 3000 }

[environments.demo]
platform = "local-process"
strategy = "canary"
health-policies = ["threshold"]
"#;

/// Client-side counts of the generated load.
#[derive(Default)]
struct Load {
    ok: AtomicU64,
    server_errors: AtomicU64,
    failed: AtomicU64,
}

impl Load {
    fn take(&self) -> (u64, u64, u64) {
        (
            self.ok.swap(0, Ordering::Relaxed),
            self.server_errors.swap(0, Ordering::Relaxed),
            self.failed.swap(0, Ordering::Relaxed),
        )
    }
}

pub fn run(runtime: Runtime, cache_note: &str) -> anyhow::Result<bool> {
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    tokio.block_on(demo(Arc::new(runtime), cache_note))
}

async fn demo(runtime: Arc<Runtime>, cache_note: &str) -> anyhow::Result<bool> {
    let dir = tempfile_dir()?;
    let registry_path = dir.join("registry.toml");
    std::fs::write(&registry_path, REGISTRY)?;
    let registry = Registry::load(&registry_path)?;
    let store = Arc::new(Store::open(dir.join("state.db"))?);
    let config = Config {
        runtime: runtime.clone(),
        registry: &registry,
        store: store.clone(),
        engine: EngineConfig { poll_ms: 250, ready_recheck_ms: 5_000, ..EngineConfig::default() },
        instance_log_cap: None,
    };
    // The scenario ends the plane; no signal stops it earlier.
    let ok = ControlPlane::run(config, std::future::pending(), |plane| {
        scenario(plane.driver.clone(), store.clone(), dir.clone(), cache_note.to_string())
    })
    .await?;
    runtime.capabilities().processes().stop_all(Duration::from_secs(3)).await;
    let log = store.decision_log(&Default::default())?;
    // How fast a failing verdict took traffic off the bad build.
    let failed = |output: &serde_json::Value| {
        serde_json::from_value::<Evaluation>(output.clone()).is_ok_and(|e| matches!(e.verdict, Verdict::Fail(_)))
    };
    let failed_at = log.iter().find(|r| r.kind == DecisionKind::Evaluate && failed(&r.output)).map(|r| r.at_ms);
    let switched_at = log.iter().find(|r| r.kind == DecisionKind::Rollback).map(|r| r.at_ms);
    if let (Some(f), Some(s)) = (failed_at, switched_at) {
        println!("failing verdict → 100 % of traffic on the stable revision: {} ms", s.saturating_sub(f));
        println!("verdict_to_stable_traffic {} ms", s.saturating_sub(f));
    }
    println!("decision log: {} records in {}", log.len(), dir.join("state.db").display());
    Ok(ok)
}

/// v1, a bad v2, v3 under load, on the running plane.
async fn scenario(driver: Arc<Driver>, store: Arc<Store>, dir: PathBuf, cache_note: String) -> anyhow::Result<bool> {
    let front = free_port()?;
    let exe = std::env::current_exe()?.display().to_string();
    let spec = |version: &str, error_rate: f64| ServiceSpec {
        command: vec![
            exe.clone(),
            "demo-service".into(),
            "--version".into(),
            version.into(),
            "--error-rate".into(),
            error_rate.to_string(),
            "--startup-ms".into(),
            "300".into(),
        ],
        replicas: 3,
        router: Some(format!("127.0.0.1:{front}")),
        probe: serde_json::from_value(serde_json::json!({
            "kind": { "http": { "path": "/healthz" } }, "interval": "200ms", "timeout": "1s", "failure-threshold": 2
        }))
        .ok(),
        ..ServiceSpec::default()
    };
    println!("hoist demo — control plane in-process, state in {}", dir.display());
    println!("{cache_note}");
    println!("service `shop` in `demo`: 3 local processes behind Hoist's router on 127.0.0.1:{front}\n");

    let started = Instant::now();
    let load = Arc::new(Load::default());
    let running = Arc::new(AtomicBool::new(true));
    let mut clients = Vec::new();

    let mut ok = true;
    let plan = [
        ("v1", 0.0, Phase::Completed, "first deployment"),
        ("v2", 0.25, Phase::RolledBack, "a bad build: a quarter of its answers are 500"),
        ("v3", 0.0, Phase::Completed, "the fix"),
    ];
    let mut summary = Vec::new();
    for (version, error_rate, expect, what) in plan {
        println!("── deploy {version} ({what})");
        load.take();
        let rollout = driver.engine.deploy(&DeployRequest {
            service: "shop".into(),
            environment: "demo".into(),
            version: version.into(),
            spec: spec(version, error_rate),
            strategy: None,
            requested_by: "demo".into(),
            reason: what.into(),
        })?;
        driver.poke();
        let phase = follow(&store, &rollout.id, started, Duration::from_secs(60)).await?;
        let (o, e, f) = load.take();
        let ended = store.rollout(&rollout.id)?.map(|r| r.reason.unwrap_or_default()).unwrap_or_default();
        println!(
            "   {} {phase}{}; requests meanwhile: {o} ok, {e} answered 500 by the build, {f} failed\n",
            rollout.id,
            if ended.is_empty() { String::new() } else { format!(": {ended}") },
        );
        ok &= phase == expect;
        summary.push((version, phase, expect, o, e, f));
        if version == "v1" {
            // Users arrive once there is something to serve them.
            for _ in 0..4 {
                clients.push(tokio::spawn(generate(front, load.clone(), running.clone())));
            }
            tokio::time::sleep(Duration::from_millis(1_000)).await;
            let (o, e, f) = load.take();
            println!("── load: 4 clients through the router: {o} ok, {e} 500s, {f} failed in the first second\n");
        }
    }
    running.store(false, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }

    println!("summary ({:.1} s):", started.elapsed().as_secs_f64());
    for (version, phase, expect, o, e, f) in &summary {
        let mark = if phase == expect { "ok " } else { "BAD" };
        println!("  {mark} {version}: {phase} (expected {expect}); requests {o} ok, {e} 500s, {f} failed");
    }
    Ok(ok)
}

/// Prints each new status of the rollout until it ends.
async fn follow(store: &Store, id: &str, started: Instant, limit: Duration) -> anyhow::Result<Phase> {
    let until = Instant::now() + limit;
    let mut last = String::new();
    loop {
        let r = store.rollout(id)?.ok_or_else(|| anyhow::anyhow!("rollout {id} vanished"))?;
        if r.status != last {
            println!("   {:>5.1}s  {:<9} {}", started.elapsed().as_secs_f64(), r.phase.as_str(), r.status);
            last = r.status.clone();
        }
        if r.phase.is_terminal() {
            return Ok(r.phase);
        }
        if Instant::now() > until {
            anyhow::bail!("rollout {id} did not finish within {limit:?}: {}", r.status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keeps requests flowing through the router and counts how they end.
async fn generate(port: u16, load: Arc<Load>, running: Arc<AtomicBool>) {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: hyper::Uri = match format!("http://127.0.0.1:{port}/").parse() {
        Ok(u) => u,
        Err(_) => return,
    };
    while running.load(Ordering::Relaxed) {
        match client.get(uri.clone()).await {
            Ok(resp) => {
                let status = resp.status();
                let body = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                if status.is_success() {
                    load.ok.fetch_add(1, Ordering::Relaxed);
                } else if status == hyper::StatusCode::INTERNAL_SERVER_ERROR
                    && String::from_utf8_lossy(&body).contains("injected failure")
                {
                    // The bad build's own answer: the canary's exposure.
                    load.server_errors.fetch_add(1, Ordering::Relaxed);
                } else {
                    // Anything else (502/503 from the proxy) is a failure.
                    load.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                load.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("hoist-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
