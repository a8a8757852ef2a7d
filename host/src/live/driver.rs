//! Drives every active rollout in real time: each is stepped when the time
//! it asked for comes, at once when an operator command or a new
//! deployment pokes the driver, and at once when one of its service's
//! instances changes: readiness, an exit, an engine event (no waiting for
//! the next poll). A rollout that waits longer (a canary step, an
//! analysis) is watched every 10 s only, as a safety net.
//!
//! Each step runs as a task of its own (a step mostly waits on the platform
//! or on a plugin call in the call pool), and the loop reacts to each one as
//! it ends: a slow step never holds back the others, nor the stack rollouts
//! that wait for a service to end, and a step that panics is contained for
//! its own rollout (`supervise.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Notify;

use super::changes::InstanceChanges;
use crate::engine::ports::BoxFuture;
use crate::engine::schedule::{Schedule, Stepped};
use crate::engine::{Engine, EngineError, Tick};

/// Rollouts stepped at the same time; the bound keeps a burst of new
/// rollouts from flooding the platform.
const CONCURRENT_STEPS: usize = 16;

pub struct Driver {
    pub engine: Arc<Engine>,
    poke: Notify,
    changes: Option<Arc<InstanceChanges>>,
    /// Rollouts whose steps keep failing inside Hoist (the store's disk
    /// full, say): the last error and how many in a row.
    faults: std::sync::Mutex<BTreeMap<String, (String, u32)>>,
}

/// With the changes hub wired (`with_changes`), an instance change steps
/// its rollout at once, so a rollout waiting longer is watched only this
/// often: a safety net for a change no event reported (a platform without
/// an event stream, an event stream cut).
pub const WATCHED_BY_EVENTS_MS: u64 = 10_000;

/// Failed steps in a row after which a rollout is reported stuck.
const STUCK_AFTER: u32 = 3;
/// Longest wait between retries of a failing step.
const MAX_RETRY_MS: u64 = 30_000;

type Step = BoxFuture<'static, (String, Result<Tick, EngineError>)>;

impl Driver {
    pub fn new(engine: Arc<Engine>) -> Arc<Self> {
        Arc::new(Self { engine, poke: Notify::new(), changes: None, faults: Default::default() })
    }

    /// A driver that also steps a rollout at once when its instances
    /// change: readiness from Hoist's probes, a process exit, an engine event.
    pub fn with_changes(engine: Arc<Engine>, changes: Arc<InstanceChanges>) -> Arc<Self> {
        Arc::new(Self { engine, poke: Notify::new(), changes: Some(changes), faults: Default::default() })
    }

    /// Why rollout `id` cannot take its next step, once its steps have
    /// failed inside Hoist several times in a row.
    pub fn stuck(&self, id: &str) -> Option<String> {
        let faults = self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        faults.get(id).filter(|(_, n)| *n >= STUCK_AFTER).map(|(err, n)| format!("{err} ({n} steps in a row failed)"))
    }

