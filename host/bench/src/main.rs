//! Hoist's plugin benchmarks. Prints one `name value unit` line per figure;
//! the README quotes these lines. Run with `cargo xtask bench`.
//!
//! - fresh-instance decision: instantiate + one `decide` of the rolling
//!   strategy with a realistic mid-rollout context (what every real decision
//!   costs: a fresh store and instance per call);
//! - warm call: `decide` on an already-instantiated plugin;
//! - loading every builtin cold (compiling) and warm (compiled-code cache),
//!   and a whole warm `hoist plugins list` process;
//! - the same rolling logic as a child process answering JSON over a pipe.
//!
//! Quick mode (`HOIST_BENCH_QUICK=1`) takes a few hundred samples and 100
//! rollouts instead.

mod contexts;
mod engine_load;
mod stats;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hoist::builtins::BUILTINS;
use hoist::runtime::{CacheSetting, Limits, Plugin, PluginSpec, Runtime};
use hoist_bench::{figure, sized};
use stats::Samples;

/// How many of each measurement.
struct Size {
    samples: usize,
    /// Calls before sampling, so caches and branch predictors are warm.
    warm_up: usize,
    process_runs: usize,
    /// Concurrent rollouts in the engine figure (the field's is 10).
    rollouts: usize,
}

fn main() -> anyhow::Result<()> {
    let size = sized(
        Size { samples: 20_000, warm_up: 2_000, process_runs: 20, rollouts: 10_000 },
        Size { samples: 300, warm_up: 30, process_runs: 3, rollouts: 100 },
    );
    let cache = tempfile::tempdir()?;
    let (cold, warm) = load_builtins(cache.path())?;
    figure("load_builtins_cold", cold.as_secs_f64() * 1e3, "ms");
    figure("load_builtins_warm", warm.as_secs_f64() * 1e3, "ms");

    let runtime = Runtime::new(CacheSetting::At(cache.path().to_path_buf()))?;
    let rolling = load(&runtime, "rolling")?;
    let ctx = contexts::host_context(&rolling)?;

    for _ in 0..size.warm_up {
        rolling.decide(&ctx)?;
    }
    let fresh = Samples::collect(size.samples, || {
        let started = Instant::now();
        let called = rolling.decide(&ctx);
        let elapsed = started.elapsed();
        called.map(|_| elapsed).map_err(anyhow::Error::from)
    })?;
    figure("fresh_decide_median", fresh.median_us(), "us");
    figure("fresh_decide_p99", fresh.p99_us(), "us");

    let warm_calls = Samples::from(rolling.bench_decide_on_one_instance(&ctx, size.samples)?);
    figure("warm_decide_median", warm_calls.median_us(), "us");

    let native_ctx = contexts::sdk_context()?;
    let native = Samples::collect(size.samples, || {
        let ctx = native_ctx.clone();
        let started = Instant::now();
        let decision = <rolling::Rolling as hoist_sdk::strategy::Strategy>::decide(ctx);
        let elapsed = started.elapsed();
        decision.map(|_| elapsed).map_err(|e| anyhow::anyhow!("{e:?}"))
    })?;
    figure("native_decide_median", native.median_us(), "us");

    let pipe = pipe_decisions(&size)?;
    figure("pipe_decide_median", pipe.median_us(), "us");
    figure("pipe_decide_p99", pipe.p99_us(), "us");
    figure("pipe_over_wasm_fresh", pipe.median_us() / fresh.median_us(), "x");

    let load = engine_load::run(&runtime, size.rollouts)?;
    figure("engine_concurrent_rollouts", load.rollouts as f64, "rollouts");
    figure("engine_completed_rollouts", load.completed as f64, "rollouts");
    figure("engine_decisions", load.decisions as f64, "decisions");
    figure("engine_decisions_per_second", load.decisions as f64 / load.wall.as_secs_f64(), "decisions/s");
    figure("engine_steps_per_second", load.ticks as f64 / load.wall.as_secs_f64(), "steps/s");
    figure("engine_step_p50", load.step_latency.median_us(), "us");
    figure("engine_step_p99", load.step_latency.p99_us(), "us");
    let overhead = load.wall.saturating_sub(load.plugin_time).as_secs_f64() * 1e6 / load.ticks as f64;
    figure("engine_overhead_per_step_excluding_plugins", overhead, "us");

    match hoist_binary() {
        Some(hoist) => {
            let list = plugins_list_process(&hoist, cache.path(), size.process_runs)?;
            figure("plugins_list_warm_process_median", list.median_us() / 1e3, "ms");
        }
        // Quick mode proves every figure still runs: nothing is skipped.
        None if hoist_bench::quick() => {
            bail!("`hoist` is not built next to hoist-bench (cargo xtask bench --quick does)")
        }
        None => {
            eprintln!("skipping plugins_list_warm_process: build `hoist` in release first (cargo xtask bench does)")
        }
    }
    Ok(())
}

