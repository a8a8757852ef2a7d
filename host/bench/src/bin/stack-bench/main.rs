//! `stack-bench`: the users' 9-service stack and a 30-service one, each
//! with a known critical path and every service healthy only while it
//! reaches its dependencies by name, started on the local Docker engine by
//! `hoist stack deploy --wait` and by `docker compose up --wait`, from the
//! same Compose file, alternating in the same run (`--stack nine|thirty`
//! for one).
//! Prints one `name value unit` line per figure (`cargo xtask bench`).
//!
//! Each run starts from a clean engine (this benchmark's containers and
//! Compose project removed) and ends clean again, also on error. Hoist's
//! control plane is started before its clock runs. Quick mode
//! (`HOIST_BENCH_QUICK=1`): the nine and 10 of the 30, one run each.

mod docker;
mod topology;

use std::time::Duration;

use anyhow::Context as _;
use hoist_bench::sized;
use hoist_bench::stack_serve as hoist;

use crate::docker::{Compose, preflight, remove_services};

const IMAGE: &str = "hoist-demo:e2e";
const PROJECT: &str = "hoist-stack-bench";
/// The healthcheck interval of every service (`--interval-ms`); Hoist
/// probes at the same interval (the Compose healthcheck becomes its probe).
const INTERVAL_MS: u64 = 200;

fn main() -> anyhow::Result<()> {
    let flag = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let runs: usize = flag("--runs").map(|n| n.parse()).transpose()?.unwrap_or(sized(3, 1));
    let interval_ms: u64 = flag("--interval-ms").map(|n| n.parse()).transpose()?.unwrap_or(INTERVAL_MS);
    preflight(IMAGE)?;
    let compose = Compose::detect()?;
    // The `hoist` built beside this binary, unless `--hoist PATH`.
    let hoist = match flag("--hoist") {
        Some(path) => path.into(),
        None => std::env::current_exe()?.parent().context("no directory of the benchmark binary")?.join("hoist"),
    };
    let only = flag("--stack");
    let bench = Bench { compose: &compose, hoist: &hoist, runs, interval_ms };
    if only.as_deref().is_none_or(|s| s == "nine") {
        bench.run(
            "stack9",
            "the users' 9 (postgres, qdrant, neo4j, redis → api, worker → prometheus → grafana, web)",
            &topology::nine("s9"),
        )?;
    }
    if only.as_deref().is_none_or(|s| s == "thirty") {
        let thirty = topology::services("sbench", sized([8, 12, 10], [3, 4, 3]));
        bench.run("stack", &format!("{} in 3 layers", thirty.len()), &thirty)?;
    }
    Ok(())
}

struct Bench<'a> {
    compose: &'a (Compose, String),
    hoist: &'a std::path::Path,
    runs: usize,
    interval_ms: u64,
}

impl Bench<'_> {
    /// Runs Compose and Hoist in turn on `services`, printing figures
    /// named `{label}_…`. Every service is healthy only while it reaches its
    /// dependencies by name, so a run that completes proves discovery.
    fn run(&self, label: &str, what: &str, services: &[topology::Service]) -> anyhow::Result<()> {
        let (compose, compose_version) = self.compose;
        let (runs, interval_ms) = (self.runs, self.interval_ms);
        let names: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
        let critical = topology::critical_path_ms(services)?;
        let dir = tempfile::tempdir()?;
        // In a directory named like the project: Hoist names the stack after it.
        std::fs::create_dir(dir.path().join(PROJECT))?;
        let file = dir.path().join(PROJECT).join("docker-compose.yml");
        std::fs::write(&file, topology::compose_file(IMAGE, services, interval_ms))?;
        let clean = || -> anyhow::Result<()> {
            compose.down(PROJECT, &file)?;
            remove_services(&names)
        };
        // Removes everything of the benchmark also when a run fails.
        let guard = Guard(&clean);
        clean()?;
        let mut hoist_times = Vec::new();
        let mut compose_times = Vec::new();
        let mut floors = Vec::new();
        for run in 0..runs {
            let took = compose.up(PROJECT, &file, services.len())?;
            compose.down(PROJECT, &file)?;
            compose_times.push(took);

            let state = tempfile::tempdir()?;
            let serve = hoist::Serve::start(self.hoist, state.path())?;
            let took = serve.deploy(&file)?;
            if run == 0 {
                report_lag(&serve.status(PROJECT)?, services)?;
            }
            floors.push(topology::critical_path_with(services, &docker::engine_start_ms(&names)?)? as f64);
            drop(serve);
            remove_services(&names)?;
            hoist_times.push(took);
            eprintln!(
                "{label} run {}: hoist {} ms, compose {} ms",
                run + 1,
                took.as_millis(),
                compose_times[run].as_millis()
            );
        }
        drop(guard);

        let hoist_ms = median_ms(&mut hoist_times);
        let compose_ms = median_ms(&mut compose_times);
        println!(
            "# {label}: {what} services of {IMAGE}, service_healthy, each reaching its dependencies by name; healthcheck every {interval_ms} ms; median of {runs} runs; compose: {compose_version}"
        );
        let figure = |name: &str, value: f64, unit: &str| println!("{label}_{name} {value:.2} {unit}");
        figure("critical_path", critical as f64, "ms");
        figure("hoist_deploy", hoist_ms, "ms");
        figure("hoist_over_critical_path", hoist_ms / critical as f64, "ratio");
        // The critical path again, each delay plus the time the engine took
        // to start that container in Hoist's run: the floor on this engine.
        floors.sort_by(f64::total_cmp);
        let floor = floors.get(floors.len() / 2).copied().unwrap_or(f64::NAN);
        figure("critical_path_with_engine_start", floor, "ms");
        figure("hoist_over_engine_floor", hoist_ms / floor, "ratio");
        figure("compose_up", compose_ms, "ms");
        figure("compose_over_critical_path", compose_ms / critical as f64, "ratio");
        figure("hoist_over_compose", hoist_ms / compose_ms, "ratio");
        Ok(())
    }
}

/// How late Hoist started each service after its dependencies were
/// healthy, and took to see it healthy after its declared delay (stderr,
/// for profiling; not a figure).
fn report_lag(status: &serde_json::Value, services: &[topology::Service]) -> anyhow::Result<()> {
    let at = |name: &str, key: &str| {
        status["services"][name][key].as_u64().with_context(|| format!("`{name}` has no {key} in {status}"))
    };
    let begin = status["started_at_ms"].as_u64().context("no started_at_ms")?;
    let (mut start_lag, mut ready_lag) = (0u64, 0u64);
    for s in services {
        let deps_ready = s
            .depends_on
            .iter()
            .map(|d| at(d, "ready_at_ms"))
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .max()
            .unwrap_or(begin);
        let started = at(&s.name, "started_at_ms")?;
        let ready = at(&s.name, "ready_at_ms")?;
        start_lag = start_lag.max(started.saturating_sub(deps_ready));
        ready_lag = ready_lag.max(ready.saturating_sub(started + s.startup_ms));
    }
    eprintln!(
        "hoist: worst start after dependencies healthy {start_lag} ms; worst healthy after start + delay {ready_lag} ms"
    );
    Ok(())
}

struct Guard<'a>(&'a dyn Fn() -> anyhow::Result<()>);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let Err(e) = (self.0)() {
            eprintln!(
                "stack-bench: cleanup failed: {e:#}; remove containers labelled hoist.service=sbench-* and `docker-compose -p {PROJECT} down`"
            );
        }
    }
}

fn median_ms(v: &mut [Duration]) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}
