//! An inconclusive analysis pauses the rollout for an operator, as Argo
//! Rollouts does: `resume` measures it again (the metrics system is back,
//! say), `promote` (or `promote --full`, `skip-step`) accepts it and lets
//! the strategy go on with the inconclusive verdict and the command,
//! `abort` rolls back.

use hoist_store::{DecisionKind, Phase};
use serde_json::{Value, json};

use super::{StepCtx, Tick};
use crate::engine::memory::{FinishedAnalysis, HeldAnalysis, Memory, PendingAnalysis};
use crate::engine::{Engine, EngineError};

impl Engine {
    /// Pauses the rollout on `finished`, an inconclusive analysis that ran
    /// for `duration_ms`.
    pub(in crate::engine) fn hold(
        &self,
        cx: StepCtx<'_>,
        finished: FinishedAnalysis,
        duration_ms: u64,
    ) -> Result<Tick, EngineError> {
        let StepCtx { mut r, mut mem, now, mut pass, .. } = cx;
        r.phase = Phase::Paused;
        let ways_out = "`hoist resume` measures again, `hoist promote` accepts it, `hoist abort` rolls back";
        r.status = format!("paused: analysis `{}` inconclusive: {}; {ways_out}", finished.name, finished.reason);
        let held = json!({ "held": finished.name });
        pass.record(&r, now, DecisionKind::Evaluate, held, Value::Null).reason =
            Some(format!("rollout paused on the inconclusive analysis `{}`; {ways_out}", finished.name));
        mem.held = Some(HeldAnalysis { finished, duration_ms });
        self.persist(&mut r, &mem, now, None, pass)?;
        Ok(Tick::Operator)
    }
}

/// `resume` of a held rollout: the analysis starts again from `now`, with
/// fresh metric runs (started by the engine at its next measurement).
/// Returns the analysis's name, if one was held.
pub(super) fn measure_again(mem: &mut Memory, now: u64) -> Option<String> {
    let held = mem.held.take()?;
    mem.analysis = Some(PendingAnalysis::new(&held.finished.name, now, held.duration_ms));
    Some(held.finished.name)
}

/// `promote` of a held rollout: the strategy sees the inconclusive verdict
/// with the command. Returns whether one was held.
pub(super) fn accept(mem: &mut Memory) -> bool {
    match mem.held.take() {
        Some(held) => {
            mem.last_analysis = Some(held.finished);
            true
        }
        None => false,
    }
}
