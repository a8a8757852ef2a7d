//! The native stand-ins for the capability imports, with the same
//! signatures as the generated bindings; `log`, `clock` and `process` use
//! them when not compiled for wasm.

use crate::log::Level;
use crate::process::{ProcessError, ProcessInfo, SpawnRequest};
use crate::testing::FakeProcesses;
use crate::types::TimestampMs;

pub(crate) fn log(level: Level, message: &str) {
    super::capture::record_log(level, message);
}

pub(crate) fn now_ms() -> TimestampMs {
    super::capture::now_ms()
}

pub(crate) fn spawn(request: &SpawnRequest) -> Result<ProcessInfo, ProcessError> {
    FakeProcesses::current().spawn(request)
}

pub(crate) fn stop(id: &str, grace_ms: u32) -> Result<(), ProcessError> {
    FakeProcesses::current().stop(id, grace_ms)
}

pub(crate) fn find(selector: &[(String, String)]) -> Vec<ProcessInfo> {
    FakeProcesses::current().find(selector)
}

pub(crate) fn send(request: &crate::http::Request) -> Result<crate::http::Response, crate::http::HttpError> {
    super::http::handle(request)
}
