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
    #[error(
        "plugin `{plugin}`: {item} does not have the types of this hoist's contract ({reason}); \
         rebuild it against this hoist's WIT (hoist-sdk 0.1)"
    )]
    TypeMismatch { plugin: String, item: String, reason: String },
}

#[derive(Debug, Clone, thiserror::Error, serde::Serialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum CallError {
    #[error("plugin `{plugin}` exceeded its time limit of {limit:?} and was stopped")]
    Timeout { plugin: String, limit: Duration },
    #[error(
        "plugin `{plugin}` used its whole fuel budget of {fuel} (the deterministic stand-in for its time limit of {limit:?} \
         in `hoist simulate`) and was stopped"
    )]
    OutOfFuel { plugin: String, limit: Duration, fuel: u64 },
    #[error(
        "plugin `{plugin}` ran out of memory (limit {}): it asked for {} and was stopped; raise `limits.memory` if this is expected",
        mib(*.limit), mib(*.requested)
    )]
    MemoryLimit { plugin: String, limit: usize, requested: usize },
    #[error("plugin `{plugin}` overflowed its stack (stack overflow) and was stopped")]
    StackOverflow { plugin: String },
    #[error("plugin `{plugin}` panicked: {message} (at {location})")]
    Panic { plugin: String, message: String, location: String },
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
    #[error("plugin `{plugin}`: {reason}")]
    Host { plugin: String, reason: String },
}

/// `64 MiB`, or bytes when not a whole number of MiB.
fn mib(bytes: usize) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}

/// A failed call with what the plugin printed and logged before it failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}")]
pub struct CallFault {
    pub error: CallError,
    pub output: super::output::PluginOutput,
}

impl From<CallError> for CallFault {
    fn from(error: CallError) -> Self {
        Self { error, output: Default::default() }
    }
}

impl std::ops::Deref for CallFault {
    type Target = CallError;
    fn deref(&self) -> &CallError {
        &self.error
    }
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() { String::new() } else { format!(" (guest stderr: {stderr})") }
}

impl CallError {
    /// A short stable name for the audit log.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "timeout",
            Self::OutOfFuel { .. } => "out-of-fuel",
            Self::MemoryLimit { .. } => "memory-limit",
            Self::StackOverflow { .. } => "stack-overflow",
            Self::Panic { .. } => "panic",
            Self::Host { .. } => "host",
            Self::Trap { .. } => "trap",
            Self::InputTooLarge { .. } => "input-too-large",
            Self::OutputTooLarge { .. } => "output-too-large",
            Self::MalformedOutput { .. } => "malformed-output",
            Self::Instantiate { .. } => "instantiate",
            Self::WrongKind { .. } => "wrong-kind",
        }
    }
}