fn spec(name: &str) -> anyhow::Result<PluginSpec> {
    let builtin = hoist::builtins::find(name).with_context(|| format!("no builtin `{name}`"))?;
    Ok(PluginSpec {
        name: name.into(),
        kind: builtin.kind,
        source_label: format!("builtin:{name}"),
        bytes: Arc::from(builtin.bytes),
        sha256: None,
        // What the builtins import between them (the platforms, the
        // Prometheus metric provider); a grant a plugin does not import is
        // never linked. No host is allowed: nothing is called.
        capabilities: vec![
            hoist::runtime::Capability::Process,
            hoist::runtime::Capability::Docker,
            hoist::runtime::Capability::Http,
        ],
        http: Default::default(),
        limits: Limits::default_for(builtin.kind),
        environment: None,
        registry: None,
    })
}

fn load(runtime: &Runtime, name: &str) -> anyhow::Result<Plugin> {
    Ok(runtime.load(spec(name)?)?)
}

/// Loading every builtin into a fresh runtime: first with an empty compiled
/// code cache, then with the cache the first pass filled.
fn load_builtins(cache: &std::path::Path) -> anyhow::Result<(Duration, Duration)> {
    let mut times = Vec::new();
    for _ in 0..2 {
        let started = Instant::now();
        let runtime = Runtime::new(CacheSetting::At(cache.to_path_buf()))?;
        for builtin in BUILTINS {
            load(&runtime, builtin.name)?;
        }
        times.push(started.elapsed());
    }
    Ok((times[0], times[1]))
}

fn sibling(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(name);
    path.is_file().then_some(path)
}

fn hoist_binary() -> Option<PathBuf> {
    sibling("hoist")
}

/// Round trips to the rolling logic running as a child process.
fn pipe_decisions(size: &Size) -> anyhow::Result<Samples> {
    let Some(child_path) = sibling("rolling-pipe") else {
        bail!("rolling-pipe is not built next to hoist-bench; run `cargo xtask bench`");
    };
    let mut child = Command::new(child_path).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    let mut stdin = child.stdin.take().context("child stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().context("child stdout")?);
    let line = format!("{}\n", serde_json::to_string(&contexts::sdk_context()?)?);
    let mut answer = String::new();
    let mut round_trip = || -> anyhow::Result<Duration> {
        let started = Instant::now();
        stdin.write_all(line.as_bytes())?;
        stdin.flush()?;
        answer.clear();
        stdout.read_line(&mut answer)?;
        let elapsed = started.elapsed();
        if !answer.contains("Ok") {
            bail!("the pipe plugin answered: {answer}");
        }
        Ok(elapsed)
    };
    for _ in 0..size.warm_up {
        round_trip()?;
    }
    let samples = Samples::collect(size.samples, round_trip)?;
    drop(stdin);
    child.wait()?;
    Ok(samples)
}

/// Wall time of whole `hoist plugins list` processes on a warm cache.
fn plugins_list_process(hoist: &std::path::Path, cache: &std::path::Path, runs: usize) -> anyhow::Result<Samples> {
    let registry = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/registry.toml");
    let run = || -> anyhow::Result<Duration> {
        let started = Instant::now();
        let out = Command::new(hoist)
            .args(["plugins", "list", "--registry"])
            .arg(&registry)
            .arg("--cache-dir")
            .arg(cache)
            .stdout(Stdio::null())
            .output()?;
        let elapsed = started.elapsed();
        if !out.status.success() {
            bail!("hoist plugins list failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(elapsed)
    };
    run()?;
    Samples::collect(runs, run)
}
