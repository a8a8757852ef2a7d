//! Hoist's durable state: revisions, rollouts and their steps, the decision
//! log, operator commands and deploy locks, in one SQLite file.
//!
//! # Durability
//!
//! The file is opened in WAL mode with `synchronous=NORMAL`. A committed
//! transaction is in the WAL before [`Store`] returns, so it survives the
//! process being killed at any point (`kill -9`, panic, OOM): the OS still
//! holds the written pages and SQLite replays the WAL on the next open. It
//! is *not* guaranteed to survive a power loss or kernel crash: the last few
//! transactions before one may be lost, though the file stays consistent
//! (never a half-applied transaction). That is the trade Hoist makes: on
//! restart the engine re-observes the platform and re-applies the stored
//! intent, so losing the very last step to a power cut costs a repeated,
//! idempotent action, not a broken rollout.
//!
//! Every multi-row write is one transaction, in particular
//! [`Store::commit_step`], which stores the rollout's new state, its step and
//! the step's decision records together: the engine writes its intent there
//! *before* acting on it, so a restart sees either the old step or the new
//! one, never a mix.
//!
//! # Time
//!
//! All times are `u64` milliseconds since the epoch, passed in by the caller.
//! The store never reads a clock, so `hoist simulate` in virtual time writes
//! byte-identical state.
//!
//! # Sharing
//!
//! [`Store`] is `Send + Sync` (a `Mutex` around one connection); share it in an
//! `Arc`. Other processes may open the same file: writers take SQLite's write
//! lock up front (`BEGIN IMMEDIATE`) and wait up to [`BUSY_TIMEOUT`] for it.

mod codec;
mod commands;
mod commit;
mod error;
mod kind;
mod locks;
mod log;
mod phase;
mod revisions;
mod rollouts;
mod schema;
mod stacks;
mod steps;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

pub use commands::{Command, CommandKind, NewCommand};
pub use error::StoreError;
pub use kind::DecisionKind;
pub use locks::{Lock, LockOutcome};
pub use log::{DecisionRecord, LogFilter};
pub use phase::Phase;
pub use revisions::{NewRevision, Revision};
pub use rollouts::{NewRollout, Rollout};
pub use schema::SCHEMA_VERSION;
pub use stacks::StackRolloutRow;
pub use steps::Step;

use error::Failure;

/// How long a write waits for another process holding the file's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The state store. Cheap to share: wrap it in an `Arc`.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    /// The file, for error messages; `:memory:` for an in-memory store.
    path: String,
    /// How long a rollout's deploy lock lasts past its last write.
    lock_ttl_ms: std::sync::atomic::AtomicU64,
}

/// The deploy lock's lifetime past a rollout's last write unless
/// [`Store::set_lock_ttl_ms`] says otherwise.
pub const DEFAULT_LOCK_TTL_MS: u64 = 5 * 60_000;

impl Store {
    /// Open (creating if needed) the state file at `path` and bring its schema
    /// up to date. The parent directory must exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let shown = path.as_ref().display().to_string();
        let open_err = |cause| StoreError::Open { path: shown.clone(), cause };
        let mut conn = Connection::open(path.as_ref()).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Open {
                path: shown,
                cause: rusqlite::Error::InvalidParameterName(format!(
                    "journal_mode is `{mode}`, WAL is required (is the file on a network filesystem?)"
                )),
            });
        }
        Self::configure(&mut conn, &shown)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path: shown,
            lock_ttl_ms: std::sync::atomic::AtomicU64::new(DEFAULT_LOCK_TTL_MS),
        })
    }

    /// A store that lives in memory only, for `hoist simulate` and tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        let shown = ":memory:".to_owned();
        let mut conn = Connection::open_in_memory().map_err(|cause| StoreError::Open { path: shown.clone(), cause })?;
        Self::configure(&mut conn, &shown)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path: shown,
            lock_ttl_ms: std::sync::atomic::AtomicU64::new(DEFAULT_LOCK_TTL_MS),
        })
    }

    fn configure(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
        let open_err = |cause| StoreError::Open { path: path.to_owned(), cause };
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(open_err)?;
        schema::migrate(conn, path)
    }

    /// How long a deploy lock lasts past each write of its rollout.
    pub fn set_lock_ttl_ms(&self, ttl_ms: u64) {
        self.lock_ttl_ms.store(ttl_ms, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn lock_ttl_ms(&self) -> u64 {
        self.lock_ttl_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The state file, as shown in messages (`:memory:` for an in-memory store).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Run SQLite's own consistency checks (`PRAGMA integrity_check` and
    /// `foreign_key_check`); for `hoist doctor` and the crash tests.
    pub fn check_integrity(&self) -> Result<(), StoreError> {
        self.read("check integrity", |conn| {
            let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if verdict != "ok" {
                return Err(Failure::Corrupt(format!("integrity_check: {verdict}")));
            }
            let dangling: Option<String> = conn.query_row("PRAGMA foreign_key_check", [], |r| r.get(0)).optional()?;
            match dangling {
                Some(table) => Err(Failure::Corrupt(format!("foreign_key_check: dangling reference in `{table}`"))),
                None => Ok(()),
            }
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the guard cannot leave a transaction open:
        // `Transaction` rolls back on drop. So the connection is usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `f` on the connection (reads; single statements).
    fn read<T>(&self, op: &str, f: impl FnOnce(&Connection) -> Result<T, Failure>) -> Result<T, StoreError> {
        let conn = self.conn();
        f(&conn).map_err(|e| e.into_store_error(&self.path, op))
    }

    /// Run `f` in one `IMMEDIATE` transaction, committed only if `f` succeeds.
    fn write<T>(&self, op: &str, f: impl FnOnce(&Transaction<'_>) -> Result<T, Failure>) -> Result<T, StoreError> {
        let mut conn = self.conn();
        let run = || -> Result<T, Failure> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run().map_err(|e| e.into_store_error(&self.path, op))
    }
}

/// Ensure the service+environment row exists (it carries the id counters).
fn ensure_target(tx: &Transaction<'_>, service: &str, environment: &str) -> Result<(), Failure> {
    tx.prepare_cached("INSERT OR IGNORE INTO targets (service, environment) VALUES (?1, ?2)")?
        .execute((service, environment))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_is_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Store>();
        assert::<std::sync::Arc<Store>>();
        assert::<StoreError>();
    }
}
