//! The writes that move a rollout on, each ONE transaction:
//! [`Store::commit_step`], which the engine writes before it acts, and
//! [`Store::save_rollout`] / [`Store::save_rollout_with`] for operator verbs.

use rusqlite::{OptionalExtension, Transaction};
use serde_json::Value;

use crate::codec::{int, json, opt_int};
use crate::error::Failure;
use crate::log::{DecisionRecord, insert_record};
use crate::phase::Phase;
use crate::rollouts::Rollout;
use crate::steps::Step;
use crate::{Store, StoreError};

impl Store {
    /// Write a rollout's mutable fields without a step (pause, resume, approve,
    /// end by an operator). `rollout.step` must equal the stored step: a stale
    /// copy is refused with [`StoreError::Conflict`], as is any write to a
    /// rollout already stored as terminal. Moving to [`Phase::Completed`] makes
    /// the candidate the current revision, in the same transaction.
    pub fn save_rollout(&self, rollout: &Rollout) -> Result<(), StoreError> {
        let ttl = self.lock_ttl_ms();
        self.write(&format!("save rollout `{}`", rollout.id), |tx| {
            write_rollout(tx, rollout, rollout.step)?;
            crate::locks::follow_rollout(tx, rollout, ttl)?;
            Ok(())
        })
    }

    /// Commit one step in ONE transaction: the rollout's new state (with
    /// `rollout.step == step.seq`, one more than stored), the step, the
    /// operator commands it consumed (`step.commands`, each taken exactly once),
    /// and its decision records (stored with this rollout's id and the step's
    /// seq). Returns the records' log seqs. Either all of it is stored or none.
    ///
    /// Call it with the intent *before* acting on it; a restart then finds the
    /// intent and re-applies it.
    pub fn commit_step(
        &self,
        rollout: &Rollout,
        step: &Step,
        records: &[DecisionRecord],
    ) -> Result<Vec<u64>, StoreError> {
        let op = format!("commit step {} of rollout `{}`", step.seq, rollout.id);
        let ttl = self.lock_ttl_ms();
        self.write(&op, |tx| {
            if step.rollout_id != rollout.id {
                return Err(Failure::Invalid(format!("the step belongs to rollout `{}`", step.rollout_id)));
            }
            if step.seq == 0 || step.seq != rollout.step {
                return Err(Failure::Invalid(format!(
                    "step seq {} must equal rollout.step {} and be at least 1",
                    step.seq, rollout.step
                )));
            }
            write_rollout(tx, rollout, step.seq - 1)?;
            crate::locks::follow_rollout(tx, rollout, ttl)?;
            let seq = int(step.seq, "step seq")?;
            tx.prepare_cached(
                "INSERT INTO steps (rollout_id, seq, at_ms, actions, status, observed, commands)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute((
                &step.rollout_id,
                seq,
                int(step.at_ms, "at_ms")?,
                json(&step.actions),
                &step.status,
                json(&step.observed),
                json(&Value::from(step.commands.clone())),
            ))?;
            take_commands(tx, &rollout.id, &step.commands, step.at_ms, Some(seq))?;
            insert_records(tx, &rollout.id, records, Some(seq))
        })
    }

    /// [`Store::save_rollout`] with the operator commands this write acted
    /// on and its decision records, in ONE transaction: a command is
    /// consumed exactly when what it did is stored.
    pub fn save_rollout_with(
        &self,
        rollout: &Rollout,
        commands: &[u64],
        records: &[DecisionRecord],
    ) -> Result<Vec<u64>, StoreError> {
        let ttl = self.lock_ttl_ms();
        self.write(&format!("save rollout `{}`", rollout.id), |tx| {
            write_rollout(tx, rollout, rollout.step)?;
            crate::locks::follow_rollout(tx, rollout, ttl)?;
            take_commands(tx, &rollout.id, commands, rollout.updated_at_ms, None)?;
            insert_records(tx, &rollout.id, records, None)
        })
    }
}

/// Stores `records` under `rollout_id` (and `step`, if any); a record that
/// names another rollout is refused. Returns their log seqs, in order.
fn insert_records(
    tx: &Transaction<'_>,
    rollout_id: &str,
    records: &[DecisionRecord],
    step: Option<i64>,
) -> Result<Vec<u64>, Failure> {
    let mut seqs = Vec::with_capacity(records.len());
    for record in records {
        if record.rollout_id.as_deref().is_some_and(|id| id != rollout_id) {
            return Err(Failure::Invalid(format!("a record names another rollout, `{:?}`", record.rollout_id)));
        }
        seqs.push(insert_record(tx, record, Some(rollout_id), step)?);
    }
    Ok(seqs)
}

/// Marks `commands` of `rollout_id` taken; each must still be pending.
fn take_commands(
    tx: &Transaction<'_>,
    rollout_id: &str,
    commands: &[u64],
    at_ms: u64,
    step: Option<i64>,
) -> Result<(), Failure> {
    for &command in commands {
        let taken = tx
            .prepare_cached(
                "UPDATE commands SET taken_at_ms = ?3, taken_step = ?4
                 WHERE seq = ?1 AND rollout_id = ?2 AND taken_at_ms IS NULL",
            )?
            .execute((int(command, "command seq")?, rollout_id, int(at_ms, "at_ms")?, step))?;
        if taken == 0 {
            return Err(Failure::Conflict(format!(
                "command {command} is not a pending command of this rollout (already taken?)"
            )));
        }
    }
    Ok(())
}

/// Write the mutable fields, fenced on the stored step being `expected_step`
/// and the stored phase not being terminal.
fn write_rollout(tx: &Transaction<'_>, r: &Rollout, expected_step: u64) -> Result<(), Failure> {
    type Stored = (i64, String, String, String, String);
    let stored: Option<Stored> = tx
        .prepare_cached("SELECT step, phase, service, environment, candidate FROM rollouts WHERE id = ?1")?
        .query_row([&r.id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))
        .optional()?;
    let Some((stored_step, stored_phase, service, environment, candidate)) = stored else {
        return Err(Failure::NotFound { what: "rollout", id: r.id.clone() });
    };
    if Phase::parse(&stored_phase).is_none_or(Phase::is_terminal) {
        return Err(Failure::Conflict(format!("the rollout has ended ({stored_phase}) and is not written again")));
    }
    if stored_step != int(expected_step, "step")? {
        return Err(Failure::Conflict(format!(
            "the stored rollout is at step {stored_step}, this write expects step {expected_step} \
             (a stale copy, or another engine is driving it)"
        )));
    }
    tx.prepare_cached(
        "UPDATE rollouts SET phase = ?2, plugin_state = ?3, step = ?4, status = ?5, wait = ?6, intent = ?7,
             reason = ?8, updated_at_ms = ?9, deadline_ms = ?10
         WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        r.id,
        r.phase.as_str(),
        r.plugin_state,
        int(r.step, "step")?,
        r.status,
        json(&r.wait),
        json(&r.intent),
        r.reason,
        int(r.updated_at_ms, "updated_at_ms")?,
        opt_int(r.deadline_ms, "deadline_ms")?,
    ])?;
    if r.phase == Phase::Completed {
        // The fixed fields come from the stored row, not from the caller's copy.
        crate::revisions::set_current(tx, &service, &environment, &candidate)?;
    }
    Ok(())
}
