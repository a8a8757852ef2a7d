//! Rollouts and their steps, and [`Store::commit_step`], the one transaction
//! the engine writes before it acts.

use rusqlite::{OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codec::{get_json, get_opt_u64, get_u64, int, json, opt_int};
use crate::error::Failure;
use crate::log::{DecisionRecord, insert_record};
use crate::{Store, StoreError, ensure_target};

/// Where a rollout is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Admission policies are being asked.
    Admission,
    /// An admission policy or the strategy asked for an operator's approval.
    AwaitingApproval,
    /// The strategy is driving it.
    Running,
    /// An operator paused it.
    Paused,
    /// The candidate is the new stable revision.
    Completed,
    /// Traffic and replicas went back to the stable revision.
    RolledBack,
    /// An operator stopped it.
    Aborted,
    /// It could not go on (plugin error, deadline…); see `reason`.
    Failed,
}

impl Phase {
    /// All phases, in life order.
    pub const ALL: [Phase; 8] = [
        Phase::Admission,
        Phase::AwaitingApproval,
        Phase::Running,
        Phase::Paused,
        Phase::Completed,
        Phase::RolledBack,
        Phase::Aborted,
        Phase::Failed,
    ];

    /// True once the rollout has ended; a terminal rollout is never written again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Completed | Phase::RolledBack | Phase::Aborted | Phase::Failed)
    }

    /// The stored (and shown) name: `awaiting-approval`, `rolled-back`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Admission => "admission",
            Phase::AwaitingApproval => "awaiting-approval",
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Completed => "completed",
            Phase::RolledBack => "rolled-back",
            Phase::Aborted => "aborted",
            Phase::Failed => "failed",
        }
    }

    /// The phase named `s`, as written by [`Phase::as_str`].
    pub fn parse(s: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rollout's latest state.
///
/// `id`, `service`, `environment`, `stable`, `candidate`, `strategy`,
/// `strategy_digest`, `requested_by` and `started_at_ms` are fixed at
/// creation; [`Store::save_rollout`] and [`Store::commit_step`] write the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// `web.production.7`, or what the caller chose.
    pub id: String,
    /// Service name.
    pub service: String,
    /// Environment name.
    pub environment: String,
    /// The revision serving before the rollout, if any.
    pub stable: Option<String>,
    /// The revision being rolled out.
    pub candidate: String,
    /// Strategy plugin name.
    pub strategy: String,
    /// Its sha256.
    pub strategy_digest: String,
    /// Where it is.
    pub phase: Phase,
    /// The strategy's opaque state from its last decision.
    pub plugin_state: Option<Vec<u8>>,
    /// How many steps were committed; equals the number of its [`Step`]s.
    pub step: u64,
    /// The last status line.
    pub status: String,
    /// What it waits for (duration, readiness, approval…).
    pub wait: Value,
    /// Replicas per revision and traffic weights the engine is making true.
    /// Written before the engine acts, so a restart re-applies it idempotently.
    pub intent: Value,
    /// Why it ended or paused.
    pub reason: Option<String>,
    /// Who asked for it.
    pub requested_by: String,
    /// When it started, ms since the epoch.
    pub started_at_ms: u64,
    /// When it was last written.
    pub updated_at_ms: u64,
    /// When it must be finished by, if ever.
    pub deadline_ms: Option<u64>,
}

/// A rollout to create, in phase [`Phase::Admission`] at step 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRollout {
    /// The id to use; `None` generates `{service}.{environment}.{n}`.
    pub id: Option<String>,
    /// Service name.
    pub service: String,
    /// Environment name.
    pub environment: String,
    /// The revision serving now, if any; must exist.
    pub stable: Option<String>,
    /// The revision to roll out; must exist.
    pub candidate: String,
    /// Strategy plugin name.
    pub strategy: String,
    /// Its sha256.
    pub strategy_digest: String,
    /// Who asked.
    pub requested_by: String,
    /// When, ms since the epoch.
    pub started_at_ms: u64,
    /// When it must be finished by, if ever.
    pub deadline_ms: Option<u64>,
}

