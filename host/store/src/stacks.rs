//! Stack rollouts: one row per rollout of a whole stack, holding the
//! coordinator's state as a JSON document.

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Store;
use crate::codec::{get_json, get_u64, int, json};
use crate::error::{Failure, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackRolloutRow {
    /// `STACK.ENV.N`.
    pub id: String,
    pub stack: String,
    pub environment: String,
    pub phase: String,
    /// Still to be driven (a restarted control plane resumes it).
    pub active: bool,
    pub document: Value,
    pub started_at_ms: u64,
    pub updated_at_ms: u64,
}

const COLUMNS: &str = "id, stack, environment, phase, active, document, started_at_ms, updated_at_ms";

fn from_row(row: &Row<'_>) -> rusqlite::Result<StackRolloutRow> {
    Ok(StackRolloutRow {
        id: row.get(0)?,
        stack: row.get(1)?,
        environment: row.get(2)?,
        phase: row.get(3)?,
        active: row.get::<_, i64>(4)? != 0,
        document: get_json(row, 5)?,
        started_at_ms: get_u64(row, 6)?,
        updated_at_ms: get_u64(row, 7)?,
    })
}

impl Store {
    /// Records a new stack rollout and returns its id (`STACK.ENV.N`, never reused).
    pub fn create_stack_rollout(
        &self,
        stack: &str,
        environment: &str,
        phase: &str,
        document: &Value,
        at_ms: u64,
    ) -> Result<StackRolloutRow, StoreError> {
        self.write("create stack rollout", |tx| {
            let seq: i64 = tx
                .prepare_cached(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM stack_rollouts WHERE stack = ?1 AND environment = ?2",
                )?
                .query_row((stack, environment), |r| r.get(0))?;
            let id = format!("{stack}.{environment}.{seq}");
            tx.prepare_cached(&format!(
                "INSERT INTO stack_rollouts ({COLUMNS}, seq) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6, ?7)"
            ))?
            .execute(rusqlite::params![
                id,
                stack,
                environment,
                phase,
                json(document),
                int(at_ms, "at_ms")?,
                seq
            ])?;
            Ok(StackRolloutRow {
                id,
                stack: stack.into(),
                environment: environment.into(),
                phase: phase.into(),
                active: true,
                document: document.clone(),
                started_at_ms: at_ms,
                updated_at_ms: at_ms,
            })
        })
    }

    /// Stores a stack rollout's new state.
    pub fn save_stack_rollout(&self, row: &StackRolloutRow) -> Result<(), StoreError> {
        self.write("save stack rollout", |tx| {
            let n = tx
                .prepare_cached("UPDATE stack_rollouts SET phase = ?2, active = ?3, document = ?4, updated_at_ms = ?5 WHERE id = ?1")?
                .execute(rusqlite::params![
                    row.id,
                    row.phase,
                    i64::from(row.active),
                    json(&row.document),
                    int(row.updated_at_ms, "updated_at_ms")?
                ])?;
            if n == 0 {
                return Err(Failure::NotFound { what: "stack rollout", id: row.id.clone() });
            }
            Ok(())
        })
    }

    pub fn stack_rollout(&self, id: &str) -> Result<Option<StackRolloutRow>, StoreError> {
        self.read("read stack rollout", |conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM stack_rollouts WHERE id = ?1"))?
                .query_row([id], from_row)
                .optional()?)
        })
    }

    /// Stack rollouts still to be driven, oldest first.
    pub fn active_stack_rollouts(&self) -> Result<Vec<StackRolloutRow>, StoreError> {
        self.read("list active stack rollouts", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM stack_rollouts WHERE active = 1 ORDER BY started_at_ms, id"
            ))?;
            let rows = stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// A stack's rollouts in an environment, newest first.
    pub fn stack_history(
        &self,
        stack: &str,
        environment: &str,
        limit: usize,
    ) -> Result<Vec<StackRolloutRow>, StoreError> {
        self.read("read stack history", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM stack_rollouts WHERE stack = ?1 AND environment = ?2 ORDER BY seq DESC LIMIT ?3"
            ))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt
                .query_map(rusqlite::params![stack, environment, limit], from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn stack_rollouts_round_trip_and_ids_count_per_stack() {
        let store = Store::in_memory().unwrap();
        let a = store.create_stack_rollout("shop", "prod", "running", &serde_json::json!({"n": 1}), 10).unwrap();
        let b = store.create_stack_rollout("shop", "prod", "running", &serde_json::json!({"n": 2}), 20).unwrap();
        let other = store.create_stack_rollout("shop", "dev", "running", &serde_json::json!({}), 30).unwrap();
        assert_eq!((a.id.as_str(), b.id.as_str(), other.id.as_str()), ("shop.prod.1", "shop.prod.2", "shop.dev.1"));
        let mut done = b.clone();
        done.phase = "completed".into();
        done.active = false;
        done.updated_at_ms = 25;
        store.save_stack_rollout(&done).unwrap();
        assert_eq!(store.stack_rollout("shop.prod.2").unwrap().unwrap(), done);
        let active: Vec<String> = store.active_stack_rollouts().unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(active, ["shop.prod.1", "shop.dev.1"]);
        let history: Vec<String> = store.stack_history("shop", "prod", 10).unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(history, ["shop.prod.2", "shop.prod.1"]);
    }
}
