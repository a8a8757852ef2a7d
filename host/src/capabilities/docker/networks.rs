//! Networks of the `docker` capability: created idempotently (one per name,
//! labelled `hoist.network`, `internal` when asked), joined by a container
//! with its DNS aliases (`hoist.join` extensions of its spec), and removed
//! once no container is left on them.

use std::collections::HashMap;

use bollard::errors::Error as EngineError;
use bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkCreateRequest};
use serde::Deserialize;

use super::client::DockerClient;
use crate::runtime::bindings::platform::hoist::plugin::docker::DockerError;

/// The label every network Hoist creates carries (its name).
const LABEL: &str = "hoist.network";

/// One network a container joins: extension `hoist.join`, JSON.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Join {
    pub network: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// No route out of the network (Compose `internal: true`).
    #[serde(default)]
    pub internal: bool,
}

/// The `hoist.join` extensions of a spec, in order.
pub fn joins(extensions: &[(String, String)]) -> Result<Vec<Join>, DockerError> {
    extensions
        .iter()
        .filter(|(k, _)| k == "hoist.join")
        .map(|(_, v)| {
            serde_json::from_str(v)
                .map_err(|e| DockerError::Other(format!("container extension `hoist.join` = `{v}`: {e}")))
        })
        .collect()
}

/// The endpoint of a container on a network, answering to `aliases`.
pub fn endpoint(aliases: &[String]) -> EndpointSettings {
    EndpointSettings { aliases: (!aliases.is_empty()).then(|| aliases.to_vec()), ..EndpointSettings::default() }
}

impl DockerClient {
    /// Creates `name` unless it exists. An existing network must agree on
    /// `internal`: a silent mismatch would leave a service reachable from
    /// outside, or cut off, against its file.
    pub async fn ensure_network_with(&self, name: &str, internal: bool) -> Result<(), DockerError> {
        let _one_at_a_time = NETWORKS.lock().await;
        let docker = self.engine().await?;
        match docker.inspect_network(name, None).await {
            Ok(found) if found.internal.unwrap_or(false) == internal => return Ok(()),
            Ok(_) => {
                return Err(DockerError::Conflict(format!(
                    "network `{name}` exists but is {}internal, where the stack asks for {}; remove it (`docker network rm {name}`) and deploy again",
                    if internal { "not " } else { "" },
                    if internal { "internal" } else { "a routed network" },
                )));
            }
            Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(err) => return Err(self.map(err, &format!("network `{name}`"))),
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            internal: Some(internal),
            labels: Some(HashMap::from([(LABEL.to_string(), name.to_string())])),
            ..NetworkCreateRequest::default()
        };
        match docker.create_network(request).await {
            Ok(_) => Ok(()),
            // Created concurrently.
            Err(EngineError::DockerResponseServerError { status_code: 409, .. }) => Ok(()),
            Err(err) => Err(self.map(err, &format!("network `{name}`"))),
        }
    }

    pub async fn ensure_network(&self, name: &str) -> Result<(), DockerError> {
        self.ensure_network_with(name, false).await
    }

    /// Connects a created container to a network before it starts.
    pub async fn connect(&self, id: &str, join: &Join) -> Result<(), DockerError> {
        let docker = self.engine().await?;
        let request =
            NetworkConnectRequest { container: id.to_string(), endpoint_config: Some(endpoint(&join.aliases)) };
        docker
            .connect_network(&join.network, request)
            .await
            .map_err(|err| self.map(err, &format!("connecting container `{id}` to network `{}`", join.network)))
    }

    /// Removes a network Hoist created once no container is on it: `Ok`
    /// when it is gone or never was; `conflict` while containers use it;
    /// `other` for a network Hoist did not create (left alone).
    pub async fn remove_network(&self, name: &str) -> Result<(), DockerError> {
        let _one_at_a_time = NETWORKS.lock().await;
        let docker = self.engine().await?;
        let found = match docker.inspect_network(name, None).await {
            Ok(found) => found,
            Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => return Ok(()),
            Err(err) => return Err(self.map(err, &format!("network `{name}`"))),
        };
        if !found.labels.unwrap_or_default().contains_key(LABEL) {
            return Err(DockerError::Other(format!("network `{name}` was not created by Hoist; it is left as it is")));
        }
        if found.containers.is_some_and(|c| !c.is_empty()) {
            return Err(DockerError::Conflict(format!("network `{name}` still has containers")));
        }
        match docker.remove_network(name).await {
            Ok(()) | Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            // Joined since it was inspected.
            Err(EngineError::DockerResponseServerError { status_code: 403 | 409, message }) => {
                Err(DockerError::Conflict(format!("network `{name}`: {message}")))
            }
            Err(err) => Err(self.map(err, &format!("network `{name}`"))),
        }
    }
}

/// Networks are created and removed one at a time: the engine accepts two
/// networks of one name, so services of a stack starting together must not
/// each create one, nor one remove what another just created.
static NETWORKS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_read_in_order_and_bad_ones_name_the_value() {
        let ext = vec![
            ("hoist.join".to_string(), r#"{"network":"a","aliases":["db"]}"#.to_string()),
            ("hoist.user".to_string(), "1".to_string()),
            ("hoist.join".to_string(), r#"{"network":"b","internal":true}"#.to_string()),
        ];
        let j = joins(&ext).unwrap();
        assert_eq!(j[0], Join { network: "a".into(), aliases: vec!["db".into()], internal: false });
        assert_eq!(j[1], Join { network: "b".into(), aliases: vec![], internal: true });
        let bad = vec![("hoist.join".to_string(), "{".to_string())];
        assert!(format!("{:?}", joins(&bad).unwrap_err()).contains("hoist.join"));
    }
}
