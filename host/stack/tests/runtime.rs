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
    stop_signal: SIGINT
    init: true
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    extra_hosts: ["metadata:169.254.169.254", "ldap=10.0.0.9"]
    mem_reservation: 128m
    read_only: true
    tmpfs: /run
    volumes:
      - type: tmpfs
        target: /cache
        tmpfs: { size: 16m }
    expose: ["9000"]
    networks:
      back: { aliases: [api-internal] }
      default:
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
    extra_hosts:
      cache: 10.0.0.7
    deploy:
      replicas: 2
      update_config:
        order: stop-first
        parallelism: 2
      restart_policy:
        condition: on-failure
      resources:
        limits:
          cpus: "0.25"
          memory: 1g
          pids: 10
        reservations:
          memory: 64m
          cpus: "0.1"
    networks: [back]
    healthcheck:
      disable: true
  debug:
    image: x
    profiles: [debug]
networks:
  back:
    internal: true
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
    assert_eq!((rt.stop_signal.as_deref(), rt.init, rt.read_only), (Some("SIGINT"), Some(true), true));
    assert_eq!(
        (rt.cap_add.as_slice(), rt.cap_drop.as_slice()),
        (&["NET_ADMIN".to_string()][..], &["ALL".to_string()][..])
    );
    assert_eq!(rt.extra_hosts, ["metadata:169.254.169.254", "ldap:10.0.0.9"]);
    assert_eq!(rt.memory_reservation, Some(128 << 20));
    assert_eq!(rt.tmpfs, ["/run", &format!("/cache:size={}", 16 << 20)]);
    assert_eq!(api.networks.keys().collect::<Vec<_>>(), ["back", "default"]);
    assert_eq!(api.networks["back"].aliases, ["api-internal"]);
    assert!(loaded.stack.networks["back"].internal);
    assert!(!loaded.stack.services.contains_key("debug"), "a service of an inactive profile is left out");
    assert!(loaded.notes.iter().any(|n| n.contains("`debug`: left out")), "{:?}", loaded.notes);

    let w = &loaded.stack.services["worker"];
    assert_eq!((w.replicas, w.strategy.as_deref(), w.restart), (2, Some("rolling"), hoist_stack::Restart::OnFailure));
    // Batches of 2, stop-first: `rolling` with no surge.
    assert_eq!(w.strategy_config, Some(serde_json::json!({ "max-surge": 0, "max-unavailable": 2 })));
    let worker = &w.runtime;
    assert_eq!(worker.extra_hosts, ["cache:10.0.0.7"]);
    assert_eq!(worker.memory_reservation, Some(64 << 20));
    assert_eq!((worker.memory, worker.cpus, worker.pids), (Some(1 << 30), Some(0.25), Some(10)));
    assert_eq!(worker.labels["queue"], "jobs");
    assert_eq!(worker.healthcheck, Some(InstanceHealth { disable: true, ..InstanceHealth::default() }));

    let found: Vec<String> = loaded.unsupported.iter().map(|u| u.to_string()).collect();
    let text = FILE.lines().collect::<Vec<_>>();
    let line = |needle: &str| text.iter().position(|l| l.trim_start().starts_with(needle)).unwrap() + 1;
    assert_eq!(
        found,
        [format!(
            "line {}: service `worker`: `deploy.resources.reservations.cpus` is not imported by Hoist",
            line("cpus: \"0.1\"")
        ),]
    );

    // The stack TOML carries the same, and reads back to the same.
    let toml = hoist_stack::definition::to_toml(&loaded.stack).unwrap();
    assert!(toml.contains("[services.api.runtime]") && toml.contains("memory = 268435456"), "{toml}");
    assert_eq!(hoist_stack::definition::parse(&toml).unwrap(), loaded.stack);

    // With the profile active, the service is in.
    let options = hoist_stack::LoadOptions { profiles: vec!["debug".into()], ..Default::default() };
    assert!(hoist_stack::load_with(&file, &options).unwrap().stack.services.contains_key("debug"));
}

#[test]
fn what_compose_asks_that_hoist_cannot_give_is_refused_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docker-compose.yml");
    for (body, want) in [
        (
            "services:\n  api:\n    image: x\n    network_mode: host\n",
            ":4: service `api`: `network_mode: host` cannot be honoured",
        ),
        (
            "services:\n  api:\n    image: x\n    networks: [nowhere]\n",
            "service `api`: network `nowhere` is not declared",
        ),
        (
            "services:\n  api:\n    image: x\nnetworks:\n  n:\n    driver: overlay\n",
            ":4: network `n`: driver `overlay` cannot be honoured",
        ),
        (
            "services:\n  api:\n    image: x\n    cap_add: [\"net admin\"]\n",
            "capability `net admin` is not a capability name",
        ),
        (
            "services:\n  api:\n    image: x\n    profiles: [x]\n  web:\n    image: x\n    depends_on: [api]\n",
            "service `web` depends on `api`, whose profile is not active",
        ),
    ] {
        std::fs::write(&file, body).unwrap();
        let err = load(&file).unwrap_err().to_string();
        assert!(err.contains(want), "{body}: {err}");
    }
    // Aliases that are not DNS names, however they look.
    let long = "a".repeat(64);
    for alias in ["a..b", "x y", "-x", "x-", "db.$$", "é", long.as_str(), ""] {
        let body = format!(
            "services:\n  api:\n    image: x\n    networks:\n      back:\n        aliases: [\"{alias}\"]\nnetworks:\n  back: {{}}\n"
        );
        let want = "is not a DNS name";
        std::fs::write(&file, &body).unwrap();
        let err = load(&file).unwrap_err().to_string();
        assert!(err.contains(want), "{body}: {err}");
    }
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
