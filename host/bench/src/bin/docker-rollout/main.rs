//! Rolling update of 10 replicas in health-gated batches of 2, side by side
//! on the local Docker engine: Hoist (`hoist serve`, the `rolling` plugin
//! with max-surge 2 / max-unavailable 0, on `builtin:docker` containers) vs
//! `docker service update --update-parallelism 2 --update-delay 0s
//! --update-order start-first` on a 10-replica Swarm service. Then the time
//! to roll each back (`hoist rollback` vs `docker service rollback`).
//!
//! Both run the same image, `hoist-demo:bench`: the demo service with
//! `DEMO_STARTUP_MS` (its `/healthz` answers 503 that long after start) and
//! a Docker HEALTHCHECK (`hoist-demo --check-health` every 500 ms). Hoist's
//! readiness and Swarm's both come from that HEALTHCHECK, so each batch
//! waits for the same signal. The two alternate over `ROUNDS` rounds (this
//! machine is shared and noisy) and the medians are printed as
//! `name value unit` lines.
//!
//! Usage: `docker-rollout [PATH-TO-STATIC-hoist-demo]` (`cargo xtask bench`
//! builds it and `hoist` first). Initialises a swarm if the engine is not in
//! one and leaves it only then; removes everything it created. Quick mode
//! (`HOIST_BENCH_QUICK=1`): 2 replicas in batches of 1, healthy after
//! 500 ms, one round.

mod docker;
mod hoist_side;
mod image;
mod swarm_side;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use hoist_bench::{figure, sized};

/// What both sides roll out.
#[derive(Clone, Copy)]
pub struct Shape {
    pub replicas: u32,
    pub batch: u32,
    /// How long each new instance answers 503 on `/healthz` after it starts.
    pub startup_ms: u32,
    /// Update + rollback rounds per side, alternating which side goes first.
    pub rounds: usize,
}

/// Per round: update, update as the CLI saw it, rollback, rollback as the
/// CLI saw it (seconds).
#[derive(Default)]
struct Rounds(Vec<[f64; 4]>);

impl Rounds {
    fn push(&mut self, update: Duration, update_cli: Duration, rollback: Duration, rollback_cli: Duration) {
        self.0.push([update, update_cli, rollback, rollback_cli].map(|d| d.as_secs_f64()));
    }

    fn last(&self) -> Option<[f64; 4]> {
        self.0.last().copied()
    }

    fn median(&self, column: usize) -> f64 {
        let mut v: Vec<f64> = self.0.iter().map(|r| r[column]).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let demo = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => root.join("target/x86_64-unknown-linux-gnu/release/hoist-demo"),
    };
    let shape = sized(
        Shape { replicas: 10, batch: 2, startup_ms: 3000, rounds: 3 },
        Shape { replicas: 2, batch: 1, startup_ms: 500, rounds: 1 },
    );
    let Shape { replicas, batch, startup_ms, rounds } = shape;
    let exe = std::env::current_exe()?;
    let hoist = exe.parent().context("the bench binary has no directory")?.join("hoist");
    anyhow::ensure!(hoist.is_file(), "{} is missing: run `cargo build --release -p hoist` first", hoist.display());
    docker::require_engine()?;
    image::build(&root, &demo)?;
    println!(
        "# rolling update of {replicas} replicas in batches of {batch} (start-first), each instance healthy ~{startup_ms} ms \
         after start (HEALTHCHECK every 500 ms); medians of {rounds} alternating rounds"
    );

    let serve = hoist_side::Serve::start(&hoist, shape)?;
    let swarm = swarm_side::Swarm::start(shape)?;
    let mut h = Rounds::default();
    let mut s = Rounds::default();
    for round in 0..rounds {
        let version = format!("v{}", round + 2);
        let hoist_first = round % 2 == 0;
        for side in [hoist_first, !hoist_first] {
            if side {
                let update = serve.update(&version)?;
                let rollback = serve.rollback()?;
                h.push(update.rollout, update.cli, rollback.rollout, rollback.cli);
            } else {
                let update = swarm.update(&version)?;
                let rollback = swarm.rollback()?;
                s.push(update.engine, update.cli, rollback.engine, rollback.cli);
            }
        }
        eprintln!("round {}: hoist {:?}, swarm {:?}", round + 1, h.last(), s.last());
    }
    drop(serve);
    drop(swarm);

    let update = format!("rolling_update_{replicas}x{batch}");
    figure(&format!("hoist_{update}"), h.median(0), "s");
    figure(&format!("hoist_{update}_cli"), h.median(1), "s");
    figure(&format!("swarm_{update}"), s.median(0), "s");
    figure(&format!("swarm_{update}_cli"), s.median(1), "s");
    figure("hoist_over_swarm_rolling_update", h.median(0) / s.median(0), "ratio");
    figure("hoist_rollback", h.median(2), "s");
    figure("hoist_rollback_cli", h.median(3), "s");
    figure("swarm_rollback", s.median(2), "s");
    figure("swarm_rollback_cli", s.median(3), "s");
    figure("hoist_over_swarm_rollback", h.median(2) / s.median(2), "ratio");
    Ok(())
}
