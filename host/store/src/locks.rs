//! Deploy locks: at most one holder per service+environment, with an expiry
//! so a crashed holder does not block the target forever.

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::codec::{get_u64, int};
use crate::{Store, StoreError};

/// A deploy lock on a service+environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Service name.
    pub service: String,
    /// Environment name.
    pub environment: String,
    /// Who holds it (a rollout id).
    pub owner: String,
    /// Why.
    pub reason: String,
    /// When it was first acquired, ms since the epoch; kept on renewal.
    pub acquired_at_ms: u64,
    /// When it lapses unless renewed.
    pub expires_at_ms: u64,
}

impl Lock {
    /// True once `now_ms` has reached the expiry.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_at_ms
    }
}

/// What [`Store::acquire_lock`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "lock", rename_all = "kebab-case")]
pub enum LockOutcome {
    /// The lock was free or expired; it is now the caller's.
    Acquired(Lock),
    /// The caller already held it; its expiry and reason were updated.
    Renewed(Lock),
    /// Someone else holds it, unexpired: here is their lock.
    Held(Lock),
}

impl LockOutcome {
    /// True if the caller holds the lock now.
    pub fn is_held_by_caller(&self) -> bool {
        !matches!(self, LockOutcome::Held(_))
    }
}

const COLUMNS: &str = "service, environment, owner, reason, acquired_at_ms, expires_at_ms";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Lock> {
    Ok(Lock {
        service: row.get(0)?,
        environment: row.get(1)?,
        owner: row.get(2)?,
        reason: row.get(3)?,
        acquired_at_ms: get_u64(row, 4)?,
        expires_at_ms: get_u64(row, 5)?,
    })
}

/// Whether `owner` names a rollout that has not ended.
fn owner_is_live(tx: &rusqlite::Transaction<'_>, owner: &str) -> rusqlite::Result<bool> {
    let phase: Option<String> =
        tx.prepare_cached("SELECT phase FROM rollouts WHERE id = ?1")?.query_row([owner], |r| r.get(0)).optional()?;
    Ok(phase.and_then(|p| crate::Phase::parse(&p)).is_some_and(|p| !p.is_terminal()))
}

/// Every write of a rollout keeps its lock in step, in the same
/// transaction: renewed to `now + ttl` while the rollout lives, released
/// when it ends. A committed step therefore never runs on a lapsed lock.
pub(crate) fn follow_rollout(
    tx: &rusqlite::Transaction<'_>,
    rollout: &crate::Rollout,
    ttl_ms: u64,
) -> rusqlite::Result<()> {
    if rollout.phase.is_terminal() {
        tx.prepare_cached("DELETE FROM locks WHERE service = ?1 AND environment = ?2 AND owner = ?3")?.execute((
            &rollout.service,
            &rollout.environment,
            &rollout.id,
        ))?;
    } else {
        let expires = i64::try_from(rollout.updated_at_ms.saturating_add(ttl_ms)).unwrap_or(i64::MAX);
        tx.prepare_cached(
            "UPDATE locks SET expires_at_ms = ?4 WHERE service = ?1 AND environment = ?2 AND owner = ?3",
        )?
        .execute((&rollout.service, &rollout.environment, &rollout.id, expires))?;
    }
    Ok(())
}

impl Store {
    /// Take the lock described by `want` at time `want.acquired_at_ms`: it
    /// succeeds if the lock is free, expired, or already `want.owner`'s (a
    /// renewal, which keeps the first `acquired_at_ms`).
    pub fn acquire_lock(&self, want: &Lock) -> Result<LockOutcome, StoreError> {
        self.write(&format!("lock {}.{}", want.service, want.environment), |tx| {
            let now = int(want.acquired_at_ms, "acquired_at_ms")?;
            let expires = int(want.expires_at_ms, "expires_at_ms")?;
            let held = tx
                .prepare_cached(&format!("SELECT {COLUMNS} FROM locks WHERE service = ?1 AND environment = ?2"))?
                .query_row((&want.service, &want.environment), from_row)
                .optional()?;
            let (outcome, acquired_at) = match held {
                Some(h) if h.owner == want.owner => {
                    (LockOutcome::Renewed as fn(Lock) -> LockOutcome, int(h.acquired_at_ms, "acquired_at_ms")?)
                }
                Some(h) if !h.is_expired(want.acquired_at_ms) => return Ok(LockOutcome::Held(h)),
                // A lapsed lock whose rollout has not ended is still its
                // own: that rollout renews it at its next step (an engine
                // that was down, a step hours long). Never take it over.
                Some(h) if owner_is_live(tx, &h.owner)? => return Ok(LockOutcome::Held(h)),
                _ => (LockOutcome::Acquired as fn(Lock) -> LockOutcome, now),
            };
            let lock = tx
                .prepare_cached(&format!(
                    "INSERT OR REPLACE INTO locks ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING {COLUMNS}"
                ))?
                .query_row(
                    (&want.service, &want.environment, &want.owner, &want.reason, acquired_at, expires),
                    from_row,
                )?;
            Ok(outcome(lock))
        })
    }

    /// Release the lock if `owner` holds it; returns whether it did.
    pub fn release_lock(&self, service: &str, environment: &str, owner: &str) -> Result<bool, StoreError> {
        self.write(&format!("unlock {service}.{environment}"), |tx| {
            let n = tx
                .prepare_cached("DELETE FROM locks WHERE service = ?1 AND environment = ?2 AND owner = ?3")?
                .execute((service, environment, owner))?;
            Ok(n > 0)
        })
    }

    /// The lock on a service+environment as stored (possibly expired), if any.
    pub fn lock(&self, service: &str, environment: &str) -> Result<Option<Lock>, StoreError> {
        self.read("read lock", |conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {COLUMNS} FROM locks WHERE service = ?1 AND environment = ?2"))?
                .query_row((service, environment), from_row)
                .optional()?)
        })
    }
}
