//! The user's stack on the real Docker engine, from one Compose file
//! deployed as is: four data services (postgres, qdrant, neo4j, redis —
//! busybox stand-ins serving on their real ports) → api and worker (each
//! healthy only while it reaches every data service by its name) →
//! prometheus (which starts serving only once it reaches api and worker by
//! name) → grafana (likewise with prometheus). Every dependency is then
//! reached by name from inside a container, and postgres's data, on a
//! named volume, outlives an update of postgres. The Docker tier:
//! `#[ignore]`d by a plain `cargo test`, run with `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::containers::in_environment;
use support::engine::docker;
use support::guards::{EnvironmentContainers, Network, Volume};
use support::http::get;
use support::images::{BUSYBOX, IMAGE, build_busybox, build_image};
use support::plane::Plane;
use support::ports::free_port;
use support::stacks::docker_registry as registry;
use support::wait::eventually;

/// The data services: name and real port.
const STORES: [(&str, u16); 4] = [("postgres", 5432), ("qdrant", 6333), ("neo4j", 7687), ("redis", 6379)];

/// A busybox stand-in serving `index.html` (its name) on `port`; postgres
/// appends its version to a file on its volume at every start and serves
/// that file, so the data it kept is visible by name.
fn store(name: &str, port: u16, version: &str) -> String {
    let (dir, volume) = if name == "postgres" {
        ("/data", format!("    environment:\n      PG_VERSION: {version}\n    volumes:\n      - pgdata:/data\n"))
    } else {
        ("/www", String::new())
    };
    let script = if name == "postgres" {
        format!(
            "mkdir -p {dir} && echo \\\"$$PG_VERSION\\\" >> {dir}/starts && cp {dir}/starts {dir}/index.html && exec httpd -f -p {port} -h {dir}"
        )
    } else {
        format!("mkdir -p {dir} && echo {name} > {dir}/index.html && exec httpd -f -p {port} -h {dir}")
    };
    format!(
        "  {name}:\n    image: {BUSYBOX}\n    command: [\"sh\", \"-c\", \"{script}\"]\n    ports:\n      - \"{port}\"\n{volume}    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://localhost:{port}/\"]\n      interval: 200ms\n      timeout: 1s\n      retries: 3\n"
    )
}

/// api or worker: the demo service, healthy only while it reaches every
/// data service by name (`DEMO_REQUIRE`).
fn app(name: &str) -> String {
    let require: Vec<String> = STORES.iter().map(|(s, p)| format!("{s}:{p}")).collect();
    let depends: String =
        STORES.iter().map(|(s, _)| format!("      {s}:\n        condition: service_healthy\n")).collect();
    format!(
        "  {name}:\n    image: {IMAGE}\n    environment:\n      DEMO_VERSION: {name}-v1\n      DEMO_REQUIRE: \"{}\"\n    ports:\n      - \"8080\"\n    healthcheck:\n      test: [\"CMD\", \"/hoist-demo\", \"check\"]\n      interval: 200ms\n      timeout: 1s\n      retries: 3\n    depends_on:\n{depends}",
        require.join(",")
    )
}

/// A busybox service that starts serving on `port` only once every URL
/// answers (fetched by the dependency's name).
fn watcher(name: &str, port: u16, published: Option<u16>, needs: &[(&str, &str)]) -> String {
    let checks: Vec<String> = needs.iter().map(|(_, url)| format!("wget -q -O /dev/null {url}")).collect();
    let script = format!(
        "until {}; do sleep 0.2; done; mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p {port} -h /www",
        checks.join(" && ")
    );
    let ports = match published {
        Some(p) => format!("127.0.0.1:{p}:{port}"),
        None => port.to_string(),
    };
    let depends: String =
        needs.iter().map(|(s, _)| format!("      {s}:\n        condition: service_started\n")).collect();
    format!(
        "  {name}:\n    image: {BUSYBOX}\n    command: [\"sh\", \"-c\", \"{script}\"]\n    ports:\n      - \"{ports}\"\n    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://localhost:{port}/\"]\n      interval: 200ms\n      timeout: 1s\n      retries: 3\n    depends_on:\n{depends}"
    )
}

