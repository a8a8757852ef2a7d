//! Stacks of services that depend on each other: the dependency graph
//! (conditions per edge, cycles named), the earliest start of every service
//! given when its dependencies meet their conditions, teardown order, and
//! the import of Docker Compose files.

pub mod compose;
mod compose_configs;
mod compose_deploy;
mod compose_networks;
mod compose_runtime;
mod compose_secrets;
mod compose_values;
pub mod definition;
mod dotenv;
mod from_compose;
pub mod graph;
pub mod healthcheck;
pub mod interpolate;
mod profiles;
pub mod runtime;

pub use compose::{ComposeError, Healthcheck, Imported, ImportedService, Unsupported, import};
pub use definition::{
    ConfigFile, LoadOptions, Loaded, NetworkDef, Restart, ServiceNetwork, StackDef, StackError, StackService, load,
    load_with,
};
pub use graph::{Condition, Graph, GraphError, Timing};
pub use runtime::{InstanceHealth, Runtime};
