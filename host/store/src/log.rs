//! The decision log: every decision, evaluation, action, operator command
//! and error, append-only, with a global increasing `seq`.

use rusqlite::{Row, ToSql, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::DecisionKind;
use crate::codec::{corrupt, get_json, get_opt_u64, get_u64, int, json};
use crate::error::Failure;
use crate::{Store, StoreError};
use rusqlite::types::Type;

/// One entry of the audit/decision log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Global, increasing, never reused; assigned by the store (ignored on append).
    pub seq: u64,
    /// The rollout it belongs to, if any.
    pub rollout_id: Option<String>,
    /// The rollout step it was committed with, if any; set by [`Store::commit_step`].
    #[serde(default)]
    pub step: Option<u64>,
    /// Service name.
    pub service: String,
    /// Environment name.
    pub environment: String,
    /// When, ms since the epoch.
    pub at_ms: u64,
    /// What it is about.
    pub kind: DecisionKind,
    /// The plugin that decided, if one did.
    pub plugin: Option<String>,
    /// Its sha256.
    pub plugin_digest: Option<String>,
    /// What it was given.
    pub input: Value,
    /// What it returned.
    pub output: Value,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Who, for operator actions.
    pub operator: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// What the plugin printed (stdout, stderr) and logged during the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_output: Option<Value>,
}

impl DecisionRecord {
    /// A record of `kind` about a service, everything else empty: what the
    /// engine fills in for records no plugin made (a heal, a scale).
    pub fn new(service: &str, environment: &str, at_ms: u64, kind: DecisionKind) -> Self {
        Self {
            seq: 0,
            rollout_id: None,
            step: None,
            service: service.into(),
            environment: environment.into(),
            at_ms,
            kind,
            plugin: None,
            plugin_digest: None,
            input: Value::Null,
            output: Value::Null,
            error: None,
            operator: None,
            reason: None,
            plugin_output: None,
        }
    }
}

/// Which records [`Store::decision_log`] returns; every field narrows, `None` does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Only this rollout's records.
    pub rollout_id: Option<String>,
    /// Only this service's.
    pub service: Option<String>,
    /// Only this environment's.
    pub environment: Option<String>,
    /// Only this kind.
    pub kind: Option<DecisionKind>,
    /// Only records with a seq greater than this (for paging and tailing).
    pub after_seq: Option<u64>,
    /// At most this many, oldest first.
    pub limit: Option<usize>,
}

const COLUMNS: &str = "seq, rollout_id, step, service, environment, at_ms, kind, plugin, plugin_digest, \
                       input, output, error, operator, reason, plugin_output";

fn from_row(row: &Row<'_>) -> rusqlite::Result<DecisionRecord> {
    Ok(DecisionRecord {
        seq: get_u64(row, 0)?,
        rollout_id: row.get(1)?,
        step: get_opt_u64(row, 2)?,
        service: row.get(3)?,
        environment: row.get(4)?,
        at_ms: get_u64(row, 5)?,
        kind: {
            let name: String = row.get(6)?;
            DecisionKind::parse(&name)
                .ok_or_else(|| corrupt(6, Type::Text, format!("unknown decision kind `{name}` in column 6")))?
        },
        plugin: row.get(7)?,
        plugin_digest: row.get(8)?,
        input: get_json(row, 9)?,
        output: get_json(row, 10)?,
        error: row.get(11)?,
        operator: row.get(12)?,
        reason: row.get(13)?,
        plugin_output: match row.get::<_, Option<String>>(14)? {
            Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(14, rusqlite::types::Type::Text, Box::new(e))
            })?),
            None => None,
        },
    })
}

/// Append `r`, with `rollout_id`/`step` overriding the record's when given.
pub(crate) fn insert_record(
    tx: &Transaction<'_>,
    r: &DecisionRecord,
    rollout_id: Option<&str>,
    step: Option<i64>,
) -> Result<u64, Failure> {
    let step = match step {
        Some(s) => Some(s),
        None => r.step.map(|s| int(s, "step")).transpose()?,
    };
    let seq: i64 = tx
        .prepare_cached(
            "INSERT INTO decision_log (rollout_id, step, service, environment, at_ms, kind, plugin, plugin_digest,
                                       input, output, error, operator, reason, plugin_output)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING seq",
        )?
        .query_row(
            rusqlite::params![
                rollout_id.or(r.rollout_id.as_deref()),
                step,
                r.service,
                r.environment,
                int(r.at_ms, "at_ms")?,
                r.kind.as_str(),
                r.plugin,
                r.plugin_digest,
                json(&r.input),
                json(&r.output),
                r.error,
                r.operator,
                r.reason,
                r.plugin_output.as_ref().map(json),
            ],
            |row| row.get(0),
        )?;
    u64::try_from(seq).map_err(|_| Failure::Corrupt(format!("negative log seq {seq}")))
}

impl Store {
    /// Append one record outside a step (admission, operator verbs, errors).
    /// Returns its seq.
    pub fn append_record(&self, record: &DecisionRecord) -> Result<u64, StoreError> {
        self.write("append to the decision log", |tx| insert_record(tx, record, None, None))
    }

    /// The records matching `filter`, oldest first.
    pub fn decision_log(&self, filter: &LogFilter) -> Result<Vec<DecisionRecord>, StoreError> {
        self.read("read the decision log", |conn| {
            let mut sql = format!("SELECT {COLUMNS} FROM decision_log WHERE 1 = 1");
            let mut args: Vec<Box<dyn ToSql>> = Vec::new();
            let mut narrow = |column: &str, value: Box<dyn ToSql>| {
                args.push(value);
                sql.push_str(&format!(" AND {column} ?{}", args.len()));
            };
            if let Some(v) = &filter.rollout_id {
                narrow("rollout_id =", Box::new(v.clone()));
            }
            if let Some(v) = &filter.service {
                narrow("service =", Box::new(v.clone()));
            }
            if let Some(v) = &filter.environment {
                narrow("environment =", Box::new(v.clone()));
            }
            if let Some(v) = &filter.kind {
                narrow("kind =", Box::new(v.as_str()));
            }
            if let Some(v) = filter.after_seq {
                narrow("seq >", Box::new(int(v, "after_seq")?));
            }
            sql.push_str(" ORDER BY seq");
            if let Some(limit) = filter.limit {
                sql.push_str(&format!(" LIMIT {}", i64::try_from(limit).unwrap_or(i64::MAX)));
            }
            let mut stmt = conn.prepare_cached(&sql)?;
            let params: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref()).collect();
            Ok(stmt.query_map(params.as_slice(), from_row)?.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The seq of the newest record, 0 for an empty log: where a follower
    /// of the log starts so it sees only what comes next.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        self.read("read the decision log", |conn| {
            let seq: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM decision_log", [], |r| r.get(0))?;
            u64::try_from(seq).map_err(|_| Failure::Corrupt(format!("negative log seq {seq}")))
        })
    }

    /// The last record of `kind` of each (service, environment), oldest
    /// first: what a restarted control plane rebuilds per-service state from.
    pub fn latest_records(&self, kind: DecisionKind) -> Result<Vec<DecisionRecord>, StoreError> {
        self.read("read the decision log", |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM decision_log WHERE seq IN \
                 (SELECT MAX(seq) FROM decision_log WHERE kind = ?1 GROUP BY service, environment) ORDER BY seq"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            Ok(stmt.query_map([kind.as_str()], from_row)?.collect::<Result<Vec<_>, _>>()?)
        })
    }
}
