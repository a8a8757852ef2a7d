//! Conversions between Rust values and SQLite columns: `u64` times and counters
//! are stored as `INTEGER` (i64), JSON documents as `TEXT`.

use rusqlite::Row;
use rusqlite::types::Type;
use serde_json::Value;

use crate::error::Failure;

/// A `u64` as an SQLite integer; values past `i64::MAX` are refused.
pub(crate) fn int(v: u64, what: &str) -> Result<i64, Failure> {
    i64::try_from(v).map_err(|_| Failure::Invalid(format!("{what} {v} is out of range (max {})", i64::MAX)))
}

/// An optional `u64` as an SQLite integer or NULL.
pub(crate) fn opt_int(v: Option<u64>, what: &str) -> Result<Option<i64>, Failure> {
    v.map(|v| int(v, what)).transpose()
}

pub(crate) fn corrupt(idx: usize, ty: Type, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, msg.into())
}

/// Read a non-negative integer column.
pub(crate) fn get_u64(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(idx)?;
    u64::try_from(v).map_err(|_| corrupt(idx, Type::Integer, format!("negative value {v} in column {idx}")))
}

/// Read a nullable non-negative integer column.
pub(crate) fn get_opt_u64(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<u64>> {
    let v: Option<i64> = row.get(idx)?;
    v.map(|v| u64::try_from(v).map_err(|_| corrupt(idx, Type::Integer, format!("negative value {v} in column {idx}"))))
        .transpose()
}

/// A JSON document as text.
pub(crate) fn json(v: &Value) -> String {
    v.to_string()
}

/// Read a JSON text column.
pub(crate) fn get_json(row: &Row<'_>, idx: usize) -> rusqlite::Result<Value> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text).map_err(|e| corrupt(idx, Type::Text, format!("invalid JSON in column {idx}: {e}")))
}
