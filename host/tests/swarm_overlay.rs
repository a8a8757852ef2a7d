//! The multi-node path of `builtin:swarm`, on one node: `hoist serve` runs
//! in a container attached to an attachable overlay (as it would on a
//! manager of a multi-node swarm, where tasks on other nodes are reachable
//! only over the overlay), reads the tasks' overlay addresses, probes them,
//! and routes a canary between two revisions' tasks by weight; the canary
//! is then promoted; a stack's services find each other there by name.
//! Requests come from a container sharing the control
//! plane's network namespace (its router listens on its loopback). The
//! Swarm tier: `#[ignore]`d by a plain `cargo test`, run with `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::engine::docker;
use support::guards::SwarmServices;
use support::images::{BUSYBOX, IMAGE, build_busybox, build_image};
use support::serve_image::{SERVE_IMAGE, build_serve_image};
use support::swarm;

fn registry(network: &str) -> String {
    format!(
        r#"version = 1
[plugins.canary]
kind = "strategy"
source = "builtin:canary"
config = {{ initial-weight = 50, step-weight = 50, max-weight = 50, step-duration-ms = 15000 }}

[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"
config = {{ progress-deadline-ms = 60000 }}

[plugins.swarm]
kind = "platform"
source = "builtin:swarm"
capabilities = ["docker"]
config = {{ network = "{network}", stop-timeout-secs = 2 }}

[environments.test]
platform = "swarm"
strategy = "canary"
"#
    )
}

/// `hoist serve` in a container on `network`, the engine's socket mounted;
/// the test's directory is mounted at the same path, so the state is
/// readable from here. Verbs run in the container (`docker exec`).
struct ServeInContainer {
    name: String,
    dir: PathBuf,
}

impl ServeInContainer {
    fn start(dir: &Path, network: &str) -> Self {
        let name = format!("hoist-ovl-serve-{}", std::process::id());
        let d = dir.display().to_string();
        let out = docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            network,
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            "-v",
            &format!("{d}:{d}"),
            SERVE_IMAGE,
            "serve",
            "--listen",
            "127.0.0.1:7070",
            "--registry",
            &format!("{d}/registry.toml"),
            "--state",
            &format!("{d}/state"),
            "--cache-dir",
            &format!("{d}/cache"),
        ]);
        assert!(out.status.success(), "docker run {SERVE_IMAGE}: {}", String::from_utf8_lossy(&out.stderr));
        let serve = Self { name, dir: dir.to_path_buf() };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dir.join("state/serve.addr").exists() {
            assert!(Instant::now() < deadline, "hoist serve did not start in its container: {}", serve.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        serve
    }

    fn hoist(&self, args: &[&str]) -> (bool, String) {
        let d = self.dir.display().to_string();
        let (registry, state, cache) = (format!("{d}/registry.toml"), format!("{d}/state"), format!("{d}/cache"));
        let mut all =
            vec!["exec", &self.name, "/hoist", "--registry", &registry, "--state", &state, "--cache-dir", &cache];
        all.extend(args);
        let out = docker(&all);
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }

    fn status(&self, service: &str) -> Value {
        let (ok, out) = self.hoist(&["status", service, "--env", "test", "--output", "json"]);
        assert!(ok, "{out}");
        serde_json::from_str(&out).unwrap()
    }

    fn log(&self) -> String {
        let out = docker(&["logs", "--tail", "60", &self.name]);
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// `count` requests to the front door from inside its network namespace.
    fn requests(&self, count: usize) -> Vec<String> {
        let script = format!("for i in $(seq {count}); do wget -q -O - http://127.0.0.1:8088/; echo; done");
        let out =
            docker(&["run", "--rm", "--network", &format!("container:{}", self.name), BUSYBOX, "sh", "-c", &script]);
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
    }
}

impl Drop for ServeInContainer {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.name]);
    }
}