/// One committed decision of a rollout and what was observed around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The rollout.
    pub rollout_id: String,
    /// 1, 2, … within the rollout; step `n` is committed with `rollout.step == n`.
    pub seq: u64,
    /// When, ms since the epoch.
    pub at_ms: u64,
    /// The actions decided (scale, weights, analyse, wait…).
    pub actions: Value,
    /// The status line of the decision.
    pub status: String,
    /// Replicas/ready per revision, weights, verdict.
    pub observed: Value,
    /// The operator commands (their `seq`) this step consumed; committing the
    /// step marks them taken in the same transaction.
    #[serde(default)]
    pub commands: Vec<u64>,
}

const COLUMNS: &str = "id, service, environment, stable, candidate, strategy, strategy_digest, phase, \
     plugin_state, step, status, wait, intent, reason, requested_by, started_at_ms, updated_at_ms, deadline_ms";

const TERMINAL_SQL: &str = "('completed', 'rolled-back', 'aborted', 'failed')";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Rollout> {
    let phase: String = row.get(7)?;
    let phase = Phase::parse(&phase).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            7,
            rusqlite::types::Type::Text,
            format!("unknown phase `{phase}`").into(),
        )
    })?;
    Ok(Rollout {
        id: row.get(0)?,
        service: row.get(1)?,
        environment: row.get(2)?,
        stable: row.get(3)?,
        candidate: row.get(4)?,
        strategy: row.get(5)?,
        strategy_digest: row.get(6)?,
        phase,
        plugin_state: row.get(8)?,
        step: get_u64(row, 9)?,
        status: row.get(10)?,
        wait: get_json(row, 11)?,
        intent: get_json(row, 12)?,
        reason: row.get(13)?,
        requested_by: row.get(14)?,
        started_at_ms: get_u64(row, 15)?,
        updated_at_ms: get_u64(row, 16)?,
        deadline_ms: get_opt_u64(row, 17)?,
    })
}

fn step_from_row(row: &Row<'_>) -> rusqlite::Result<Step> {
    let commands = get_json(row, 6)?;
    let commands = serde_json::from_value(commands).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            6,
            rusqlite::types::Type::Text,
            format!("bad command list: {e}").into(),
        )
    })?;
    Ok(Step {
        rollout_id: row.get(0)?,
        seq: get_u64(row, 1)?,
        at_ms: get_u64(row, 2)?,
        actions: get_json(row, 3)?,
        status: row.get(4)?,
        observed: get_json(row, 5)?,
        commands,
    })
}

fn exists(tx: &Transaction<'_>, service: &str, environment: &str, id: &str) -> Result<(), Failure> {
    let found = tx
        .prepare_cached("SELECT 1 FROM revisions WHERE service = ?1 AND environment = ?2 AND id = ?3")?
        .exists((service, environment, id))?;
    if found {
        Ok(())
    } else {
        Err(Failure::NotFound { what: "revision", id: format!("{service}.{environment}.{id}") })
    }
}

