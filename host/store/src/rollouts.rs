//! Rollouts: their stored shape, creation and reads. The writes that move
//! a rollout on are in `commit.rs`, its steps in `steps.rs`.

use rusqlite::{OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codec::{get_json, get_opt_u64, get_u64, int, json, opt_int};
use crate::error::Failure;
use crate::phase::Phase;
use crate::{Store, StoreError, ensure_target};

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
}
