//! `hoist serve` end to end on a real single-node Docker Swarm, with the
//! same strategy and policy plugins as on processes and containers: each
//! revision is a Swarm service behind Hoist's router. A canary of a bad v2
//! under load is rolled back by the threshold policy, leaving only v1's
//! service; a restarted control plane adopts services without duplicating
//! them; a good v3 is promoted through the same canary plugin. The host's
//! `docker` capability's Swarm calls (services, tasks and their addresses)
//! are checked here too: this file is the Swarm tier.
//!
//! Setup initialises a swarm only if the engine is not in one (and leaves it
//! only then); every service, container and network of the test is removed
//! at the end, also on failure. An unreachable engine fails the test. The
//! Swarm tier: `#[ignore]`d by a plain `cargo test`, run by `cargo xtask
//! test` or `cargo test -p hoist --test swarm -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use hoist::capabilities::docker::DockerClient;
use hoist::runtime::bindings::platform::hoist::plugin::docker::{DockerError, Health, PortBinding, ServiceSpec};
use support::engine::docker;
use support::guards::SwarmServices;
use support::http::get;
use support::images::{IMAGE, any_local_image, build_image};
use support::plane::Plane;
use support::ports::free_port;
use support::swarm;

fn registry(network: &str) -> String {
    format!(
        r#"version = 1
[plugins.canary]
kind = "strategy"
source = "builtin:canary"
config = {{ initial-weight = 30, step-weight = 30, max-weight = 60, step-duration-ms = 4000, failure-threshold = 1 }}

[plugins.threshold]
kind = "health-policy"
source = "builtin:threshold"
config = {{ max-error-rate = 0.05, min-requests = 20 }}

[plugins.swarm]
kind = "platform"
source = "builtin:swarm"
capabilities = ["docker"]
config = {{ network = "{network}", stop-timeout-secs = 2 }}

[environments.test]
platform = "swarm"
strategy = "canary"
health-policies = ["threshold"]
"#
    )
}

