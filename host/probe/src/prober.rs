//! [`Prober`]: probes many targets on their own intervals, in tokio tasks,
//! and keeps each one's [`TargetHealth`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::task::AbortHandle;
use tokio::time::MissedTickBehavior;

use crate::check::probe_once;
use crate::duration;
use crate::health::TargetHealth;
use crate::spec::{ProbeSpec, SpecError};

type Targets = Mutex<HashMap<String, Entry>>;

/// Called with a target's id when it becomes ready, stops being ready, or
/// is marked failed — so a caller can react at once instead of polling.
pub type OnChange = Arc<dyn Fn(&str) + Send + Sync>;

struct Entry {
    health: TargetHealth,
    /// Tells this entry's task from one started by a later `add` of the same id.
    generation: u64,
    task: AbortHandle,
}

/// A target could not be added.
#[derive(Debug, thiserror::Error)]
#[error("cannot probe target `{id}`: {source}")]
pub struct AddError {
    pub id: String,
    #[source]
    pub source: SpecError,
}

/// Probes targets until they are removed or the prober is dropped.
///
/// Each target is probed by its own task on the given runtime, first after
/// `initial-delay`, then every `interval`. A target starts not ready, becomes
/// ready after `success-threshold` consecutive successes, and stops being
/// ready after `failure-threshold` consecutive failures. If it has never been
/// ready by `healthy-deadline` after [`add`](Prober::add), it is marked
/// `failed` and no longer probed.
pub struct Prober {
    targets: Arc<Targets>,
    runtime: Handle,
    next_generation: u64,
    on_change: Option<OnChange>,
}

impl Prober {
    /// A prober whose tasks run on `runtime` (e.g. `Handle::current()`).
    pub fn new(runtime: Handle) -> Self {
        Prober { targets: Arc::new(Mutex::new(HashMap::new())), runtime, next_generation: 0, on_change: None }
    }

    /// Calls `f` whenever a target added from now on changes readiness.
    pub fn on_change(&mut self, f: OnChange) {
        self.on_change = Some(f);
    }

    /// Start probing `addr` under `id`. Adding an id again replaces the
    /// target: its old task stops and its health starts afresh.
    pub fn add(&mut self, id: impl Into<String>, spec: ProbeSpec, addr: SocketAddr) -> Result<(), AddError> {
        let id = id.into();
        if let Err(source) = spec.validate() {
            return Err(AddError { id, source });
        }
        self.next_generation += 1;
        let generation = self.next_generation;
        let mut targets = lock(&self.targets);
        let task = self
            .runtime
            .spawn(watch(
                Arc::downgrade(&self.targets),
                id.clone(),
                generation,
                spec,
                addr,
                Instant::now(),
                self.on_change.clone(),
            ))
            .abort_handle();
        if let Some(old) = targets.insert(id, Entry { health: TargetHealth::new(), generation, task }) {
            old.task.abort();
        }
        Ok(())
    }

    /// Stop probing `id` and forget it; whether it was known.
    pub fn remove(&mut self, id: &str) -> bool {
        let removed = lock(&self.targets).remove(id);
        removed.map(|entry| entry.task.abort()).is_some()
    }

    /// The health of `id`, or `None` if it is not a target.
    pub fn state(&self, id: &str) -> Option<TargetHealth> {
        lock(&self.targets).get(id).map(|entry| entry.health.clone())
    }

    /// How long `id` has been ready; `None` when not ready or unknown.
    pub fn ready_for(&self, id: &str) -> Option<Duration> {
        lock(&self.targets).get(id).and_then(|entry| entry.health.ready_for(Instant::now()))
    }

    /// The ids being tracked, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.targets).keys().cloned().collect();
        ids.sort();
        ids
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        for entry in lock(&self.targets).values() {
            entry.task.abort();
        }
    }
}

/// The state is plain data, valid after any panic in another holder.
fn lock(targets: &Targets) -> MutexGuard<'_, HashMap<String, Entry>> {
    targets.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Apply `change` to target `id` if it is still this generation's; false
/// when the target was removed, replaced or the prober dropped.
fn update(targets: &Weak<Targets>, id: &str, generation: u64, change: impl FnOnce(&mut TargetHealth)) -> bool {
    let Some(targets) = targets.upgrade() else {
        return false;
    };
    let mut targets = lock(&targets);
    match targets.get_mut(id) {
        Some(entry) if entry.generation == generation => {
            change(&mut entry.health);
            true
        }
        _ => false,
    }
}

/// One target's loop: probe on every tick, until the deadline is missed or
/// the target goes away.
async fn watch(
    targets: Weak<Targets>,
    id: String,
    generation: u64,
    spec: ProbeSpec,
    addr: SocketAddr,
    added: Instant,
    on_change: Option<OnChange>,
) {
    let changed = |id: &str| {
        if let Some(f) = &on_change {
            f(id);
        }
    };
    let start = tokio::time::Instant::from_std(added) + spec.initial_delay;
    let mut ticks = tokio::time::interval_at(start, spec.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let deadline = spec.healthy_deadline.map(|after| tokio::time::Instant::from_std(added) + after);
    let deadline_passed = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline_passed);
    let mut ever_ready = false;
    loop {
        tokio::select! {
            biased;
            () = &mut deadline_passed, if !ever_ready => {
                let after = spec.healthy_deadline.map(duration::format).unwrap_or_default();
                update(&targets, &id, generation, |health| {
                    let reason = format!(
                        "not ready within {after} of being added ({} probes; last: {})",
                        health.probes, health.last_detail
                    );
                    health.fail(reason);
                });
                changed(&id);
                return;
            }
            _ = ticks.tick() => {
                let result = probe_once(&spec, addr).await;
                let at = Instant::now();
                let mut flipped = false;
                let still_tracked = update(&targets, &id, generation, |health| {
                    let was = health.ready;
                    health.record(&result, at, &spec);
                    flipped = was != health.ready;
                    ever_ready |= health.ready;
                });
                if !still_tracked {
                    return;
                }
                if flipped {
                    changed(&id);
                }
            }
        }
    }
}
