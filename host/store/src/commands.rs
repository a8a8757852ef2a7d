//! The operator command queue: `promote`, `abort`, `rollback-to:r3`… queued
//! for a rollout, consumed exactly once, either by [`Store::take_commands`] or
//! by the step that acted on them ([`Step::commands`](crate::Step::commands)).

use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::codec::{get_opt_u64, get_u64, int};
use crate::error::Failure;
use crate::phase::Phase;
use crate::{Store, StoreError};

/// What an operator asks of a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum CommandKind {
    /// Go to the next step now.
    Promote,
    /// Go straight to 100% candidate.
    PromoteFull,
    /// Skip the current step (waits, analysis).
    SkipStep,
    /// Stop and roll back.
    Abort,
    /// Hold at the current step.
    Pause,
    /// Continue after a pause.
    Resume,
    /// Grant a pending approval.
    Approve,
    /// Roll back to this kept revision.
    RollbackTo(String),
}

impl CommandKind {
    /// The stored kind: `promote`, `promote-full`, …, `rollback-to`.
    pub fn name(&self) -> &'static str {
        match self {
            CommandKind::Promote => "promote",
            CommandKind::PromoteFull => "promote-full",
            CommandKind::SkipStep => "skip-step",
            CommandKind::Abort => "abort",
            CommandKind::Pause => "pause",
            CommandKind::Resume => "resume",
            CommandKind::Approve => "approve",
            CommandKind::RollbackTo(_) => "rollback-to",
        }
    }

    /// The stored argument: the revision of `rollback-to`, else none.
    pub fn arg(&self) -> Option<&str> {
        match self {
            CommandKind::RollbackTo(rev) => Some(rev),
            _ => None,
        }
    }

    /// From a stored kind and argument.
    pub fn from_parts(kind: &str, arg: Option<&str>) -> Option<CommandKind> {
        Some(match (kind, arg) {
            ("promote", None) => CommandKind::Promote,
            ("promote-full", None) => CommandKind::PromoteFull,
            ("skip-step", None) => CommandKind::SkipStep,
            ("abort", None) => CommandKind::Abort,
            ("pause", None) => CommandKind::Pause,
            ("resume", None) => CommandKind::Resume,
            ("approve", None) => CommandKind::Approve,
            ("rollback-to", Some(rev)) if !rev.is_empty() => CommandKind::RollbackTo(rev.to_owned()),
            _ => return None,
        })
    }

    /// From the written form: `promote`, …, `rollback-to:r3`.
    pub fn parse(s: &str) -> Option<CommandKind> {
        match s.split_once(':') {
            Some((kind, arg)) => CommandKind::from_parts(kind, Some(arg)),
            None => CommandKind::from_parts(s, None),
        }
    }
}

impl std::fmt::Display for CommandKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.arg() {
            Some(arg) => write!(f, "{}:{arg}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

impl TryFrom<String> for CommandKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        CommandKind::parse(&s).ok_or_else(|| format!("unknown command `{s}`"))
    }
}

impl From<CommandKind> for String {
    fn from(k: CommandKind) -> String {
        k.to_string()
    }
}

/// A command to queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCommand {
    /// The rollout it is for; it must exist and not have ended.
    pub rollout_id: String,
    /// What.
    pub kind: CommandKind,
    /// Who.
    pub operator: String,
    /// Why.
    pub reason: Option<String>,
    /// When, ms since the epoch.
    pub at_ms: u64,
}

/// A queued command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Global, increasing, never reused.
    pub seq: u64,
    /// The rollout it is for.
    pub rollout_id: String,
    /// What.
    pub kind: CommandKind,
    /// Who.
    pub operator: String,
    /// Why.
    pub reason: Option<String>,
    /// When it was queued.
    pub at_ms: u64,
    /// When it was consumed; `None` while pending.
    pub taken_at_ms: Option<u64>,
    /// The rollout step that consumed it, if a step did.
    pub taken_step: Option<u64>,
}

const COLUMNS: &str = "seq, rollout_id, kind, arg, operator, reason, at_ms, taken_at_ms, taken_step";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Command> {
    let name: String = row.get(2)?;
    let arg: Option<String> = row.get(3)?;
    let kind = CommandKind::from_parts(&name, arg.as_deref()).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown command `{name}`").into(),
        )
    })?;
    Ok(Command {
        seq: get_u64(row, 0)?,
        rollout_id: row.get(1)?,
        kind,
        operator: row.get(4)?,
        reason: row.get(5)?,
        at_ms: get_u64(row, 6)?,
        taken_at_ms: get_opt_u64(row, 7)?,
        taken_step: get_opt_u64(row, 8)?,
    })
}

impl Store {
    /// Queue a command for a rollout that exists and has not ended.
    pub fn enqueue_command(&self, new: &NewCommand) -> Result<Command, StoreError> {
        self.write(&format!("queue `{}` for rollout `{}`", new.kind, new.rollout_id), |tx| {
            let phase: Option<String> = tx
                .prepare_cached("SELECT phase FROM rollouts WHERE id = ?1")?
                .query_row([&new.rollout_id], |r| r.get(0))
                .optional()?;
            let Some(phase) = phase else {
                return Err(Failure::NotFound { what: "rollout", id: new.rollout_id.clone() });
            };
            if Phase::parse(&phase).is_none_or(Phase::is_terminal) {
                return Err(Failure::Conflict(format!("the rollout has ended ({phase})")));
            }
            Ok(tx
                .prepare_cached(&format!(
                    "INSERT INTO commands (rollout_id, kind, arg, operator, reason, at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING {COLUMNS}"
                ))?
                .query_row(
                    (
                        &new.rollout_id,
                        new.kind.name(),
                        new.kind.arg(),
                        &new.operator,
                        &new.reason,
                        int(new.at_ms, "at_ms")?,
                    ),
                    from_row,
                )?)
        })
    }

    /// Return the rollout's pending commands, oldest first, and mark them
    /// consumed at `at_ms`, atomically: each command is returned once.
    pub fn take_commands(&self, rollout_id: &str, at_ms: u64) -> Result<Vec<Command>, StoreError> {
        self.write(&format!("take commands of rollout `{rollout_id}`"), |tx| {
            let mut taken = tx
                .prepare_cached(&format!(
                    "UPDATE commands SET taken_at_ms = ?2 WHERE rollout_id = ?1 AND taken_at_ms IS NULL RETURNING {COLUMNS}"
                ))?
                .query_map((rollout_id, int(at_ms, "at_ms")?), from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            taken.sort_by_key(|c| c.seq);
            Ok(taken)
        })
    }

    /// The rollout's pending commands, oldest first, without consuming them.
    pub fn pending_commands(&self, rollout_id: &str) -> Result<Vec<Command>, StoreError> {
        self.read("list pending commands", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM commands WHERE rollout_id = ?1 AND taken_at_ms IS NULL ORDER BY seq"
            ))?;
            Ok(stmt.query_map([rollout_id], from_row)?.collect::<Result<Vec<_>, _>>()?)
        })
    }
}
