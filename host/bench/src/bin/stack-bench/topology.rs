//! The benchmark's stacks, of the demo image, each service depending on the
//! layer below with `condition: service_healthy` and healthy only while it
//! reaches every dependency by its service name (`DEMO_REQUIRE`), with fixed
//! start-up delays (`DEMO_STARTUP_MS`), so the critical path is known in
//! advance: the users' nine (postgres, qdrant, neo4j, redis → api, worker
//! → prometheus → grafana, web) and a 30-service one (8 data services → 12
//! apps → 10 edge services; quick mode takes the first few of each layer,
//! 3 → 4 → 3).

use std::collections::BTreeMap;

use hoist_stack::{Condition, Graph, Timing};

pub struct Service {
    pub name: String,
    pub startup_ms: u64,
    pub depends_on: Vec<String>,
}

/// Start-up delays per layer, in ms. Data services are slowest, as in life.
const DATA: [u64; 8] = [1500, 2200, 900, 1800, 2600, 1200, 700, 2000];
const APPS: [u64; 12] = [800, 1200, 400, 1600, 1000, 600, 1400, 900, 500, 1100, 700, 1300];
const EDGE: [u64; 10] = [300, 600, 200, 800, 400, 500, 700, 250, 350, 450];

/// The stack, with the first `layers` (data, apps, edge) services of each
/// layer at most.
pub fn services(prefix: &str, layers: [usize; 3]) -> Vec<Service> {
    let name = |layer: &str, i: usize| format!("{prefix}-{layer}{i:02}");
    let data = &DATA[..layers[0].clamp(1, DATA.len())];
    let apps = &APPS[..layers[1].clamp(1, APPS.len())];
    let edge = &EDGE[..layers[2].clamp(1, EDGE.len())];
    let mut out = Vec::new();
    for (i, ms) in data.iter().enumerate() {
        out.push(Service { name: name("data", i), startup_ms: *ms, depends_on: vec![] });
    }
    // Each app needs two data services; each edge service one or two apps.
    for (i, ms) in apps.iter().enumerate() {
        let deps = vec![name("data", i % data.len()), name("data", (i * 3 + 1) % data.len())];
        out.push(Service { name: name("app", i), startup_ms: *ms, depends_on: dedup(deps) });
    }
    for (i, ms) in edge.iter().enumerate() {
        let app = |j: usize| name("app", j % apps.len());
        let deps = if i % 2 == 0 { vec![app(i)] } else { vec![app(i), app(i + 5)] };
        out.push(Service { name: name("edge", i), startup_ms: *ms, depends_on: dedup(deps) });
    }
    out
}

/// The users' stack: four data services → api and worker → prometheus
/// (scraping both) → grafana, and web in front of api.
pub fn nine(prefix: &str) -> Vec<Service> {
    let n = |s: &str| format!("{prefix}-{s}");
    let data = ["postgres", "qdrant", "neo4j", "redis"];
    let mut out: Vec<Service> = data
        .iter()
        .zip([2000, 1500, 2600, 300])
        .map(|(s, ms)| Service { name: n(s), startup_ms: ms, depends_on: vec![] })
        .collect();
    let all_data: Vec<String> = data.iter().map(|s| n(s)).collect();
    out.push(Service { name: n("api"), startup_ms: 800, depends_on: all_data.clone() });
    out.push(Service { name: n("worker"), startup_ms: 500, depends_on: all_data });
    out.push(Service { name: n("prometheus"), startup_ms: 600, depends_on: vec![n("api"), n("worker")] });
    out.push(Service { name: n("grafana"), startup_ms: 900, depends_on: vec![n("prometheus")] });
    out.push(Service { name: n("web"), startup_ms: 200, depends_on: vec![n("api")] });
    out
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// The least time in which the stack can be healthy given the declared
/// delays alone (no container start, no probe interval): `Graph::critical_path`.
pub fn critical_path_ms(services: &[Service]) -> anyhow::Result<u64> {
    critical_path_with(services, &BTreeMap::new())
}

/// The same with `extra` ms added to a service's delay (e.g. the time the
/// engine took to start its container).
pub fn critical_path_with(services: &[Service], extra: &BTreeMap<String, u64>) -> anyhow::Result<u64> {
    let deps = services
        .iter()
        .map(|s| (s.name.clone(), s.depends_on.iter().map(|d| (d.clone(), Condition::Healthy)).collect()))
        .collect();
    let graph = Graph::new(deps)?;
    let timing: BTreeMap<String, Timing> = services
        .iter()
        .map(|s| {
            let healthy_ms = s.startup_ms + extra.get(&s.name).copied().unwrap_or(0);
            (s.name.clone(), Timing { started_ms: 0, healthy_ms, completed_ms: healthy_ms })
        })
        .collect();
    Ok(graph.critical_path(&timing))
}

/// The Compose file, as a Compose user writes it: image, environment (its
/// dependencies by name in `DEMO_REQUIRE`), a loopback port, a healthcheck
/// by the image's own `check` command every `interval_ms`, long-syntax
/// `depends_on`.
/// No top-level `name:` (Compose v1 refuses it): the directory names the
/// project for Hoist, `-p` for Compose.
pub fn compose_file(image: &str, services: &[Service], interval_ms: u64) -> String {
    let mut text = "services:\n".to_string();
    for s in services {
        let require: Vec<String> = s.depends_on.iter().map(|d| format!("{d}:8080")).collect();
        let require =
            if require.is_empty() { String::new() } else { format!("      DEMO_REQUIRE: \"{}\"\n", require.join(",")) };
        text.push_str(&format!(
            "  {name}:\n    image: {image}\n    environment:\n      DEMO_VERSION: v1\n      DEMO_STARTUP_MS: \"{startup}\"\n{require}    ports:\n      - \"127.0.0.1::8080\"\n    healthcheck:\n      test: [\"CMD\", \"/hoist-demo\", \"check\"]\n      interval: {interval_ms}ms\n      timeout: 1s\n      retries: 3\n      start_period: 30s\n",
            name = s.name,
            startup = s.startup_ms,
        ));
        if !s.depends_on.is_empty() {
            text.push_str("    depends_on:\n");
            for d in &s.depends_on {
                text.push_str(&format!("      {d}:\n        condition: service_healthy\n"));
            }
        }
    }
    text
}