/// The IPv4 addresses of the containers attached to `network` on this node.
fn overlay_ips(network: &str) -> Vec<String> {
    let out = docker(&["network", "inspect", network]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let containers = v[0]["Containers"].as_object().cloned().unwrap_or_default();
    containers.values().filter_map(|c| c["IPv4Address"].as_str()?.split('/').next().map(str::to_owned)).collect()
}

fn versions(bodies: &[String], version: &str) -> usize {
    bodies.iter().filter(|b| b.contains(&format!("\"version\":\"{version}\""))).count()
}

#[test]
#[ignore = "Swarm tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn serve_on_an_attachable_overlay_reaches_tasks_by_overlay_address_and_routes_a_canary() {
    let _swarm = swarm::Swarm::join();
    build_image();
    build_busybox();
    build_serve_image();
    let service = format!("ovl{}", std::process::id());
    let network = format!("hoist-ovl-{}", std::process::id());
    let _cleanup = SwarmServices { service: service.clone(), network: network.clone() };
    let out = docker(&["network", "create", "-d", "overlay", "--attachable", &network]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("registry.toml"), registry(&network)).unwrap();
    let serve = ServeInContainer::start(dir.path(), &network);
    let deploy = |version: &str, wait: bool| {
        let env = format!("DEMO_VERSION={version}");
        let mut args = vec![
            "deploy",
            &service,
            "--env",
            "test",
            "--version",
            version,
            "--image",
            IMAGE,
            "--port",
            "8080",
            "--router",
            "127.0.0.1:8088",
            "--probe-path",
            "/healthz",
            "--replicas",
            "2",
            "--set-env",
            &env,
        ];
        if wait {
            args.push("--wait");
        }
        let (ok, out) = serve.hoist(&args);
        assert!(ok, "{out}\n{}", serve.log());
    };

    deploy("v1", true);
    let status = serve.status(&service);
    let addresses: Vec<String> = status["observed"]["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("{status:#}"))
        .iter()
        .filter_map(|i| i["address"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(addresses.len(), 2, "{status:#}");
    let on_overlay = overlay_ips(&network);
    for a in &addresses {
        let ip = a.rsplit_once(':').unwrap().0;
        assert!(on_overlay.iter().any(|o| o == ip), "{a} is a task's address on the overlay {on_overlay:?}");
    }
    assert_eq!(versions(&serve.requests(10), "v1"), 10, "the router reaches v1's tasks over the overlay");

    // v2 as a 50 % canary: both revisions' tasks answer through the router.
    deploy("v2", false);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let weights = serve.status(&service)["observed"]["weights"].clone();
        if weights.as_object().is_some_and(|w| w.len() == 2 && w.values().all(|p| p.as_u64() > Some(0))) {
            break;
        }
        assert!(Instant::now() < deadline, "the canary never took traffic: {weights}\n{}", serve.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    let bodies = serve.requests(60);
    let (v1, v2) = (versions(&bodies, "v1"), versions(&bodies, "v2"));
    assert_eq!(v1 + v2, 60, "every request answered: {bodies:?}");
    assert!(v1 >= 10 && v2 >= 10, "a 50 % canary over overlay addresses: v1 {v1}, v2 {v2}");

    // Promoted at the end of its step: all traffic on v2.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let s = serve.status(&service);
        let phase = s["rollout"]["phase"].as_str().unwrap_or("none").to_owned();
        if s["current"]["spec"]["env"].to_string().contains("v2") && (phase == "completed" || phase == "none") {
            break;
        }
        assert!(Instant::now() < deadline, "v2 was not promoted ({phase}): {s:#}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(versions(&serve.requests(10), "v2"), 10);

    // A stack: each service answers to its name on the overlay (an alias of
    // its Swarm service, whatever its revision) and is told where its
    // dependencies are; the api is healthy only once it reaches db by name.
    let (db, api) = (format!("{service}db"), format!("{service}api"));
    let _stack = (
        SwarmServices { service: db.clone(), network: String::new() },
        SwarmServices { service: api.clone(), network: String::new() },
    );
    let file = dir.path().join("stack.toml");
    // db also gets a secret, as a Swarm secret the host creates from its file.
    const VALUE: &str = "hunter2-swarm-3f9a0c-never-shown";
    std::fs::write(dir.path().join("db_password.txt"), VALUE).unwrap();
    std::fs::write(
        &file,
        format!(
            "version = 1\nname = \"ovl\"\n\n[services.{db}]\nimage = \"{IMAGE}\"\nport = 8080\nprobe_path = \"/healthz\"\nstrategy = \"rolling\"\nsecrets = {{ db_password = \"db_password.txt\" }}\n\n[services.{api}]\nimage = \"{IMAGE}\"\nport = 8080\nprobe_path = \"/healthz\"\nstrategy = \"rolling\"\nenv = {{ DEMO_REQUIRE = \"{db}:8080\" }}\ndepends_on = {{ {db} = \"healthy\" }}\n"
        ),
    )
    .unwrap();
    let (ok, out) = serve.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", "test", "--wait"]);
    assert!(ok, "the api reaches db by its name on the overlay:\n{out}\n{}", serve.log());
    let inspect = docker(&["service", "inspect", &swarm::services(&format!("hoist.service={api}"))[0]]);
    let spec: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let env = spec[0]["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"].to_string();
    assert!(env.contains(&format!("_ADDR={db}:8080")), "{env}");

    let inspect = docker(&["service", "inspect", &swarm::services(&format!("hoist.service={db}"))[0]]);
    let spec: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let secret = &spec[0]["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"][0];
    assert_eq!(secret["File"]["Name"], "db_password", "{spec:#}");
    let name = secret["SecretName"].as_str().unwrap().to_owned();
    let _secret = SwarmSecret(name.clone());
    assert!(name.starts_with("hoist-secret-"), "named by its content's digest: {name}");
    let found = docker(&["secret", "inspect", &name]);
    assert!(found.status.success(), "the engine holds the secret: {}", String::from_utf8_lossy(&found.stderr));
    // The value is nowhere in Hoist's state.
    let grep =
        std::process::Command::new("grep").args(["-r", "-l", VALUE]).arg(dir.path().join("state")).output().unwrap();
    assert!(grep.stdout.is_empty(), "the secret's value in Hoist's state: {}", String::from_utf8_lossy(&grep.stdout));
}

/// Removes a Swarm secret the test made (once its services are gone).
struct SwarmSecret(String);

impl Drop for SwarmSecret {
    fn drop(&mut self) {
        let _ = docker(&["secret", "rm", &self.0]);
    }
}