fn compose(project: &str, pg_version: &str, grafana_port: u16) -> String {
    let mut text = format!("name: {project}\nservices:\n");
    for (name, port) in STORES {
        text.push_str(&store(name, port, pg_version));
    }
    text.push_str(&app("api"));
    text.push_str(&app("worker"));
    text.push_str(&watcher(
        "prometheus",
        9090,
        None,
        &[("api", "http://api:8080/healthz"), ("worker", "http://worker:8080/healthz")],
    ));
    text.push_str(&watcher("grafana", 3000, Some(grafana_port), &[("prometheus", "http://prometheus:9090/")]));
    text.push_str("volumes:\n  pgdata: {}\n");
    text
}

/// The id of the one container of `service` in environment `env`.
fn container(service: &str, env: &str) -> String {
    let found = in_environment(service, env);
    assert_eq!(found.len(), 1, "{service} in {env}: one container: {found:?}");
    found[0].clone()
}

/// Runs `script` in `sh -c` inside container `id`: (success, stdout+stderr).
fn exec(id: &str, script: &str) -> (bool, String) {
    let out = docker(&["exec", id, "sh", "-c", script]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn the_three_layer_stack_finds_every_dependency_by_name_and_keeps_its_data() {
    build_image();
    build_busybox();
    let env = format!("l{}", std::process::id());
    let project = "layers";
    let dir = tempfile::tempdir().unwrap();
    // Dropped after the plane, which is killed first.
    let _volume = Volume(format!("hoist-{project}-{env}-pgdata"));
    let _network = Network(format!("hoist-{project}-{env}"));
    let _containers = EnvironmentContainers(env.clone());
    let plane = Plane::start(dir.path(), &registry(&env));
    let grafana_port = free_port();
    let file = dir.path().join("docker-compose.yml");
    let f = file.to_str().unwrap();

    std::fs::write(&file, compose(project, "v1", grafana_port)).unwrap();
    let started = std::time::Instant::now();
    let (ok, out) = plane.hoist(&["stack", "deploy", f, "--env", &env, "--wait"]);
    assert!(ok, "the stack did not come up: {out}\n{}", plane.log());
    eprintln!("8 services healthy in {:.1} s", started.elapsed().as_secs_f64());
    let s = plane.json(&["stack", "status", project, "--env", &env, "--output", "json"]);
    assert_eq!(s["phase"], "completed", "{s:#}");

    // From inside grafana, every service answers to its name.
    let grafana = container("grafana", &env);
    for (name, port) in STORES {
        let (ok, body) = exec(&grafana, &format!("wget -q -O- http://{name}:{port}/"));
        let expected = if name == "postgres" { "v1" } else { name };
        assert!(ok && body.contains(expected), "grafana reaches {name}:{port} by name: {body}");
    }
    for name in ["api", "worker"] {
        // The demo service answers 200 only while it reaches all four.
        let (ok, body) = exec(&grafana, &format!("wget -q -O- http://{name}:8080/healthz"));
        assert!(ok, "{name} reaches every data service by name: {body}");
        // And from inside api/worker's own network namespace: a busybox
        // container sharing it resolves the same names.
        let id = container(name, &env);
        let out = docker(&[
            "run",
            "--rm",
            "--network",
            &format!("container:{id}"),
            BUSYBOX,
            "sh",
            "-c",
            "wget -q -O /dev/null http://localhost:8080/healthz",
        ]);
        assert!(out.status.success(), "{name}'s own health: {}", String::from_utf8_lossy(&out.stderr));
    }
    let (ok, body) = exec(&grafana, "wget -q -O- http://prometheus:9090/");
    assert!(ok && body.contains("prometheus"), "grafana reaches prometheus: {body}");
    // grafana's published port is its front door on Hoist's router.
    let (status, body) = get(grafana_port).unwrap_or_else(|e| panic!("grafana's front door: {e}"));
    assert_eq!((status, body.trim()), (200, "grafana"));

    // An update of postgres (stop-first: it has a volume) keeps its data,
    // and the services that reach it by name reach the new container.
    let old = container("postgres", &env);
    std::fs::write(&file, compose(project, "v2", grafana_port)).unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", f, "--env", &env, "--wait"]);
    assert!(ok, "postgres v2: {out}\n{}", plane.log());
    assert!(out.contains("1 of 8 services to update"), "only postgres changes: {out}");
    let new = container("postgres", &env);
    assert_ne!(old, new, "postgres was replaced");
    let (ok, body) = exec(&grafana, "wget -q -O- http://postgres:5432/");
    assert!(ok && body.contains("v1") && body.contains("v2"), "postgres kept v1's data: {body}");
    for name in ["api", "worker"] {
        eventually(10, &format!("{name} reaching the new postgres"), || {
            exec(&grafana, &format!("wget -q -O /dev/null http://{name}:8080/healthz")).0.then_some(())
        });
    }
}

/// The api + neo4j + zookeeper + kafka stack with a `.env`, as users write
/// it: the api's interpolated settings are in `docker inspect`, its front
/// door is the `.env`'s port, and every dependency is reached by name.
#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
fn the_kafka_stack_with_dotenv_interpolates_and_reaches_every_dependency_by_name() {
    build_image();
    build_busybox();
    let env = format!("k{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let _network = Network(format!("hoist-events-{env}"));
    let _containers = EnvironmentContainers(env.clone());
    let plane = Plane::start(dir.path(), &registry(&env));
    let files = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        files.path().join(".env"),
        format!("NEO4J_USERNAME=neo4j\nNEO4J_PASSWORD='s3cret pass'\nOPENAI_API_KEY=sk-test-123\nHOSTPORT={port}\n"),
    )
    .unwrap();
    let serve = |name: &str, port: u16, needs: &str| {
        let wait = if needs.is_empty() {
            String::new()
        } else {
            format!("until wget -q -O /dev/null http://{needs}/; do sleep 0.2; done; ")
        };
        format!(
            "  {name}:\n    image: {BUSYBOX}\n    command: [\"sh\", \"-c\", \"{wait}mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p {port} -h /www\"]\n    ports: [\"{port}\"]\n    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://localhost:{port}/\"]\n      interval: 200ms\n"
        )
    };
    let mut text = String::from("name: events\nservices:\n");
    text.push_str(&serve("zookeeper", 2181, ""));
    text.push_str(&serve("kafka", 9092, "zookeeper:2181"));
    text.push_str("    depends_on:\n      zookeeper:\n        condition: service_healthy\n");
    text.push_str(&serve("neo4j", 7687, ""));
    text.push_str(&format!(
        "  api:\n    image: {IMAGE}\n    environment:\n      NEO4J_AUTH: ${{NEO4J_USERNAME}}/${{NEO4J_PASSWORD}}\n      OPENAI_API_KEY: ${{OPENAI_API_KEY}}\n      DEMO_VERSION: api-${{API_TAG:-1}}\n      DEMO_REQUIRE: neo4j:7687,kafka:9092\n    ports: [\"${{HOSTPORT:-8090}}:8080\"]\n    healthcheck:\n      test: [\"CMD\", \"/hoist-demo\", \"check\"]\n      interval: 200ms\n    depends_on:\n      kafka:\n        condition: service_healthy\n      neo4j:\n        condition: service_healthy\n"
    ));
    let file = files.path().join("docker-compose.yml");
    std::fs::write(&file, text).unwrap();
    let (ok, out) = plane.hoist(&["stack", "deploy", file.to_str().unwrap(), "--env", &env, "--wait"]);
    assert!(ok, "{out}\n{}", plane.log());

    let api = container("api", &env);
    let out = docker(&["inspect", &api, "--format", "{{json .Config.Env}}"]);
    let vars = String::from_utf8_lossy(&out.stdout).to_string();
    for want in ["NEO4J_AUTH=neo4j/s3cret pass", "OPENAI_API_KEY=sk-test-123", "DEMO_VERSION=api-1"] {
        assert!(vars.contains(want), "`{want}` interpolated from .env: {vars}");
    }
    let (status, body) = get(port).unwrap_or_else(|e| panic!("the api's front door on HOSTPORT {port}: {e}"));
    assert_eq!((status, body.contains("api-1")), (200, true), "{body}");
    let kafka = container("kafka", &env);
    for (name, port) in [("zookeeper", 2181), ("neo4j", 7687), ("api", 8080)] {
        let path = if name == "api" { "healthz" } else { "" };
        let (ok, body) = exec(&kafka, &format!("wget -q -O- http://{name}:{port}/{path}"));
        assert!(ok, "kafka's container reaches {name}:{port} by name: {body}");
    }
}