    /// Records how a step ended; the delay before retrying a failed one.
    fn note(&self, id: &str, result: Result<(), &EngineError>) -> u64 {
        let mut faults = self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(()) => {
                faults.remove(id);
                0
            }
            Err(err) => {
                let message = err.to_string();
                let entry = faults.entry(id.to_string()).or_insert_with(|| (message.clone(), 0));
                if entry.0 != message {
                    *entry = (message.clone(), 0);
                }
                entry.1 = entry.1.saturating_add(1);
                // Once per distinct error, then backing off: a full disk
                // must not fill the log at the poll rate.
                if entry.1 == 1 || entry.1 == STUCK_AFTER {
                    tracing::error!(rollout = %id, "step failed: {message}");
                }
                let shift = entry.1.min(8);
                (self.engine.config.poll_ms << shift).min(MAX_RETRY_MS)
            }
        }
    }

    /// Wakes the loop now (after a deploy or an operator command).
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Steps rollouts until `stop` resolves; steps under way are finished
    /// first. Rollouts found in the store at start (a restart) are resumed.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let watch_ms = match self.changes {
            Some(_) => self.engine.config.watch_ms.max(WATCHED_BY_EVENTS_MS),
            None => self.engine.config.watch_ms,
        };
        let mut schedule = Schedule::new(watch_ms);
        let mut steps: FuturesUnordered<Step> = FuturesUnordered::new();
        loop {
            let now = self.engine.clock.now_ms();
            match self.engine.active() {
                Ok(active) => schedule.track(active.into_iter().map(|r| (r.id, (r.service, r.environment))), now),
                Err(err) => tracing::error!("cannot list active rollouts: {err}"),
            }
            for id in schedule.take_due(now, CONCURRENT_STEPS) {
                steps.push(supervised(self.engine.clone(), id));
            }
            // Stack rollouts react to their services' rollouts; one that
            // started new rollouts gets them stepped at once.
            if self.step_stacks().await {
                continue;
            }
            let now = self.engine.clock.now_ms();
            let sleep_ms = if schedule.stepping() >= CONCURRENT_STEPS {
                1_000 // a step ending wakes the loop
            } else {
                schedule.next_due().map_or(1_000, |t| t.saturating_sub(now))
            }
            .clamp(1, 1_000);
            tokio::select! {
                _ = &mut stop => {
                    while steps.next().await.is_some() {}
                    return;
                }
                Some((id, tick)) = steps.next(), if !steps.is_empty() => {
                    let now = self.engine.clock.now_ms();
                    let stepped = match tick {
                        Ok(tick) => {
                            self.note(&id, Ok(()));
                            if let Tick::Done(phase) = tick {
                                tracing::info!(rollout = %id, %phase, "rollout ended");
                            }
                            Stepped::Tick(tick)
                        }
                        Err(err) => Stepped::Retry(self.note(&id, Err(&err))),
                    };
                    schedule.finished(&id, stepped, now);
                }
                _ = self.poke.notified() => schedule.poke(self.engine.clock.now_ms()),
                _ = instances_changed(self.changes.as_deref()) => {
                    // Step the rollouts of the services whose instances changed.
                    let changed = self.changes.as_deref().map(InstanceChanges::take).unwrap_or_default();
                    schedule.changed(&changed, self.engine.clock.now_ms());
                }
                _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
            }
        }
    }

    /// Steps every active stack rollout; `true` if that started rollouts.
    async fn step_stacks(&self) -> bool {
        let stacks = match self.engine.store.active_stack_rollouts() {
            Ok(stacks) => stacks,
            Err(err) => {
                tracing::error!("cannot list active stack rollouts: {err}");
                return false;
            }
        };
        if stacks.is_empty() {
            return false;
        }
        // Compared by id: a service that completed and one that started in
        // the same step leave the count unchanged.
        let ids = || -> BTreeSet<String> {
            self.engine.store.active_rollouts().map(|r| r.into_iter().map(|r| r.id).collect()).unwrap_or_default()
        };
        let before = ids();
        for stack in stacks {
            // A task of its own, so a panic in one stack's step is reported
            // and the driver goes on.
            let (engine, id) = (self.engine.clone(), stack.id.clone());
            match tokio::spawn(async move { crate::stack::tick(&engine, &id).await }).await {
                Ok(Ok(true)) => tracing::info!(stack_rollout = %stack.id, "stack rollout ended"),
                Ok(Ok(false)) => {}
                Ok(Err(err)) => tracing::error!(stack_rollout = %stack.id, "stack step failed: {err}"),
                Err(join) => tracing::error!(stack_rollout = %stack.id, "stack step panicked: {}", panic_message(join)),
            }
        }
        ids().iter().any(|id| !before.contains(id))
    }
}

/// One step of `id` as a task of its own, so a panic in it is caught here
/// (and contained for that rollout alone) instead of ending the driver.
fn supervised(engine: Arc<Engine>, id: String) -> Step {
    let task = {
        let (engine, id) = (engine.clone(), id.clone());
        tokio::spawn(async move { engine.tick(&id).await })
    };
    Box::pin(async move {
        let tick = match task.await {
            Ok(tick) => tick,
            Err(join) => {
                let panic = panic_message(join);
                tracing::error!(rollout = %id, "step panicked: {panic}");
                engine.contain_step_panic(&id, &panic)
            }
        };
        (id, tick)
    })
}

fn panic_message(join: tokio::task::JoinError) -> String {
    match join.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into()),
        Err(join) => join.to_string(),
    }
}

async fn instances_changed(changes: Option<&InstanceChanges>) {
    match changes {
        Some(r) => r.changed().await,
        None => std::future::pending().await,
    }
}
