//! Revisions: immutable, numbered `r1`, `r2`, … per service+environment, never
//! reused (the counter lives in `targets` and survives pruning), plus the
//! current (stable) revision of each service+environment.

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codec::{get_json, get_u64, int, json};
use crate::error::Failure;
use crate::{Store, StoreError, ensure_target};

/// A stored revision of a service in an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// Service name.
    pub service: String,
    /// Environment name.
    pub environment: String,
    /// `r1`, `r2`, …, increasing per service+environment, never reused.
    pub id: String,
    /// The label the user gave (`v1.4.2`, a git sha…).
    pub version: String,
    /// What to run: command/image, env, port, replicas….
    pub spec: Value,
    /// When it was created, ms since the epoch.
    pub created_at_ms: u64,
    /// Who created it.
    pub created_by: String,
}

/// A revision to create; the store assigns its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRevision {
    /// Service name.
    pub service: String,
    /// Environment name.
    pub environment: String,
    /// The label the user gave.
    pub version: String,
    /// What to run.
    pub spec: Value,
    /// When, ms since the epoch.
    pub created_at_ms: u64,
    /// Who.
    pub created_by: String,
}

const COLUMNS: &str = "service, environment, id, version, spec, created_at_ms, created_by";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Revision> {
    Ok(Revision {
        service: row.get(0)?,
        environment: row.get(1)?,
        id: row.get(2)?,
        version: row.get(3)?,
        spec: get_json(row, 4)?,
        created_at_ms: get_u64(row, 5)?,
        created_by: row.get(6)?,
    })
}

