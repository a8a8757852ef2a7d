//! Compose's runtime keys, imported: every key lands in the service's
//! `runtime` (or its command), what is not honoured is named by line, and
//! the stack TOML says the same thing back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hoist_stack::{InstanceHealth, load};

const FILE: &str = r#"services:
  api:
    image: x
    user: "1000:1000"
    working_dir: /srv
    entrypoint: /bin/sh -c
    command: sh -c "echo 'a b'"
    mem_limit: 256m
    cpus: 0.5
    pids_limit: 64
    stop_grace_period: 3s
    labels:
      team: search
      tier: "1"
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://localhost:9/ || exit 1"]
      interval: 1s
      timeout: 2s
      retries: 4
      start_period: 5s
  worker:
    image: x
    labels: ["queue=jobs"]
    deploy:
      replicas: 2
      resources:
        limits:
          cpus: "0.25"
          memory: 1g
          pids: 10
        reservations:
          memory: 64m
    healthcheck:
      disable: true
"#;

#[test]
fn every_runtime_key_is_imported_and_what_is_not_is_named_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, FILE).unwrap();
    let loaded = load(&file).unwrap();
    let api = &loaded.stack.services["api"];
    assert_eq!(api.command, ["sh", "-c", "echo 'a b'"], "shell words, not whitespace");
    let rt = &api.runtime;
    assert_eq!(rt.user.as_deref(), Some("1000:1000"));
    assert_eq!(rt.working_dir.as_deref(), Some("/srv"));
    assert_eq!(rt.entrypoint.as_deref(), Some(&["/bin/sh".to_string(), "-c".to_string()][..]));
    assert_eq!((rt.memory, rt.cpus, rt.pids, rt.stop_grace_ms), (Some(256 << 20), Some(0.5), Some(64), Some(3000)));
    assert_eq!(rt.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(), ["team=search", "tier=1"]);
    assert_eq!(
        rt.healthcheck,
        Some(InstanceHealth {
            disable: false,
            test: vec!["sh".into(), "-c".into(), "wget -q -O /dev/null http://localhost:9/ || exit 1".into()],
            interval_ms: 1000,
            timeout_ms: 2000,
            retries: 4,
            start_period_ms: 5000,
        })
    );
    assert_eq!(api.probe, None, "a service without a port is checked inside its container");

    let worker = &loaded.stack.services["worker"].runtime;
    assert_eq!((worker.memory, worker.cpus, worker.pids), (Some(1 << 30), Some(0.25), Some(10)));
    assert_eq!(worker.labels["queue"], "jobs");
    assert_eq!(worker.healthcheck, Some(InstanceHealth { disable: true, ..InstanceHealth::default() }));

    let found: Vec<String> = loaded.unsupported.iter().map(|u| u.to_string()).collect();
    assert_eq!(
        found,
        [
            "line 25: service `worker`: `deploy.replicas` is not imported by Hoist",
            "line 31: service `worker`: `deploy.resources.reservations` is not imported by Hoist",
        ]
    );

    // The stack TOML carries the same, and reads back to the same.
    let toml = hoist_stack::definition::to_toml(&loaded.stack).unwrap();
    assert!(toml.contains("[services.api.runtime]") && toml.contains("memory = 268435456"), "{toml}");
    assert_eq!(hoist_stack::definition::parse(&toml).unwrap(), loaded.stack);
}

#[test]
fn an_unreadable_runtime_value_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, "services:\n  api:\n    image: x\n    mem_limit: lots\n").unwrap();
    let err = load(&file).unwrap_err().to_string();
    assert!(err.contains(":4: service `api`: `mem_limit: lots` is not a size"), "{err}");
    std::fs::write(&file, "services:\n  api:\n    image: x\n    command: echo 'open\n").unwrap();
    let err = load(&file).unwrap_err().to_string();
    assert!(err.contains(":4: service `api`: command: unclosed '"), "{err}");
}
