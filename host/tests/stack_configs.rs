//! Compose configs on the real Docker engine, each source kind: a `file`
//! (mounted read-only at its target), inline `content` (with an
//! interpolated variable) and an `environment` variable from the `.env`
//! (both written into the container before it starts, 0444). The service
//! serves only once it has read all three; a changed content is a new
//! revision that sees it. The Docker tier: `#[ignore]`d by a plain `cargo
//! test`, run with `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::containers::in_environment;
use support::engine::docker;
use support::guards::{EnvironmentContainers, Network};
use support::images::{BUSYBOX, build_busybox};
use support::plane::Plane;
use support::stacks::docker_registry as registry;

const COMPOSE: &str = r#"name: cfg
services:
  app:
    image: BUSYBOX
    command: ["sh", "-c", "grep -q from-file /app.yml && grep -q \"level: $${LEVEL}\" /etc/app/inline.yml && grep -q from-env /etc/app/env.txt && mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www"]
    environment:
      LEVEL: "${LEVEL}"
    configs:
      - app.yml
      - source: inline
        target: /etc/app/inline.yml
      - source: from_env
        target: /etc/app/env.txt
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:80/"]
      interval: 200ms
configs:
  app.yml:
    file: ./app.yml
  inline:
    content: |
      level: ${LEVEL}
  from_env:
    environment: GREETING
"#;

fn exec(id: &str, args: &[&str]) -> String {
    let mut all = vec!["exec", id];
    all.extend(args);
    let out = docker(&all);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn configs_from_a_file_content_and_the_environment_reach_the_container() {
    build_busybox();
    let env = format!("c{}", std::process::id());
    let _network = Network(format!("hoist-cfg-{env}"));
    let _containers = EnvironmentContainers(env.clone());
    let dir = tempfile::tempdir().unwrap();
    let plane = Plane::start(dir.path(), &registry(&env));
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, COMPOSE.replace("BUSYBOX", BUSYBOX)).unwrap();
    std::fs::write(dir.path().join("app.yml"), "from-file: yes\n").unwrap();
    std::fs::write(dir.path().join(".env"), "LEVEL=debug\nGREETING=from-env\n").unwrap();

    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(ok, "the app reads all three configs before it serves:\n{out}\n{}", plane.log());
    let app = in_environment("app", &env);
    assert_eq!(exec(&app[0], &["cat", "/etc/app/inline.yml"]), "level: debug", "interpolated");
    assert_eq!(exec(&app[0], &["cat", "/etc/app/env.txt"]), "from-env");
    assert_eq!(exec(&app[0], &["stat", "-c", "%a", "/etc/app/inline.yml"]), "444");
    let write = docker(&["exec", &app[0], "sh", "-c", "echo x >> /app.yml"]);
    assert!(!write.status.success(), "a config file is mounted read-only");

    // A changed content is a change of the service: a new revision sees it.
    std::fs::write(dir.path().join(".env"), "LEVEL=info\nGREETING=from-env\n").unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(ok, "{out}\n{}", plane.log());
    assert!(out.contains("1 updated") || out.contains("updated"), "{out}");
    let app = in_environment("app", &env);
    assert_eq!(app.len(), 1, "the old revision is gone");
    assert_eq!(exec(&app[0], &["cat", "/etc/app/inline.yml"]), "level: info");
}
