//! Per-thread log capture and clock for native tests.

use std::cell::{Cell, RefCell};

use crate::log::Level;
use crate::types::TimestampMs;

/// One captured log call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: Level,
    pub message: String,
}

thread_local! {
    static LOGS: RefCell<Vec<LogLine>> = const { RefCell::new(Vec::new()) };
    static NOW_MS: Cell<TimestampMs> = const { Cell::new(0) };
}

pub(crate) fn record_log(level: Level, message: &str) {
    LOGS.with(|logs| {
        logs.borrow_mut().push(LogLine { level, message: message.to_owned() });
    });
}

/// Every line logged on this thread since the last [`take_logs`] or [`clear_logs`].
pub fn logs() -> Vec<LogLine> {
    LOGS.with(|logs| logs.borrow().clone())
}

/// Returns and clears the lines logged on this thread.
pub fn take_logs() -> Vec<LogLine> {
    LOGS.with(|logs| std::mem::take(&mut *logs.borrow_mut()))
}

/// Forget the lines logged on this thread.
pub fn clear_logs() {
    LOGS.with(|logs| logs.borrow_mut().clear());
}

/// True when some captured line contains `needle`.
pub fn logged(needle: &str) -> bool {
    LOGS.with(|logs| logs.borrow().iter().any(|l| l.message.contains(needle)))
}

/// Set what [`clock::now_ms`](crate::clock::now_ms) returns on this thread.
pub fn set_now_ms(now: TimestampMs) {
    NOW_MS.with(|c| c.set(now));
}

/// Move this thread's clock forward.
pub fn advance_ms(delta: u64) {
    NOW_MS.with(|c| c.set(c.get().saturating_add(delta)));
}

pub(crate) fn now_ms() -> TimestampMs {
    NOW_MS.with(Cell::get)
}
