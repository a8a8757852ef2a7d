//! Errors of loading and calling plugins. Every variant names the plugin and
//! says what the operator or plugin author can do about it.

use std::path::PathBuf;
use std::time::Duration;

use super::kinds::Capability;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin `{plugin}`: cannot read {path}: {source}")]
    Read {
        plugin: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "plugin `{plugin}`: sha256 of {source_label} is {actual}, but the registry pins {expected}; \
         if you rebuilt the plugin on purpose, update `sha256` in the registry"
    )]
    DigestMismatch { plugin: String, source_label: String, expected: String, actual: String },
    #[error("plugin `{plugin}` ({source_label}) is not a loadable WebAssembly component: {reason}")]
    Compile { plugin: String, source_label: String, reason: String },
    #[error(
        "plugin `{plugin}` is declared with kind = \"{kind}\" but does not export `{expected}` \
         (world `{world}`); it exports: {found}. Fix `kind` in the registry or point `source` at the right component"
    )]
    WrongWorld { plugin: String, kind: String, expected: String, world: String, found: String },
    #[error(
        "plugin `{plugin}` was built against `{interface}`, but this hoist serves hoist:plugin@0.1.x; \
         rebuild it with hoist-sdk 0.1 or use a hoist that serves its version"
    )]
    Incompatible { plugin: String, interface: String },
    #[error("{message}")]
    Ungranted { plugin: String, capability: Capability, message: String },
    #[error(
        "plugin `{plugin}` imports `{name}`, which this hoist does not provide; \
         plugins may import only hoist:plugin capabilities and sandboxed WASI"
    )]
    UnknownImport { plugin: String, name: String },
    #[error("plugin `{plugin}` cannot be linked: {reason}")]
    Link { plugin: String, reason: String },
}

#[derive(Debug, Clone, thiserror::Error, serde::Serialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum CallError {
    #[error("plugin `{plugin}` exceeded its time limit of {limit:?} and was stopped")]
    Timeout { plugin: String, limit: Duration },
    #[error("plugin `{plugin}` tried to grow its memory to {requested} bytes, past its limit of {limit} bytes, and was stopped; raise `limits.memory` if this is expected")]
    MemoryLimit { plugin: String, limit: usize, requested: usize },
    #[error("plugin `{plugin}` trapped: {message}{}", stderr_suffix(.stderr))]
    Trap { plugin: String, message: String, stderr: String },
    #[error("plugin `{plugin}`: input {what} is {size} bytes, over the limit of {limit}")]
    InputTooLarge { plugin: String, what: &'static str, size: usize, limit: usize },
    #[error("plugin `{plugin}` returned {what} of {size}, over the limit of {limit}; the output was refused")]
    OutputTooLarge { plugin: String, what: &'static str, size: usize, limit: usize },
    #[error("plugin `{plugin}` returned an invalid answer: {reason}")]
    MalformedOutput { plugin: String, reason: String },
    #[error("plugin `{plugin}` could not be instantiated: {reason}")]
    Instantiate { plugin: String, reason: String },
    #[error("plugin `{plugin}` is a {actual} plugin and cannot answer `{call}`")]
    WrongKind { plugin: String, actual: &'static str, call: &'static str },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() { String::new() } else { format!(" (guest stderr: {stderr})") }
}

impl CallError {
    /// A short stable name for the audit log.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::MemoryLimit { .. } => "memory-limit",
            Self::Trap { .. } => "trap",
            Self::InputTooLarge { .. } => "input-too-large",
            Self::OutputTooLarge { .. } => "output-too-large",
            Self::MalformedOutput { .. } => "malformed-output",
            Self::Instantiate { .. } => "instantiate",
            Self::WrongKind { .. } => "wrong-kind",
        }
    }
}