impl Store {
    /// Store a new revision and return it with its id (`r{n}`).
    pub fn create_revision(&self, new: &NewRevision) -> Result<Revision, StoreError> {
        self.write("create revision", |tx| {
            ensure_target(tx, &new.service, &new.environment)?;
            let seq: i64 = tx
                .prepare_cached(
                    "UPDATE targets SET next_revision = next_revision + 1
                     WHERE service = ?1 AND environment = ?2 RETURNING next_revision - 1",
                )?
                .query_row((&new.service, &new.environment), |r| r.get(0))?;
            let revision = Revision {
                service: new.service.clone(),
                environment: new.environment.clone(),
                id: format!("r{seq}"),
                version: new.version.clone(),
                spec: new.spec.clone(),
                created_at_ms: new.created_at_ms,
                created_by: new.created_by.clone(),
            };
            tx.prepare_cached(&format!(
                "INSERT INTO revisions ({COLUMNS}, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?
            .execute((
                &revision.service,
                &revision.environment,
                &revision.id,
                &revision.version,
                json(&revision.spec),
                int(revision.created_at_ms, "created_at_ms")?,
                &revision.created_by,
                seq,
            ))?;
            Ok(revision)
        })
    }

    /// One revision, if it exists (it may have been pruned).
    pub fn revision(&self, service: &str, environment: &str, id: &str) -> Result<Option<Revision>, StoreError> {
        self.read("read revision", |conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM revisions WHERE service = ?1 AND environment = ?2 AND id = ?3"
                ))?
                .query_row((service, environment, id), from_row)
                .optional()?)
        })
    }

    /// The kept revisions of a service+environment, newest first.
    pub fn revisions(&self, service: &str, environment: &str) -> Result<Vec<Revision>, StoreError> {
        self.read("list revisions", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM revisions WHERE service = ?1 AND environment = ?2 ORDER BY seq DESC"
            ))?;
            let rows = stmt.query_map((service, environment), from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// The current (stable) revision, if one was set.
    pub fn current(&self, service: &str, environment: &str) -> Result<Option<Revision>, StoreError> {
        self.read("read current revision", |conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {} FROM targets t JOIN revisions r
                       ON r.service = t.service AND r.environment = t.environment AND r.id = t.current_revision
                     WHERE t.service = ?1 AND t.environment = ?2",
                    COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ")
                ))?
                .query_row((service, environment), from_row)
                .optional()?)
        })
    }

    /// The current revision of every service+environment that has one.
    pub fn current_revisions(&self) -> Result<Vec<Revision>, StoreError> {
        self.read("list current revisions", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM targets t JOIN revisions r
                   ON r.service = t.service AND r.environment = t.environment AND r.id = t.current_revision
                 ORDER BY t.service, t.environment",
                COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ")
            ))?;
            let rows = stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Make `id` the current (stable) revision. The revision must exist.
    pub fn set_current(&self, service: &str, environment: &str, id: &str) -> Result<(), StoreError> {
        self.write("set current revision", |tx| set_current(tx, service, environment, id))
    }

    /// The service no longer has a current revision (it was removed, e.g.
    /// when the stack rollout that created it was rolled back).
    /// Replaces the stored spec of one revision (a scale changes its
    /// replica count without making a new revision).
    pub fn set_revision_spec(
        &self,
        service: &str,
        environment: &str,
        id: &str,
        spec: &Value,
    ) -> Result<(), StoreError> {
        self.write(&format!("update the spec of revision `{id}`"), |tx| {
            let n = tx
                .prepare_cached("UPDATE revisions SET spec = ?4 WHERE service = ?1 AND environment = ?2 AND id = ?3")?
                .execute((service, environment, id, json(spec)))?;
            if n == 0 {
                return Err(Failure::NotFound { what: "revision", id: id.to_string() });
            }
            Ok(())
        })
    }

    pub fn clear_current(&self, service: &str, environment: &str) -> Result<(), StoreError> {
        self.write("clear current revision", |tx| {
            tx.prepare_cached("UPDATE targets SET current_revision = NULL WHERE service = ?1 AND environment = ?2")?
                .execute((service, environment))?;
            Ok(())
        })
    }

    /// Delete old revisions of a service+environment, keeping the newest `keep`,
    /// the current one, and any that a non-terminal rollout uses as stable or
    /// candidate. Returns the ids deleted, oldest first. Ids are never reused.
    pub fn prune_revisions(&self, service: &str, environment: &str, keep: usize) -> Result<Vec<String>, StoreError> {
        self.write("prune revisions", |tx| {
            let keep = i64::try_from(keep).unwrap_or(i64::MAX);
            let mut stmt = tx.prepare_cached(
                "DELETE FROM revisions AS r
                 WHERE r.service = ?1 AND r.environment = ?2
                   AND r.seq NOT IN (SELECT seq FROM revisions WHERE service = ?1 AND environment = ?2
                                     ORDER BY seq DESC LIMIT ?3)
                   AND r.id IS NOT (SELECT current_revision FROM targets WHERE service = ?1 AND environment = ?2)
                   AND NOT EXISTS (SELECT 1 FROM rollouts o
                                   WHERE o.service = ?1 AND o.environment = ?2
                                     AND o.phase NOT IN ('completed', 'rolled-back', 'aborted', 'failed')
                                     AND (o.candidate = r.id OR o.stable = r.id))
                 RETURNING seq, id",
            )?;
            let mut gone = stmt
                .query_map((service, environment, keep), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            gone.sort();
            Ok(gone.into_iter().map(|(_, id)| id).collect())
        })
    }
}

pub(crate) fn set_current(
    tx: &rusqlite::Transaction<'_>,
    service: &str,
    environment: &str,
    id: &str,
) -> Result<(), Failure> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM revisions WHERE service = ?1 AND environment = ?2 AND id = ?3")?
        .exists((service, environment, id))?;
    if !exists {
        return Err(Failure::NotFound { what: "revision", id: format!("{service}.{environment}.{id}") });
    }
    tx.prepare_cached("UPDATE targets SET current_revision = ?3 WHERE service = ?1 AND environment = ?2")?
        .execute((service, environment, id))?;
    Ok(())
}
