//! A rollout's committed steps: one decision each and what was observed
//! around it. They are written by [`Store::commit_step`].

use rusqlite::Row;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codec::{get_json, get_u64};
use crate::{Store, StoreError};

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

impl Store {
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
