//! `builtin:local-process` — runs each instance as a local process through
//! the `process` capability (grant it with `capabilities = ["process"]`).
//!
//! Config (JSON object, kebab-case): `stop-grace-ms` (default 5000), the
//! time between SIGTERM and SIGKILL when an instance is stopped.
//!
//! Processes carry the labels `hoist.service`, `hoist.environment`,
//! `hoist.revision` and `hoist.index`, get a free loopback port in `PORT`
//! and the variables `HOIST_SERVICE`, `HOIST_REVISION` and `HOIST_INSTANCE`
//! (the index). A running process is reported `ready` at `127.0.0.1:PORT`;
//! the host's probes decide whether it really serves. A stack service also
//! gets `HOIST_<DEP>_HOST`, `_PORT` and `_ADDR` for each dependency: its
//! front door when it has one, else a running instance.

mod config;
mod ensure;
mod labels;

pub use config::Config;

use hoist_sdk::platform::{Platform, PlatformError, RevisionSpec};
use hoist_sdk::types::Instance;

/// The local-process platform.
pub struct LocalProcess;

impl Platform for LocalProcess {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn ensure(spec: RevisionSpec, replicas: u32) -> Result<Vec<Instance>, PlatformError> {
        ensure::ensure(&spec, replicas)
    }

    fn instances(service: String, environment: String, config: String) -> Result<Vec<Instance>, PlatformError> {
        Config::parse(&config)?;
        let found = hoist_sdk::process::find(&labels::selector(&service, &environment, None));
        Ok(found.iter().map(labels::to_instance).collect())
    }

    fn remove(service: String, environment: String, revision: String, config: String) -> Result<(), PlatformError> {
        let config = Config::parse(&config)?;
        for process in hoist_sdk::process::find(&labels::selector(&service, &environment, Some(&revision))) {
            ensure::stop(&process.id, config.stop_grace_ms)?;
        }
        Ok(())
    }
}

hoist_sdk::export_platform!(LocalProcess);
