//! Swarm's side: a service of the same replicas and image, updated with
//! `docker service update --update-parallelism BATCH --update-delay 0s
//! --update-order start-first --update-monitor 1ms` (Hoist's rolling
//! strategy has no monitoring period either: min-ready 0) and rolled back
//! with `docker service rollback` (parallelism 0 = all at once, start-first:
//! like Hoist's fast-tracked rollback). The swarm is initialised if needed
//! (and then left), under the lock Hoist's Swarm tests take.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::Shape;
use crate::docker::{docker, remove_containers};
use crate::image::IMAGE;

/// Held by every Hoist test or bench that initialises or leaves a swarm.
const LOCK: &str = "/tmp/hoist-swarm.lock";

/// Durations of one update or rollback: by the engine's own timestamps
/// (`UpdateStatus.StartedAt` to `CompletedAt`) and from the CLI command to
/// the state observed (polled every 50 ms).
pub struct Took {
    pub engine: Duration,
    pub cli: Duration,
}

/// A service of v1 on a swarm this process may have initialised.
pub struct Swarm {
    initialised: bool,
    _lock: File,
    service: String,
}

impl Swarm {
    fn join(service: &str) -> anyhow::Result<Self> {
        let lock = File::create(LOCK).with_context(|| format!("creating {LOCK}"))?;
        // SAFETY: flock on a descriptor this File owns; released when it closes.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
            bail!("cannot lock {LOCK}: {}", std::io::Error::last_os_error());
        }
        let initialised = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])? != "active";
        if initialised {
            docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"])?;
        }
        Ok(Self { initialised, _lock: lock, service: service.to_owned() })
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        let label = format!("hoist.bench={}", self.service);
        let _ = docker(&["service", "rm", &self.service]);
        // Swarm stops the tasks' containers after the service is gone.
        let deadline = Instant::now() + Duration::from_secs(30);
        while docker(&["ps", "-aq", "--filter", &format!("label={label}")]).is_ok_and(|ids| !ids.is_empty())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(250));
        }
        if let Err(e) = remove_containers(&label) {
            eprintln!("warning: {e}");
        }
        if self.initialised {
            let _ = docker(&["swarm", "leave", "--force"]);
        }
    }
}

/// Waits until `{{.UpdateStatus.State}}` is `want`; the time it took.
fn wait_state(service: &str, want: &str, since: Instant) -> anyhow::Result<Duration> {
    let deadline = since + Duration::from_secs(300);
    loop {
        let state =
            docker(&["service", "inspect", service, "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}"])?;
        if state == want {
            return Ok(since.elapsed());
        }
        if matches!(state.as_str(), "paused" | "rollback_paused") || Instant::now() > deadline {
            let status = docker(&["service", "inspect", service, "--format", "{{json .UpdateStatus}}"])?;
            bail!("service `{service}` did not reach `{want}`: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CompletedAt − StartedAt of the service's last update or rollback.
fn engine_duration(service: &str) -> anyhow::Result<Duration> {
    let text = docker(&[
        "service",
        "inspect",
        service,
        "--format",
        "{{.UpdateStatus.StartedAt.UnixNano}} {{.UpdateStatus.CompletedAt.UnixNano}}",
    ])?;
    let mut it = text.split_whitespace().map(str::parse::<u64>);
    match (it.next(), it.next()) {
        (Some(Ok(start)), Some(Ok(end))) => Ok(Duration::from_nanos(end.saturating_sub(start))),
        _ => bail!("unexpected update timestamps of `{service}`: {text}"),
    }
}

impl Swarm {
    /// Joins or initialises the swarm and creates the service (not timed).
    pub fn start(shape: Shape) -> anyhow::Result<Self> {
        let service = format!("hoist-bench-swarm-{}", std::process::id());
        let swarm = Self::join(&service)?;
        let (replicas, batch) = (shape.replicas.to_string(), shape.batch.to_string());
        let label = format!("hoist.bench={service}");
        let startup = format!("DEMO_STARTUP_MS={}", shape.startup_ms);
        docker(&[
            "service",
            "create",
            "--detach",
            "--name",
            &service,
            "--label",
            &label,
            "--container-label",
            &label,
            "--replicas",
            &replicas,
            "--env",
            &startup,
            "--env",
            "DEMO_VERSION=v1",
            "--stop-grace-period",
            "2s",
            "--update-parallelism",
            &batch,
            "--update-delay",
            "0s",
            "--update-order",
            "start-first",
            "--update-monitor",
            "1ms",
            "--update-failure-action",
            "pause",
            "--rollback-parallelism",
            "0",
            "--rollback-delay",
            "0s",
            "--rollback-order",
            "start-first",
            "--rollback-monitor",
            "1ms",
            IMAGE,
        ])?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while docker(&["service", "ls", "--filter", &format!("name={service}"), "--format", "{{.Replicas}}"])?
            != format!("{replicas}/{replicas}")
        {
            if Instant::now() > deadline {
                bail!("service `{service}` did not reach {replicas} running tasks");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(swarm)
    }

    /// `docker service update` to `version`.
    pub fn update(&self, version: &str) -> anyhow::Result<Took> {
        let started = Instant::now();
        let env = format!("DEMO_VERSION={version}");
        docker(&["service", "update", "--detach", "--env-add", &env, &self.service])?;
        let cli = wait_state(&self.service, "completed", started)?;
        Ok(Took { engine: engine_duration(&self.service)?, cli })
    }

    /// `docker service rollback` to the previous spec.
    pub fn rollback(&self) -> anyhow::Result<Took> {
        let started = Instant::now();
        docker(&["service", "rollback", "--detach", &self.service])?;
        let cli = wait_state(&self.service, "rollback_completed", started)?;
        Ok(Took { engine: engine_duration(&self.service)?, cli })
    }
}
