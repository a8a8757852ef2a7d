//! Drives every active rollout in real time: each is stepped when the time
//! it asked for comes, or at once when an operator command or a new
//! deployment pokes the driver.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Engine, Tick};

pub struct Driver {
    pub engine: Arc<Engine>,
    poke: Notify,
}

impl Driver {
    pub fn new(engine: Arc<Engine>) -> Arc<Self> {
        Arc::new(Self { engine, poke: Notify::new() })
    }

    /// Wakes the loop now (after a deploy or an operator command).
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Steps rollouts until `stop` resolves. Rollouts found in the store at
    /// start (a restart) are resumed.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut due: BTreeMap<String, u64> = BTreeMap::new();
        loop {
            let now = self.engine.clock.now_ms();
            match self.engine.active() {
                Ok(active) => {
                    let ids: Vec<String> = active.into_iter().map(|r| r.id).collect();
                    due.retain(|id, _| ids.contains(id));
                    for id in ids {
                        due.entry(id).or_insert(now);
                    }
                }
                Err(err) => tracing::error!("cannot list active rollouts: {err}"),
            }
            let ready: Vec<String> = due.iter().filter(|(_, at)| **at <= now).map(|(id, _)| id.clone()).collect();
            for id in ready {
                let next = match self.engine.tick(&id).await {
                    Ok(Tick::At(t)) => t.min(now + self.engine.config.watch_ms),
                    Ok(Tick::Operator) => u64::MAX,
                    Ok(Tick::Done(phase)) => {
                        tracing::info!(rollout = %id, %phase, "rollout ended");
                        due.remove(&id);
                        continue;
                    }
                    Err(err) => {
                        tracing::error!(rollout = %id, "step failed: {err}");
                        now + self.engine.config.poll_ms
                    }
                };
                due.insert(id, next);
            }
            // Stack rollouts react to their services' rollouts; one that
            // started new rollouts gets them stepped at once.
            if self.step_stacks().await {
                continue;
            }
            let now = self.engine.clock.now_ms();
            let sleep_ms = due.values().min().map_or(1_000, |t| t.saturating_sub(now)).clamp(1, 1_000);
            tokio::select! {
                _ = &mut stop => return,
                _ = self.poke.notified() => {
                    // An operator command: step its rollout now.
                    for at in due.values_mut() {
                        *at = (*at).min(self.engine.clock.now_ms());
                    }
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
        let count = || self.engine.store.active_rollouts().map(|r| r.len()).unwrap_or(0);
        let before = count();
        for stack in stacks {
            match crate::stack::tick(&self.engine, &stack.id).await {
                Ok(true) => tracing::info!(stack_rollout = %stack.id, "stack rollout ended"),
                Ok(false) => {}
                Err(err) => tracing::error!(stack_rollout = %stack.id, "stack step failed: {err}"),
            }
        }
        count() > before
    }
}
