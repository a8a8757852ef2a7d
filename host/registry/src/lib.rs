//! The Hoist plugin registry: which plugins exist, where their components
//! come from, what they may import, their limits and config, and which
//! plugins each environment uses.
//!
//! The registry is a TOML file (`version = 1`) parsed strictly: unknown keys
//! and bad values are errors, and every error names the file, line and
//! column, says what to do, and all errors are reported at once.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use hoist_registry::{Capability, Registry};
//!
//! let registry = Registry::load("registry.toml".as_ref())?;
//! let production = registry.environment("production")?;
//! let platform = &production.platform;
//! platform.check_imports([Capability::Process])?;
//! println!("{} {}", platform.source, platform.config_json());
//! # Ok(()) }
//! ```
//!
//! This crate does no wasm work; the runtime uses [`ResolvedPlugin`] to
//! load, link and limit components.

pub mod analysis;
mod capability;
mod diagnostic;
mod digest;
mod error;
mod locate;
mod model;
mod names;
pub mod notify;
mod parse;
mod resolve;
mod schema;
mod units;

pub use analysis::{AnalysisTemplate, NoData, Range};
pub use capability::{Capability, PluginKind, WIT_PACKAGE};
pub use diagnostic::{Diagnostic, Location, SourceMap};
pub use digest::{Digest, DigestError};
pub use error::RegistryError;
pub use locate::locate;
pub use model::{Credential, Environment, JsonObject, PluginDecl, PluginOverride, Registry, SecretSource, Source};
pub use names::{EnvName, MAX_NAME_LEN, NameError, PluginName, validate_name};
pub use notify::{NotifyEvent, NotifyFormat, Subscription, WebhookUrl};
pub use parse::VERSION;
pub use resolve::{
    ResolveError, ResolvedEnvironment, ResolvedPlugin, ResolvedTemplate, UngrantedCapability, merge_config,
};
pub use units::{
    DEFAULT_MEMORY_BYTES, Limits, MAX_MEMORY_BYTES, MAX_TIME, MIN_MEMORY_BYTES, parse_memory, parse_span, parse_time,
};
