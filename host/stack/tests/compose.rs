//! Compose import of a realistic stack.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use hoist_stack::{Condition, import};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/compose/docker-compose.yml")
}

#[test]
fn imports_services_dependencies_env_and_healthchecks() {
    let imported = import(&example()).unwrap();
    let svc = |n: &str| imported.services.iter().find(|s| s.name == n).unwrap().clone();

    let api = svc("api");
    assert_eq!(api.build.as_deref(), Some("./api"));
    assert_eq!(api.command, ["./api", "serve", "--port", "8080"]);
    assert_eq!(api.ports, [(Some(8080), 8080)]);
    assert!(api.env.contains(&("DATABASE_URL".into(), "postgres://postgres:example@postgres/shop".into())));
    // `environment` wins over the env file.
    assert!(api.env.contains(&("LOG_LEVEL".into(), "debug".into())));
    assert!(!api.env.contains(&("LOG_LEVEL".into(), "info".into())));
    assert_eq!(api.depends_on["migrate"], Condition::CompletedSuccessfully);
    assert_eq!(api.depends_on["redis"], Condition::Healthy);
    assert_eq!(api.depends_on["qdrant"], Condition::Started);

    let worker = svc("worker");
    assert_eq!(worker.depends_on["redis"], Condition::Started);
    assert_eq!(worker.depends_on["postgres"], Condition::Started);

    let pg = svc("postgres");
    let hc = pg.healthcheck.unwrap();
    assert_eq!(hc.test, ["sh", "-c", "pg_isready -U postgres"]);
    assert_eq!((hc.interval_ms, hc.timeout_ms, hc.retries), (5_000, 3_000, 5));
    assert_eq!(svc("redis").healthcheck.unwrap().test, ["redis-cli", "ping"]);
    assert_eq!(svc("qdrant").ports, [(Some(6333), 6333)]);
    assert_eq!(svc("redis").ports, [(None, 6379)]);

    let order = imported.graph.start_order();
    let pos = |n: &str| order.iter().position(|s| s == n).unwrap();
    assert!(pos("postgres") < pos("migrate") && pos("migrate") < pos("api") && pos("api") < pos("monitoring"));
    assert_eq!(imported.graph.teardown_order().first().map(String::as_str), Some("monitoring"));
}

#[test]
fn the_example_imports_with_nothing_unsupported() {
    let imported = import(&example()).unwrap();
    let found: Vec<String> = imported.unsupported.iter().map(|u| u.to_string()).collect();
    // `deploy.replicas` and volumes are imported (service and top level
    // alike), and `restart: unless-stopped` is what Hoist does anyway.
    assert!(found.is_empty(), "{found:#?}");
    let worker = imported.services.iter().find(|s| s.name == "worker").unwrap();
    assert_eq!(worker.replicas, Some(3));
    let postgres = imported.services.iter().find(|s| s.name == "postgres").unwrap();
    assert_eq!(postgres.volumes, ["pgdata:/var/lib/postgresql/data"]);
}

#[test]
fn a_cycle_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yml");
    std::fs::write(&file, "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n").unwrap();
    let err = import(&file).unwrap_err().to_string();
    assert!(err.contains("a → b → c → a"), "{err}");
}

#[test]
fn loading_a_compose_file_names_the_stack_and_says_what_each_healthcheck_became() {
    let loaded = hoist_stack::load(&example()).unwrap();
    assert_eq!(loaded.stack.name, "shop", "the top-level `name:` wins over the directory");
    // `redis-cli ping` cannot run from outside: it is the container's
    // own health check, and no weaker TCP probe stands in for it.
    let redis = &loaded.stack.services["redis"];
    assert_eq!(redis.probe, None);
    let health = redis.runtime.healthcheck.as_ref().unwrap();
    assert_eq!(health.test, ["redis-cli", "ping"]);
    assert!(
        loaded
            .notes
            .iter()
            .any(|n| n.contains("`redis`") && n.contains("runs inside the container as its own health check")),
        "{:#?}",
        loaded.notes
    );
}

/// An API + neo4j stack as users write it: secrets in `.env`, defaults in
/// the file, a shared `<<: *base`, an env file with quotes.
#[test]
fn variables_come_from_the_shell_over_dotenv_with_composes_forms() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "NEO4J_USERNAME=neo4j\nNEO4J_PASSWORD='s3cret pass'\nTAG=from-dotenv\n")
        .unwrap();
    std::fs::write(dir.path().join("api.env"), "QUOTED=\"a b\"\nSINGLE='$NOT_EXPANDED'\n").unwrap();
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(
        &file,
        r#"x-base: &base
  image: "demo:${HOIST_TEST_TAG_UNSET:-latest}"
  environment:
    SHARED: "yes"
services:
  neo4j:
    <<: *base
    environment:
      NEO4J_AUTH: "${NEO4J_USERNAME}/${NEO4J_PASSWORD}"
  api:
    <<: *base
    env_file: api.env
    ports:
      - "${HOIST_TEST_HOSTPORT:-8090}:8080"
    environment:
      OPENAI_API_KEY: "${HOIST_TEST_OPENAI_KEY_UNSET}"
      PRICE: "$$5"
"#,
    )
    .unwrap();
    let imported = import(&file).unwrap();
    let svc = |n: &str| imported.services.iter().find(|s| s.name == n).unwrap().clone();
    let neo4j = svc("neo4j");
    assert_eq!(neo4j.image.as_deref(), Some("demo:latest"), "merge key and default");
    assert!(neo4j.env.contains(&("NEO4J_AUTH".into(), "neo4j/s3cret pass".into())), "{:?}", neo4j.env);
    let api = svc("api");
    assert_eq!(api.ports, [(Some(8090), 8080)], "the default keeps the router");
    assert!(api.env.contains(&("PRICE".into(), "$5".into())));
    assert!(api.env.contains(&("QUOTED".into(), "a b".into())), "quotes in env files are not kept: {:?}", api.env);
    assert!(api.env.contains(&("SINGLE".into(), "$NOT_EXPANDED".into())));
    assert!(api.env.contains(&("OPENAI_API_KEY".into(), String::new())));
    assert_eq!(imported.warnings.len(), 1, "{:?}", imported.warnings);
    assert!(imported.warnings[0].contains("HOIST_TEST_OPENAI_KEY_UNSET"));

    // A required variable names itself and the line.
    std::fs::write(
        &file,
        "services:\n  db:\n    image: x\n    environment:\n      PW: \"${HOIST_TEST_PW_UNSET:?set it in .env}\"\n",
    )
    .unwrap();
    let err = import(&file).unwrap_err().to_string();
    assert!(err.contains(":5:") && err.contains("HOIST_TEST_PW_UNSET") && err.contains("set it in .env"), "{err}");
}

