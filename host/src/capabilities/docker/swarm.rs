//! The Swarm service calls of `hoist:plugin/docker` (tasks and their
//! addresses are in `tasks.rs`).
//!
//! Swarm cannot publish a port on 127.0.0.1 only (its routing mesh and
//! host-mode publishing bind every interface), so a service spec with ports
//! is refused: Hoist publishes nothing beyond loopback. Tasks are reached on
//! a network instead (extension `network`, see `ensure_swarm_network`),
//! where its name and `aliases` resolve to its tasks (DNS round robin).

use std::collections::HashMap;

use bollard::errors::Error as EngineError;
use bollard::models::{
    EndpointSpec, EndpointSpecModeEnum, NetworkAttachmentConfig, NetworkCreateRequest,
    ServiceSpec as EngineServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec, TaskSpecContainerSpec,
};
use bollard::query_parameters::{ListServicesOptionsBuilder, UpdateServiceOptionsBuilder};

use super::client::{DockerClient, MAX_LIST};
use crate::runtime::bindings::platform::hoist::plugin::docker::{DockerError, ServiceInfo, ServiceSpec};

fn engine_spec(spec: &ServiceSpec) -> Result<EngineServiceSpec, DockerError> {
    if !spec.ports.is_empty() {
        return Err(DockerError::Other(format!(
            "service `{}`: Swarm cannot publish ports on 127.0.0.1 only; publish no ports",
            spec.name
        )));
    }
    let labels: HashMap<String, String> = spec.labels.iter().cloned().collect();
    let extension = |key: &str| spec.extensions.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    // On its network the service answers to its aliases too (e.g. its
    // name in a stack, the same across revisions).
    let aliases: Vec<String> = extension("aliases")
        .into_iter()
        .flat_map(|a| a.split(','))
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    let networks = extension("network").map(|name| {
        vec![NetworkAttachmentConfig {
            target: Some(name.to_owned()),
            aliases: (!aliases.is_empty()).then(|| aliases.clone()),
            ..NetworkAttachmentConfig::default()
        }]
    });
    let stop_grace_period = match extension("stop-grace-ms") {
        None => None,
        Some(ms) => Some(
            ms.parse::<i64>().ok().filter(|ms| (0..=3_600_000).contains(ms)).ok_or_else(|| {
                DockerError::Other(format!(
                    "service `{}`: extension `stop-grace-ms` = `{ms}` is not a number of milliseconds up to 3600000",
                    spec.name
                ))
            })? * 1_000_000,
        ),
    };
    Ok(EngineServiceSpec {
        name: Some(spec.name.clone()),
        labels: Some(labels.clone()),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(spec.image.clone()),
                labels: Some(labels),
                env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
                stop_grace_period,
                ..TaskSpecContainerSpec::default()
            }),
            networks,
            ..TaskSpec::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(i64::from(spec.replicas)) }),
            ..ServiceSpecMode::default()
        }),
        // A name on the network resolves to the tasks' own addresses: Hoist
        // publishes nothing and its router reaches tasks directly, and a
        // virtual IP needs the kernel's IPVS, which not every host has
        // (measured here: a VIP answers "no route to host").
        endpoint_spec: Some(EndpointSpec { mode: Some(EndpointSpecModeEnum::DNSRR), ..EndpointSpec::default() }),
        ..EngineServiceSpec::default()
    })
}

impl DockerClient {
    pub async fn create_service(&self, spec: ServiceSpec) -> Result<String, DockerError> {
        let mut body = engine_spec(&spec)?;
        self.attach_secrets(&spec, &mut body).await?;
        if !self.image_present(&spec.image).await? {
            return Err(super::client::image_missing(&spec.image));
        }
        let docker = self.engine().await?;
        let created = docker
            .create_service(body, None)
            .await
            .map_err(|err| self.map_swarm(err, &format!("service `{}`", spec.name)))?;
        created.id.ok_or_else(|| DockerError::Other(format!("service `{}`: the engine returned no id", spec.name)))
    }

    pub async fn update_service(&self, id: &str, spec: ServiceSpec) -> Result<(), DockerError> {
        let mut body = engine_spec(&spec)?;
        self.attach_secrets(&spec, &mut body).await?;
        let docker = self.engine().await?;
        let current =
            docker.inspect_service(id, None).await.map_err(|err| self.map_swarm(err, &format!("service `{id}`")))?;
        let version = current.version.and_then(|v| v.index).and_then(|i| i32::try_from(i).ok()).unwrap_or(0);
        let options = UpdateServiceOptionsBuilder::new().version(version).build();
        docker
            .update_service(id, body, options, None)
            .await
            .map(|_| ())
            .map_err(|err| self.map_swarm(err, &format!("service `{id}`")))
    }

