//! The schema, versioned with `PRAGMA user_version`, and its forward-only
//! migrations.
//!
//! `MIGRATIONS[i]` takes the file from version `i` to `i + 1`. A released
//! migration is never edited: change the schema by appending one. Each
//! migration runs in its own `IMMEDIATE` transaction together with the bump of
//! `user_version`, so a crash mid-migration leaves the previous version intact.
//! A file whose version is newer than `MIGRATIONS.len()` is refused, never
//! downgraded.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::StoreError;

/// Schema version 1.
///
/// - `targets`: one row per service+environment: the next revision number
///   (never reused), the next rollout number, and the current (stable) revision.
/// - `revisions`: immutable; `seq` is the number in the id `r{seq}`.
/// - `rollouts`, `steps`: a rollout's row is its latest state; `steps` is its
///   history, `rollouts.step` = the number of its steps.
/// - `decision_log`: append-only audit log, global `seq` (AUTOINCREMENT, so a
///   seq is never reused).
/// - `commands`: operator commands; `taken_at_ms` is set once, when consumed.
/// - `locks`: one deploy lock per service+environment.
const V1: &str = r#"
CREATE TABLE targets (
    service          TEXT    NOT NULL,
    environment      TEXT    NOT NULL,
    next_revision    INTEGER NOT NULL DEFAULT 1,
    next_rollout     INTEGER NOT NULL DEFAULT 1,
    current_revision TEXT,
    PRIMARY KEY (service, environment),
    FOREIGN KEY (service, environment, current_revision)
        REFERENCES revisions (service, environment, id)
) WITHOUT ROWID;

CREATE TABLE revisions (
    service       TEXT    NOT NULL,
    environment   TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    version       TEXT    NOT NULL,
    spec          TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    PRIMARY KEY (service, environment, id),
    UNIQUE (service, environment, seq),
    FOREIGN KEY (service, environment) REFERENCES targets (service, environment)
) WITHOUT ROWID;

CREATE TABLE rollouts (
    id              TEXT    PRIMARY KEY,
    service         TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    stable          TEXT,
    candidate       TEXT    NOT NULL,
    strategy        TEXT    NOT NULL,
    strategy_digest TEXT    NOT NULL,
    phase           TEXT    NOT NULL CHECK (phase IN ('admission', 'awaiting-approval',
                        'running', 'paused', 'completed', 'rolled-back', 'aborted', 'failed')),
    plugin_state    BLOB,
    step            INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL,
    wait            TEXT    NOT NULL,
    intent          TEXT    NOT NULL,
    reason          TEXT,
    requested_by    TEXT    NOT NULL,
    started_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    deadline_ms     INTEGER,
    FOREIGN KEY (service, environment) REFERENCES targets (service, environment)
);
CREATE INDEX rollouts_by_target ON rollouts (service, environment, started_at_ms);
CREATE INDEX rollouts_active ON rollouts (phase)
    WHERE phase NOT IN ('completed', 'rolled-back', 'aborted', 'failed');

CREATE TABLE steps (
    rollout_id TEXT    NOT NULL REFERENCES rollouts (id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    at_ms      INTEGER NOT NULL,
    actions    TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    observed   TEXT    NOT NULL,
    commands   TEXT    NOT NULL,
    PRIMARY KEY (rollout_id, seq)
) WITHOUT ROWID;

CREATE TABLE decision_log (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id    TEXT,
    step          INTEGER,
    service       TEXT    NOT NULL,
    environment   TEXT    NOT NULL,
    at_ms         INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    plugin        TEXT,
    plugin_digest TEXT,
    input         TEXT    NOT NULL,
    output        TEXT    NOT NULL,
    error         TEXT,
    operator      TEXT,
    reason        TEXT
);
CREATE INDEX decision_log_by_rollout ON decision_log (rollout_id, seq);
CREATE INDEX decision_log_by_target ON decision_log (service, environment, seq);

CREATE TABLE commands (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout_id  TEXT    NOT NULL REFERENCES rollouts (id),
    kind        TEXT    NOT NULL,
    arg         TEXT,
    operator    TEXT    NOT NULL,
    reason      TEXT,
    at_ms       INTEGER NOT NULL,
    taken_at_ms INTEGER,
    taken_step  INTEGER
);
CREATE INDEX commands_pending ON commands (rollout_id, seq) WHERE taken_at_ms IS NULL;

CREATE TABLE locks (
    service        TEXT    NOT NULL,
    environment    TEXT    NOT NULL,
    owner          TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    acquired_at_ms INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (service, environment)
) WITHOUT ROWID;
"#;

/// Schema version 2: stack rollouts. A row is the stack coordinator's whole
/// state as one JSON document (the host owns its shape), written in one
/// transaction per change; `active` marks rollouts a restart must resume.
const V2: &str = r#"
CREATE TABLE stack_rollouts (
    id            TEXT    PRIMARY KEY,
    stack         TEXT    NOT NULL,
    environment   TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    phase         TEXT    NOT NULL,
    active        INTEGER NOT NULL,
    document      TEXT    NOT NULL,
    started_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (stack, environment, seq)
);
CREATE INDEX stack_rollouts_active ON stack_rollouts (id) WHERE active = 1;
"#;

/// Schema version 3: a plugin call's stdout, stderr and log lines, as JSON,
/// beside its decision record (NULL when it said nothing).
const V3: &str = "ALTER TABLE decision_log ADD COLUMN plugin_output TEXT;";

/// Forward-only migrations; `MIGRATIONS[i]` takes version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring the file up to [`SCHEMA_VERSION`], or refuse a newer file.
pub(crate) fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    let open_err = |cause| StoreError::Open { path: path.to_owned(), cause };
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(open_err)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: path.to_owned(), found, supported: SCHEMA_VERSION });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
        let version = from as i64 + 1;
        let migrate_err = |cause| StoreError::Migrate { path: path.to_owned(), version, cause };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(migrate_err)?;
        // Re-check under the write lock: another process may have migrated meanwhile.
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(migrate_err)?;
        if now >= version {
            continue;
        }
        tx.execute_batch(sql).map_err(migrate_err)?;
        tx.pragma_update(None, "user_version", version).map_err(migrate_err)?;
        tx.commit().map_err(migrate_err)?;
    }
    Ok(())
}
