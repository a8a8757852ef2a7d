//! `heal-bench`: from the death of a service's only instance to a healthy
//! replacement, on the local Docker engine, side by side in one run:
//! Hoist (a Compose service deployed as a stack, held at rest), the
//! engine's own `restart: always`, and a Swarm service (restart delay 0,
//! as the others wait for none). The same image, the same in-container
//! healthcheck (the image's HEALTHCHECK, `/hoist-demo check` every 100 ms), the same death — the
//! container's main process killed with SIGKILL from the host, as a crash
//! — and the same finish: a container of the service, not the dead one,
//! that Docker reports healthy. Prints one `name value unit` line per
//! figure (`cargo xtask bench`); quick mode (`HOIST_BENCH_QUICK=1`): one
//! death each.

mod sides;

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hoist_bench::{figure, sized};

use crate::sides::{Side, docker};

const IMAGE: &str = "hoist-demo:e2e";

fn main() -> anyhow::Result<()> {
    let flag = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let deaths: usize = flag("--deaths").map(|n| n.parse()).transpose()?.unwrap_or(sized(5, 1));
    let hoist = match flag("--hoist") {
        Some(path) => path.into(),
        None => std::env::current_exe()?.parent().context("no directory of the benchmark binary")?.join("hoist"),
    };
    let out = docker(&["image", "inspect", IMAGE])?;
    if !out.status.success() {
        bail!("image `{IMAGE}` is not on the engine; build it with `cargo xtask images`");
    }
    sides::build_image()?;
    let _swarm = sides::Swarm::join()?;
    let names = ["hoist", "restart_always", "swarm"];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    // Alternating: one death per side per round, so load drifts alike; each
    // round on fresh services, so every death is a first one (a repeated
    // death measures each side's crash-loop backoff instead).
    for round in 0..deaths {
        let mut sides = [Side::hoist(&hoist)?, Side::restart_always()?, Side::swarm()?];
        for (side, took) in sides.iter_mut().zip(times.iter_mut()) {
            let t = kill_and_wait(side)?;
            eprintln!("round {}: {} {} ms", round + 1, side.name, t.as_millis());
            took.push(t);
        }
    }
    println!(
        "# heal: instance SIGKILLed → healthy replacement (Docker's healthcheck every 100 ms); median of {deaths} deaths"
    );
    let medians: Vec<f64> = times.iter_mut().map(|t| median_ms(t)).collect();
    for (name, ms) in names.iter().zip(&medians) {
        figure(&format!("heal_{name}"), *ms, "ms");
    }
    figure("heal_hoist_over_restart_always", medians[0] / medians[1], "ratio");
    figure("heal_hoist_over_swarm", medians[0] / medians[2], "ratio");
    Ok(())
}

/// Kills the side's healthy container's main process, then waits for a
/// healthy container of the side that is not the one killed.
fn kill_and_wait(side: &mut Side) -> anyhow::Result<Duration> {
    let before = side.healthy()?.with_context(|| format!("{}: no healthy container to kill", side.name))?;
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", &before.0])?;
    let pid: i32 = String::from_utf8_lossy(&pid.stdout).trim().parse().context("the container's pid")?;
    let started = Instant::now();
    // SAFETY: a plain kill(2) of a process id read just now.
    if unsafe { libc::kill(pid, libc::SIGKILL) } != 0 {
        bail!("kill {pid}: {}", std::io::Error::last_os_error());
    }
    let deadline = started + Duration::from_secs(120);
    loop {
        if side.healthy()?.is_some_and(|now| now != before) {
            return Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            bail!("{}: no healthy replacement 120 s after the kill", side.name);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn median_ms(v: &mut [Duration]) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}