impl Store {
    /// Create a rollout in phase [`Phase::Admission`] at step 0, with a null
    /// `wait` and `intent`. Its revisions must exist; a taken id is a conflict.
    pub fn create_rollout(&self, new: &NewRollout) -> Result<Rollout, StoreError> {
        self.write("create rollout", |tx| {
            ensure_target(tx, &new.service, &new.environment)?;
            exists(tx, &new.service, &new.environment, &new.candidate)?;
            if let Some(stable) = &new.stable {
                exists(tx, &new.service, &new.environment, stable)?;
            }
            let taken = |id: &str| -> Result<bool, Failure> {
                Ok(tx.prepare_cached("SELECT 1 FROM rollouts WHERE id = ?1")?.exists([id])?)
            };
            let id = match &new.id {
                Some(id) if taken(id)? => return Err(Failure::Conflict(format!("rollout id `{id}` is taken"))),
                Some(id) => id.clone(),
                None => loop {
                    let n: i64 = tx
                        .prepare_cached(
                            "UPDATE targets SET next_rollout = next_rollout + 1
                             WHERE service = ?1 AND environment = ?2 RETURNING next_rollout - 1",
                        )?
                        .query_row((&new.service, &new.environment), |r| r.get(0))?;
                    let id = format!("{}.{}.{n}", new.service, new.environment);
                    if !taken(&id)? {
                        break id;
                    }
                },
            };
            let rollout = Rollout {
                id,
                service: new.service.clone(),
                environment: new.environment.clone(),
                stable: new.stable.clone(),
                candidate: new.candidate.clone(),
                strategy: new.strategy.clone(),
                strategy_digest: new.strategy_digest.clone(),
                phase: Phase::Admission,
                plugin_state: None,
                step: 0,
                status: String::new(),
                wait: Value::Null,
                intent: Value::Null,
                reason: None,
                requested_by: new.requested_by.clone(),
                started_at_ms: new.started_at_ms,
                updated_at_ms: new.started_at_ms,
                deadline_ms: new.deadline_ms,
            };
            let r = &rollout;
            tx.prepare_cached(&format!(
                "INSERT INTO rollouts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
            ))?
            .execute(rusqlite::params![
                r.id,
                r.service,
                r.environment,
                r.stable,
                r.candidate,
                r.strategy,
                r.strategy_digest,
                r.phase.as_str(),
                r.plugin_state,
                0_i64,
                r.status,
                json(&r.wait),
                json(&r.intent),
                r.reason,
                r.requested_by,
                int(r.started_at_ms, "started_at_ms")?,
                int(r.updated_at_ms, "updated_at_ms")?,
                opt_int(r.deadline_ms, "deadline_ms")?,
            ])?;
            Ok(rollout)
        })
    }

    /// One rollout, if it exists.
    pub fn rollout(&self, id: &str) -> Result<Option<Rollout>, StoreError> {
        self.read("read rollout", |conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM rollouts WHERE id = ?1"))?
                .query_row([id], from_row)
                .optional()?)
        })
    }

    /// Every rollout not in a terminal phase, oldest first: what the engine
    /// resumes after a restart.
    pub fn active_rollouts(&self) -> Result<Vec<Rollout>, StoreError> {
        self.read("list active rollouts", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM rollouts WHERE phase NOT IN {TERMINAL_SQL} ORDER BY started_at_ms, rowid"
            ))?;
            Ok(stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The rollouts of a service+environment, newest first, at most `limit`.
    pub fn history(&self, service: &str, environment: &str, limit: usize) -> Result<Vec<Rollout>, StoreError> {
        self.read("read rollout history", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM rollouts WHERE service = ?1 AND environment = ?2
                 ORDER BY started_at_ms DESC, rowid DESC LIMIT ?3"
            ))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            Ok(stmt.query_map((service, environment, limit), from_row)?.collect::<Result<Vec<_>, _>>()?)
        })
    }

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
            let mut seqs = Vec::with_capacity(records.len());
            for record in records {
                if record.rollout_id.as_deref().is_some_and(|id| id != rollout.id) {
                    return Err(Failure::Invalid(format!("a record names another rollout, `{:?}`", record.rollout_id)));
                }
                seqs.push(insert_record(tx, record, Some(&rollout.id), Some(seq))?);
            }
            Ok(seqs)
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
            let mut seqs = Vec::with_capacity(records.len());
            for record in records {
                if record.rollout_id.as_deref().is_some_and(|id| id != rollout.id) {
                    return Err(Failure::Invalid(format!("a record names another rollout, `{:?}`", record.rollout_id)));
                }
                seqs.push(insert_record(tx, record, Some(&rollout.id), None)?);
            }
            Ok(seqs)
        })
    }

    /// The steps of a rollout, in order.
    pub fn steps(&self, rollout_id: &str) -> Result<Vec<Step>, StoreError> {
        self.read("list steps", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT rollout_id, seq, at_ms, actions, status, observed, commands
                 FROM steps WHERE rollout_id = ?1 ORDER BY seq",
            )?;
            Ok(stmt.query_map([rollout_id], step_from_row)?.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

/// Write the mutable fields, fenced on the stored step being `expected_step`
/// and the stored phase not being terminal.
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