/// Load through the router until dropped: answers by status, and failures.
struct Load {
    running: Arc<AtomicBool>,
    ok: Arc<AtomicU32>,
    errors: Arc<AtomicU32>,
    failed: Arc<std::sync::Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let (ok, errors) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let failed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let started = Instant::now();
        let thread = {
            let (running, ok, errors, failed) = (running.clone(), ok.clone(), errors.clone(), failed.clone());
            std::thread::spawn(move || {
                // A restarted control plane attaches a service's router
                // only when a rollout starts: count from its first answer.
                let mut up = false;
                while running.load(Ordering::Relaxed) {
                    let answer = get(port);
                    up |= answer.is_ok();
                    match answer {
                        Err(_) if !up => {}
                        Ok((200, _)) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => failed.lock().unwrap().push(format!("{:.2}s {e}", started.elapsed().as_secs_f64())),
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        Self { running, ok, errors, failed, thread: Some(thread) }
    }

    /// Stops the load: (200s, other statuses, failed requests).
    fn stop(mut self) -> (u32, u32, Vec<String>) {
        self.running.store(false, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        let failed = std::mem::take(&mut *self.failed.lock().unwrap());
        (self.ok.load(Ordering::Relaxed), self.errors.load(Ordering::Relaxed), failed)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
    }
}

/// Running tasks of the test's services.
fn running_tasks(service: &str) -> usize {
    let out = docker(&["ps", "-q", "--filter", &format!("label=hoist.service={service}")]);
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
#[ignore = "Swarm tier: needs a Docker engine, made a single-node swarm manager if it is not one; `cargo xtask test` runs it (see README, Tests)"]
fn canary_on_swarm_rolls_back_a_bad_build_and_promotes_a_good_one() {
    build_image();
    let swarm = swarm::Swarm::join();
    let started = Instant::now();
    let service = format!("sw{}", std::process::id());
    let network = format!("hoist-e2e-{service}");
    let cleanup = SwarmServices { service: service.clone(), network: network.clone() };
    let label = format!("hoist.service={service}");
    let dir = tempfile::tempdir().unwrap();
    let plane = Plane::start(dir.path(), &registry(&network));
    let router = free_port();
    let router_addr = format!("127.0.0.1:{router}");
    let deploy = |plane: &Plane, version: &str, extra: &[&str]| {
        let version_env = format!("DEMO_VERSION={version}");
        let mut args = vec![
            "deploy",
            &service,
            "--env",
            "test",
            "--version",
            version,
            "--replicas",
            "2",
            "--image",
            IMAGE,
            "--port",
            "8080",
            "--probe-path",
            "/healthz",
            "--router",
            &router_addr,
            "--wait",
            "--set-env",
            &version_env,
        ];
        args.extend(extra);
        plane.hoist(&args)
    };
    let name = |rev: &str| format!("hoist-{service}-test-{rev}");

    let (ok, out) = deploy(&plane, "v1", &[]);
    assert!(ok, "v1 did not complete: {out}\n{}", plane.log());
    assert_eq!(swarm::services(&label), vec![name("r1")]);
    let (status, body) = get(router).expect("the router reaches v1's tasks");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("v1"), "{body}");

    // A control plane killed with -9 and restarted adopts v1's service by
    // label: no second service, no extra task.
    drop(plane);
    let plane = Plane::restart(dir.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, status) = plane.hoist(&["status", &service, "--env", "test"]);
        if status.contains(r#""ready":2"#) {
            break;
        }
        assert!(Instant::now() < deadline, "v1 not adopted after a restart: {status}\n{}", plane.log());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(swarm::services(&label), vec![name("r1")], "adopted, not duplicated");
    assert_eq!(running_tasks(&service), 2);

    // The bad v2 is canaried under load and rolled back by the policy.
    let load = Load::start(router);
    let (ok, out) = deploy(&plane, "v2", &["--set-env", "DEMO_ERROR_RATE=0.5"]);
    let (served, answered_500, failed) = load.stop();
    assert!(!ok, "a bad v2 must not complete: {out}");
    assert!(out.contains("rolled-back") || out.contains("rolled back"), "v2 not rolled back: {out}\n{}", plane.log());
    assert!(out.contains("threshold"), "the threshold policy decided: {out}");
    assert_eq!(swarm::services(&label), vec![name("r1")], "only v1's service remains after the rollback");
    assert!(answered_500 > 0, "the canary took traffic: {served} ok, {answered_500} 500s");
    assert!(
        failed.is_empty(),
        "no request failed in the router: {served} ok, {answered_500} 500s, failed: {failed:?}\n{}",
        plane.log()
    );
    assert_eq!(get(router).map(|(s, _)| s), Ok(200), "v1 still serves");

    // A good v3 goes through the same canary plugin and is promoted.
    let load = Load::start(router);
    let (ok, out) = deploy(&plane, "v3", &[]);
    let (served, answered_500, failed) = load.stop();
    assert!(ok, "v3 did not complete: {out}\n{}", plane.log());
    assert_eq!(swarm::services(&label), vec![name("r3")], "v1's service is removed once v3 is promoted");
    assert!(answered_500 == 0 && failed.is_empty(), "{served} ok, {answered_500} 500s, failed: {failed:?}");
    let (status, body) = get(router).unwrap();
    assert!(status == 200 && body.contains("v3"), "{status} {body}");
    let rollout = out.split_whitespace().find(|w| w.starts_with(&format!("{service}.test."))).unwrap_or_default();
    let (_, log) = plane.hoist(&["log", rollout]);
    assert!(log.contains("canary"), "the canary plugin decided v3: {log}");

    drop(plane);
    drop(cleanup);
    assert_eq!(swarm::services(&label), Vec::<String>::new());
    assert_eq!(running_tasks(&service), 0);
    eprintln!(
        "swarm e2e took {:.1}s (swarm initialised here: {})",
        started.elapsed().as_secs_f64(),
        swarm.initialised()
    );
}

/// The capability's Swarm calls on the real engine: a task listed with its
/// state and its address on the swarm-scoped bridge, which the host (where
/// the router runs) reaches.
#[test]
#[ignore = "Swarm tier: needs a Docker engine, made a single-node swarm manager if it is not one; `cargo xtask test` runs it (see README, Tests)"]
fn list_tasks_gives_an_address_the_host_reaches() {
    build_image();
    let _swarm = swarm::Swarm::join();
    let service = format!("swcap{}", std::process::id());
    let network = format!("hoist-e2e-{service}");
    let _cleanup = SwarmServices { service: service.clone(), network: network.clone() };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = DockerClient::local();
    rt.block_on(client.ensure_swarm_network(&network)).unwrap();
    rt.block_on(client.ensure_swarm_network(&network)).unwrap();
    let spec = ServiceSpec {
        name: service.clone(),
        image: IMAGE.into(),
        replicas: 1,
        env: vec![("DEMO_VERSION".into(), "cap".into())],
        labels: vec![("hoist.service".into(), service.clone())],
        ports: vec![],
        extensions: vec![("network".into(), network.clone()), ("stop-grace-ms".into(), "1000".into())],
    };
    let id = rt.block_on(client.create_service(spec)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let task = loop {
        let tasks = rt.block_on(client.list_tasks(&id)).unwrap();
        if let Some(t) = tasks.iter().find(|t| t.state == "running" && !t.addresses.is_empty()) {
            break t.clone();
        }
        assert!(Instant::now() < deadline, "no running task with an address: {tasks:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!((task.slot, task.desired_state.as_str(), &task.health), (1, "running", &Health::None));
    assert!(task.container_id.is_some(), "{task:?}");
    let (net, ip) = &task.addresses[0];
    assert_eq!(net, &network);
    let mut s = std::net::TcpStream::connect((ip.as_str(), 8080)).expect("the host reaches the task on the bridge");
    use std::io::{Read, Write};
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.contains("cap"), "{answer}");
    let missing = rt.block_on(client.list_tasks("hoist-no-such-service")).unwrap_err();
    assert!(matches!(&missing, DockerError::NotFound(m) if m.contains("hoist-no-such-service")), "{missing:?}");
}

/// The capability's Swarm service calls on the real engine.
#[test]
#[ignore = "Swarm tier: needs a Docker engine, made a single-node swarm manager if it is not one; `cargo xtask test` runs it (see README, Tests)"]
fn swarm_services_are_created_listed_updated_and_removed() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let image = any_local_image();
    // Initialised (and left) only if the engine is not in a swarm already,
    // under the lock every Swarm test takes.
    let _swarm = swarm::Swarm::join();
    let client = DockerClient::local();
    let name = format!("hoist-svc-{}", std::process::id());
    let mut spec = ServiceSpec {
        name: name.clone(),
        image,
        replicas: 1,
        env: vec![("HOST".into(), "0.0.0.0".into())],
        labels: vec![("hoist.service".into(), name.clone())],
        ports: vec![],
        extensions: vec![],
    };
    let id = rt.block_on(client.create_service(spec.clone())).unwrap();
    let selector = vec![("hoist.service".to_owned(), name.clone())];
    let listed = rt.block_on(client.list_services(&selector)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id.as_str(), listed[0].replicas), (id.as_str(), 1));
    spec.replicas = 2;
    rt.block_on(client.update_service(&id, spec.clone())).unwrap();
    assert_eq!(rt.block_on(client.list_services(&selector)).unwrap()[0].replicas, 2);
    spec.ports = vec![PortBinding { container_port: 8080, host_port: 0 }];
    let refused = rt.block_on(client.create_service(spec)).unwrap_err();
    assert!(matches!(&refused, DockerError::Other(m) if m.contains("127.0.0.1")), "{refused:?}");
    rt.block_on(client.remove_service(&id)).unwrap();
    assert!(rt.block_on(client.list_services(&selector)).unwrap().is_empty());
}
