//! The networks a revision's containers join: the configured `network`,
//! else the stack's — its default network `hoist-STACK-ENV` and the named
//! networks its Compose file declares (`hoist-STACK-ENV-NAME`, from the
//! revision's `hoist.network` extensions) — else the engine's default
//! bridge. On each, a container answers to its service's name and its
//! aliases, so `db:5432` reaches `db` whatever its revision.

use hoist_sdk::platform::{PlatformError, RevisionSpec};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// Label listing the networks a container joined, released with it.
pub const LABEL: &str = "hoist.networks";

/// One network of the stack a service is on (extension `hoist.network`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StackNetwork {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    internal: bool,
}

/// What the docker capability takes: extension `hoist.join`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Join {
    pub network: String,
    pub aliases: Vec<String>,
    pub internal: bool,
}

/// The networks, first the one the container is created on.
pub fn joins(spec: &RevisionSpec, config: &Config) -> Result<Vec<Join>, PlatformError> {
    let own = vec![spec.service.clone()];
    if let Some(network) = &config.network {
        return Ok(vec![Join { network: network.clone(), aliases: own, internal: false }]);
    }
    let Some(stack) = spec.extensions.iter().find(|(k, _)| k == "hoist.stack").map(|(_, v)| v) else {
        return Ok(Vec::new());
    };
    let declared = spec
        .extensions
        .iter()
        .filter(|(k, _)| k == "hoist.network")
        .map(|(_, v)| {
            serde_json::from_str::<StackNetwork>(v).map_err(|e| {
                PlatformError::InvalidSpec(format!(
                    "service `{}`: extension `hoist.network` = `{v}`: {e}",
                    spec.service
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let base = format!("hoist-{stack}-{}", spec.environment);
    if declared.is_empty() {
        return Ok(vec![Join { network: base, aliases: own, internal: false }]);
    }
    Ok(declared
        .into_iter()
        .map(|n| Join {
            network: if n.name == "default" { base.clone() } else { format!("{base}-{}", n.name) },
            aliases: own.iter().chain(&n.aliases).cloned().collect(),
            internal: n.internal,
        })
        .collect())
}

/// The container spec's extensions for `joins`.
pub fn extensions(joins: &[Join]) -> impl Iterator<Item = (String, String)> + '_ {
    joins.iter().filter_map(|j| Some(("hoist.join".to_owned(), serde_json::to_string(j).ok()?)))
}

/// The label naming the networks (comma-separated), if any.
pub fn label(joins: &[Join]) -> Option<(String, String)> {
    (!joins.is_empty())
        .then(|| (LABEL.to_owned(), joins.iter().map(|j| j.network.as_str()).collect::<Vec<_>>().join(",")))
}

/// Releases the networks of removed containers that no container uses
/// any more (the engine refuses while one does; that is not an error).
pub fn release<'a>(labels: impl Iterator<Item = &'a [(String, String)]>) {
    let mut names = std::collections::BTreeSet::new();
    for l in labels {
        if let Some(v) = hoist_sdk::platform::labels::get(l, LABEL) {
            names.extend(v.split(',').filter(|n| !n.is_empty()).map(str::to_owned));
        }
    }
    for name in names {
        let _ = hoist_sdk::docker::remove_network(&name);
    }
}