    async fn attach_secrets(&self, spec: &ServiceSpec, body: &mut EngineServiceSpec) -> Result<(), DockerError> {
        let refs = self.secret_refs(&spec.name, &spec.extensions).await?;
        if let Some(container) = body.task_template.as_mut().and_then(|t| t.container_spec.as_mut()) {
            container.secrets = refs;
        }
        Ok(())
    }

    /// A swarm-scoped attachable bridge: each node gets its own bridge,
    /// reachable from that node, so the router on a node reaches its tasks.
    pub async fn ensure_swarm_network(&self, name: &str) -> Result<(), DockerError> {
        let docker = self.engine().await?;
        match docker.inspect_network(name, None).await {
            Ok(_) => return Ok(()),
            Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(err) => return Err(self.map_swarm(err, &format!("network `{name}`"))),
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            scope: Some("swarm".into()),
            attachable: Some(true),
            labels: Some(HashMap::from([("hoist.network".to_owned(), "swarm".to_owned())])),
            ..NetworkCreateRequest::default()
        };
        match docker.create_network(request).await {
            // 409: created concurrently.
            Ok(_) | Err(EngineError::DockerResponseServerError { status_code: 409, .. }) => Ok(()),
            Err(err) => Err(self.map_swarm(err, &format!("network `{name}`"))),
        }
    }

    pub async fn remove_service(&self, id: &str) -> Result<(), DockerError> {
        let docker = self.engine().await?;
        match docker.delete_service(id).await {
            Ok(()) | Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(err) => Err(self.map_swarm(err, &format!("service `{id}`"))),
        }
    }

    pub async fn list_services(&self, labels: &[(String, String)]) -> Result<Vec<ServiceInfo>, DockerError> {
        let docker = self.engine().await?;
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        filters.insert("label".into(), labels.iter().map(|(k, v)| format!("{k}={v}")).collect());
        let options = ListServicesOptionsBuilder::new().filters(&filters).status(true).build();
        let services = docker.list_services(Some(options)).await.map_err(|err| self.map_swarm(err, "services"))?;
        Ok(services
            .into_iter()
            .take(MAX_LIST)
            .map(|s| {
                let spec = s.spec.unwrap_or_default();
                let replicas = spec.mode.and_then(|m| m.replicated).and_then(|r| r.replicas).unwrap_or(0);
                let running = s.service_status.and_then(|st| st.running_tasks).unwrap_or(0);
                let mut labels: Vec<(String, String)> = spec.labels.unwrap_or_default().into_iter().collect();
                labels.sort();
                ServiceInfo {
                    id: s.id.unwrap_or_default(),
                    name: spec.name.unwrap_or_default(),
                    labels,
                    replicas: u32::try_from(replicas).unwrap_or(0),
                    running_tasks: u32::try_from(running).unwrap_or(u32::MAX),
                }
            })
            .collect())
    }
}

impl DockerClient {
    /// Like `map`, and a node outside a swarm is named with the fix: the
    /// Swarm platform cannot be reached there.
    pub(super) fn map_swarm(&self, err: EngineError, subject: &str) -> DockerError {
        match err {
            EngineError::DockerResponseServerError { status_code: 503, message }
                if message.contains("not a swarm manager") || message.contains("not part of a swarm") =>
            {
                DockerError::Unreachable(format!(
                    "{subject}: the engine at {} is not a Swarm manager; run `docker swarm init` (or join a swarm) first",
                    self.address()
                ))
            }
            other => self.map(other, subject),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_outside_a_swarm_is_named_with_the_fix() {
        let client = DockerClient::at("unix:///var/run/docker.sock");
        let err = EngineError::DockerResponseServerError {
            status_code: 503,
            message: "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect \
                      this node to swarm and try again."
                .into(),
        };
        let DockerError::Unreachable(msg) = client.map_swarm(err, "service `web`") else { panic!("wrong variant") };
        assert_eq!(
            msg,
            "service `web`: the engine at unix:///var/run/docker.sock is not a Swarm manager; run `docker swarm init` \
             (or join a swarm) first"
        );
    }
}
