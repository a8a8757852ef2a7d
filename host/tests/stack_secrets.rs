//! Compose secrets on the real Docker engine: a file-sourced secret is
//! readable in the container at `/run/secrets/NAME` (read-only), the
//! service is healthy only because it reads it — and the value appears
//! nowhere in Hoist: not in its state directory, not in any output of
//! `stack deploy`, `stack status`, `status`, `history`, `log`, nor in the
//! server's own log. The Docker tier: `#[ignore]`d by a plain `cargo
//! test`, run with `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use support::containers::in_environment;
use support::engine::docker;
use support::guards::{EnvironmentContainers, Network};
use support::images::{BUSYBOX, build_busybox};
use support::plane::Plane;
use support::stacks::docker_registry as registry;

const VALUE: &str = "hunter2-b9f4e1d7-never-shown";

const COMPOSE: &str = r#"name: sec
services:
  db:
    image: BUSYBOX
    command: ["sh", "-c", "test -s /run/secrets/db_password && test -s /run/secrets/api.key && mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 5432 -h /www"]
    ports: ["5432"]
    secrets:
      - db_password
      - source: api_key
        target: api.key
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:5432/"]
      interval: 200ms
secrets:
  db_password:
    file: ./db_password.txt
  api_key:
    file: ./secrets/api_key
"#;

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn a_secret_is_readable_in_the_container_and_nowhere_in_hoist() {
    build_busybox();
    let env = format!("s{}", std::process::id());
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let _network = Network(format!("hoist-sec-{env}"));
    let _containers = EnvironmentContainers(env.clone());
    let plane = Plane::start(state.path(), &registry(&env));
    std::fs::write(files.path().join("db_password.txt"), VALUE).unwrap();
    std::fs::create_dir(files.path().join("secrets")).unwrap();
    std::fs::write(files.path().join("secrets/api_key"), format!("{VALUE}-api")).unwrap();
    let file = files.path().join("docker-compose.yml");
    std::fs::write(&file, COMPOSE.replace("BUSYBOX", BUSYBOX)).unwrap();

    let mut outputs = Vec::new();
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(ok, "{out}\n{}", plane.log());
    outputs.push(out);

    let id = in_environment("db", &env).first().cloned().expect("db's container");
    let read = docker(&["exec", &id, "cat", "/run/secrets/db_password"]);
    assert_eq!(String::from_utf8_lossy(&read.stdout), VALUE, "the secret in the container");
    let read = docker(&["exec", &id, "cat", "/run/secrets/api.key"]);
    assert_eq!(String::from_utf8_lossy(&read.stdout), format!("{VALUE}-api"), "long syntax, own target");
    let write = docker(&["exec", &id, "sh", "-c", "echo x > /run/secrets/db_password"]);
    assert!(!write.status.success(), "a secret is mounted read-only");

    let stack = plane.json(&["stack", "status", "sec", "--env", &env, "--output", "json"]);
    let stack_id = stack["id"].as_str().unwrap().to_string();
    let rollout = stack["services"]["db"]["rollout"].as_str().unwrap().to_string();
    for args in [
        vec!["stack", "status", "sec", "--env", &env],
        vec!["stack", "status", "sec", "--env", &env, "--output", "json"],
        vec!["stack", "history", "sec", "--env", &env, "--output", "json"],
        vec!["status", "db", "--env", &env, "--output", "json"],
        vec!["history", "db", "--env", &env, "--output", "json"],
        vec!["log", &stack_id],
        vec!["log", &rollout],
    ] {
        let (_, out) = plane.hoist(&args);
        outputs.push(out);
    }
    outputs.push(plane.log());
    for out in &outputs {
        assert!(!out.contains(VALUE), "the secret's value in Hoist's output: {out}");
    }
    assert_eq!(files_holding(state.path(), VALUE), Vec::<String>::new(), "the value in Hoist's state");
    // The path travels (to mount it), never the value.
    assert!(!files_holding(state.path(), "db_password.txt").is_empty(), "the store keeps the file's path");
}
