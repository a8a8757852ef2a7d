//! The one error type of the store. Every variant names the state file and
//! the operation, and says what to do next where there is something to do.
//!
//! The SQLite error is kept as a field (`cause`) and written into the message,
//! not exposed as `source()`, so a cause-chain printer does not repeat it.

use thiserror::Error;

/// An error from the state store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The file could not be opened or configured (WAL, pragmas).
    #[error("cannot open state store {path}: {cause}; check permissions or pass --state")]
    Open {
        /// The state file.
        path: String,
        /// What SQLite said.
        cause: rusqlite::Error,
    },
    /// The file was written by a newer Hoist with a schema this build does not know.
    #[error(
        "state store {path} has schema version {found}, newer than this hoist understands \
         ({supported}); upgrade hoist or pass another --state"
    )]
    TooNew {
        /// The state file.
        path: String,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest schema this build knows.
        supported: i64,
    },
    /// A migration failed; the file is left at its previous version.
    #[error("state store {path}: cannot migrate schema to version {version}: {cause}")]
    Migrate {
        /// The state file.
        path: String,
        /// The version the failing migration leads to.
        version: i64,
        /// What SQLite said.
        cause: rusqlite::Error,
    },
    /// SQLite failed during an operation (disk full, I/O error, busy past the timeout…).
    #[error("state store {path}: cannot {op}: {cause}")]
    Sql {
        /// The state file.
        path: String,
        /// What the store was doing.
        op: String,
        /// What SQLite said.
        cause: rusqlite::Error,
    },
    /// The thing named does not exist.
    #[error("state store {path}: cannot {op}: {what} `{id}` not found")]
    NotFound {
        /// The state file.
        path: String,
        /// What the store was doing.
        op: String,
        /// The kind of thing: "revision", "rollout", "command".
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The write lost a race or would break an invariant (stale rollout, id taken,
    /// command already consumed). Nothing was written.
    #[error("state store {path}: cannot {op}: {reason}")]
    Conflict {
        /// The state file.
        path: String,
        /// What the store was doing.
        op: String,
        /// Why.
        reason: String,
    },
    /// The caller passed something the store refuses (mismatched ids, out-of-range times).
    #[error("state store {path}: cannot {op}: {reason}")]
    Invalid {
        /// The state file.
        path: String,
        /// What the store was doing.
        op: String,
        /// Why.
        reason: String,
    },
    /// A stored value cannot be decoded (bad JSON, unknown phase).
    #[error("state store {path}: cannot {op}: stored data is corrupt: {reason}")]
    Corrupt {
        /// The state file.
        path: String,
        /// What the store was doing.
        op: String,
        /// Why.
        reason: String,
    },
}

/// What went wrong inside an operation, before the store adds its path and the
/// operation's name.
#[derive(Debug)]
pub(crate) enum Failure {
    Sql(rusqlite::Error),
    NotFound { what: &'static str, id: String },
    Conflict(String),
    Invalid(String),
    Corrupt(String),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            // Decoding errors raised by our own row mappers are corruption, not I/O.
            rusqlite::Error::FromSqlConversionFailure(_, _, inner) => Failure::Corrupt(inner.to_string()),
            other => Failure::Sql(other),
        }
    }
}

impl Failure {
    pub(crate) fn into_store_error(self, path: &str, op: &str) -> StoreError {
        let (path, op) = (path.to_owned(), op.to_owned());
        match self {
            Failure::Sql(cause) => StoreError::Sql { path, op, cause },
            Failure::NotFound { what, id } => StoreError::NotFound { path, op, what, id },
            Failure::Conflict(reason) => StoreError::Conflict { path, op, reason },
            Failure::Invalid(reason) => StoreError::Invalid { path, op, reason },
            Failure::Corrupt(reason) => StoreError::Corrupt { path, op, reason },
        }
    }
}