#[test]
fn restart_no_makes_a_job_and_other_policies_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yml");
    std::fs::write(
        &file,
        "services:\n  migrate:\n    image: x\n    restart: \"no\"\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n  api:\n    image: x\n    restart: on-failure\n    depends_on:\n      migrate:\n        condition: service_completed_successfully\n",
    )
    .unwrap();
    let loaded = hoist_stack::load(&file).unwrap();
    assert!(loaded.stack.services["migrate"].job, "{:#?}", loaded.stack);
    assert!(loaded.stack.services["migrate"].probe.is_none(), "a job has no probe");
    assert!(!loaded.stack.services["api"].job);
    assert!(loaded.unsupported.is_empty(), "{:?}", loaded.unsupported);
    assert_eq!(loaded.stack.services["api"].restart, hoist_stack::Restart::OnFailure);
    assert!(loaded.notes.iter().any(|n| n.contains("`migrate`: `restart: \"no\"`: a job")), "{:#?}", loaded.notes);
    assert!(loaded.notes.iter().any(|n| n.contains("judged by its exit code")), "{:#?}", loaded.notes);
    let toml = hoist_stack::definition::to_toml(&loaded.stack).unwrap();
    assert!(toml.contains("job = true"), "{toml}");
    // And back: `job = true` in stack TOML.
    assert!(hoist_stack::definition::parse(&toml).unwrap().services["migrate"].job);
}

#[test]
fn configs_of_every_source_are_imported_and_what_is_not_honoured_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yml");
    std::fs::write(dir.path().join("app.yml"), "a: 1\n").unwrap();
    std::fs::write(dir.path().join(".env"), "HOIST_TEST_GREETING=hi\n").unwrap();
    std::fs::write(
        &file,
        "services:\n  api:\n    image: x\n    configs:\n      - app\n      - { source: inline, target: /etc/inline.conf }\n      - { source: env, target: /etc/env }\nconfigs:\n  app: { file: ./app.yml }\n  inline: { content: \"x = 1\" }\n  env: { environment: HOIST_TEST_GREETING }\n",
    )
    .unwrap();
    let loaded = hoist_stack::load(&file).unwrap();
    let configs = &loaded.stack.services["api"].configs;
    let app = dir.path().join("app.yml").canonicalize().unwrap().display().to_string();
    assert_eq!(configs["/app"], hoist_stack::ConfigFile { file: Some(app), content: None });
    assert_eq!(configs["/etc/inline.conf"].content.as_deref(), Some("x = 1"));
    assert_eq!(configs["/etc/env"].content.as_deref(), Some("hi"));
    assert!(loaded.unsupported.is_empty(), "{:?}", loaded.unsupported);
    let toml = hoist_stack::definition::to_toml(&loaded.stack).unwrap();
    assert_eq!(hoist_stack::definition::parse(&toml).unwrap(), loaded.stack);

    for (body, want) in [
        ("configs:\n  c: { external: true }\n", ":5: config `c` has no `file`, `content` or `environment` source"),
        ("configs:\n  c: { environment: HOIST_TEST_UNSET_VAR }\n", "variable `HOIST_TEST_UNSET_VAR` is not set"),
    ] {
        std::fs::write(&file, format!("services:\n  api:\n    image: x\n    configs: [c]\n{body}")).unwrap();
        let err = hoist_stack::load(&file).unwrap_err().to_string();
        assert!(err.contains(want), "{body}: {err}");
    }
    std::fs::write(&file, "services:\n  api:\n    image: x\n    configs: [nope]\n").unwrap();
    let err = hoist_stack::load(&file).unwrap_err().to_string();
    assert!(err.contains(":4: service `api`: config `nope` is not declared"), "{err}");
    std::fs::write(
        &file,
        "services:\n  api:\n    image: x\n    configs: [{ source: c, mode: 0400 }]\nconfigs:\n  c: { content: x }\n",
    )
    .unwrap();
    let err = hoist_stack::load(&file).unwrap_err().to_string();
    assert!(err.contains("`mode` is not supported"), "{err}");
}
