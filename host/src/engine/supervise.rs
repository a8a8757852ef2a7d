//! What the driver does when one rollout's step fails inside the host (a
//! panic): the fault is recorded in that rollout's decision log and the
//! rollout is failed safe — rolled back where there is something to return
//! to — while every other rollout goes on. A rollback that keeps failing
//! the same way ends the rollout as failed rather than looping.

use hoist_store::{DecisionKind, Phase};
use serde_json::Value;

use super::memory::Memory;
use super::step::{Pass, Tick, begin_rollback, failed_outcome};
use super::{Engine, EngineError};

/// Host faults after which a rollout is ended instead of rolled back again.
const MAX_HOST_FAULTS: u32 = 3;

impl Engine {
    /// Contains a step of `id` that panicked with `panic`.
    pub fn contain_step_panic(&self, id: &str, panic: &str) -> Result<Tick, EngineError> {
        let now = self.clock.now_ms();
        let mut r = self.store.rollout(id)?.ok_or_else(|| EngineError::UnknownRollout(id.into()))?;
        if r.phase.is_terminal() {
            return Ok(Tick::Done(r.phase));
        }
        let mut mem = Memory::from_json(&r.id, &r.intent)?;
        mem.host_faults += 1;
        let mut pass = Pass::default();
        let fault = format!("a step of this rollout failed inside hoist (a bug; please report it): {panic}");
        pass.record(&r, now, DecisionKind::Error, Value::Null, Value::Null).error = Some(fault.clone());
        if mem.rollback.is_some() || mem.host_faults >= MAX_HOST_FAULTS {
            mem.replicas.retain(|_, n| *n > 0);
            return self.end(r, mem, Phase::Failed, fault, now, pass);
        }
        begin_rollback(&mut mem, fault.clone(), failed_outcome(&r), now);
        if matches!(r.phase, Phase::Paused | Phase::AwaitingApproval | Phase::Admission) {
            r.phase = Phase::Running;
        }
        r.status = format!("rolling back: {fault}");
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::At(now))
    }
}
