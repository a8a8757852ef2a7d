//! The Docker engine client behind the `docker` capability, and its
//! container, log, image and network calls.
//!
//! The host connects lazily to the local engine (`DOCKER_HOST`, else
//! `unix:///var/run/docker.sock`). Ports are only ever published on
//! 127.0.0.1. Engine errors become domain errors a user can read. The
//! Swarm calls are in `swarm.rs` (services, networks) and `tasks.rs`
//! (tasks and their addresses).

use std::collections::HashMap;
use std::sync::Arc;

use bollard::Docker;
use bollard::errors::Error as EngineError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, HostConfig, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use crate::runtime::bindings::platform::hoist::plugin::docker::{
    ContainerInfo, ContainerSpec, DockerError, Health, PortBinding as WitPort,
};

/// Most bytes of container logs returned by one call.
const MAX_LOG_BYTES: usize = 64 * 1024;
/// Most entries one list returns.
pub(super) const MAX_LIST: usize = 1000;
/// Longest stop timeout a plugin may ask for.
const MAX_STOP_SECS: u32 = 120;
/// Seconds the client waits for one engine request.
const REQUEST_TIMEOUT_SECS: u64 = 120;
const DEFAULT_ADDRESS: &str = "unix:///var/run/docker.sock";

/// Names the address and says what to do.
fn unreachable(address: &str, err: &EngineError) -> String {
    format!("engine unreachable at {address}: {err}; start the Docker engine, or set DOCKER_HOST to the engine to use")
}

/// A lazily connected handle on the local Docker engine, shared by calls.
#[derive(Clone, Default)]
pub struct DockerClient {
    inner: Arc<OnceCell<Docker>>,
    address: Option<Arc<str>>,
}

impl DockerClient {
    /// The engine at `DOCKER_HOST`, else the local socket.
    pub fn local() -> Self {
        Self::default()
    }

    /// The engine at `address` (`unix://...` or `tcp://...`).
    pub fn at(address: &str) -> Self {
        Self { inner: Arc::default(), address: Some(address.into()) }
    }

    /// The address this client connects to.
    pub fn address(&self) -> String {
        match &self.address {
            Some(a) => a.to_string(),
            None => std::env::var("DOCKER_HOST").unwrap_or_else(|_| DEFAULT_ADDRESS.to_string()),
        }
    }

    pub(super) async fn engine(&self) -> Result<&Docker, DockerError> {
        let address = self.address();
        self.inner
            .get_or_try_init(|| async {
                let docker = Docker::connect_with_host(&address)
                    .map_err(|err| DockerError::Unreachable(unreachable(&address, &err)))?;
                let docker = docker.with_timeout(std::time::Duration::from_secs(REQUEST_TIMEOUT_SECS));
                // Speak the engine's API version (an older engine refuses a newer client).
                docker.negotiate_version().await.map_err(|err| DockerError::Unreachable(unreachable(&address, &err)))
            })
            .await
    }

    fn unreachable(&self, err: &EngineError) -> DockerError {
        DockerError::Unreachable(unreachable(&self.address(), err))
    }

    /// Maps an engine error; `subject` names what the call was about.
    pub(super) fn map(&self, err: EngineError, subject: &str) -> DockerError {
        match err {
            EngineError::DockerResponseServerError { status_code, message } => match status_code {
                404 => DockerError::NotFound(format!("{subject}: {message}")),
                409 => DockerError::Conflict(format!("{subject}: {message}")),
                _ if message.contains("port is already allocated") || message.contains("address already in use") => {
                    DockerError::Conflict(port_conflict(&message))
                }
                _ => DockerError::Other(format!("{subject}: {message} (HTTP {status_code})")),
            },
            EngineError::IOError { .. }
            | EngineError::HyperResponseError { .. }
            | EngineError::HyperLegacyError { .. }
            | EngineError::RequestTimeoutError
            | EngineError::SocketNotFoundError(_) => self.unreachable(&err),
            other => DockerError::Other(format!("{subject}: {other}")),
        }
    }

    pub async fn create_container(&self, spec: ContainerSpec) -> Result<String, DockerError> {
        let docker = self.engine().await?;
        if !self.image_present(&spec.image).await? {
            return Err(image_missing(&spec.image));
        }
        let mut exposed = Vec::new();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for p in &spec.ports {
            let key = format!("{}/tcp", p.container_port);
            exposed.push(key.clone());
            let host_port = if p.host_port == 0 { String::new() } else { p.host_port.to_string() };
            bindings
                .insert(key, Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(host_port) }]));
        }
        // The networks it joins with its DNS aliases (`hoist.join`), or,
        // from plugins that name one network, `network` and `hoist.alias`.
        let mut joins = super::networks::joins(&spec.extensions)?;
        if joins.is_empty()
            && let Some(network) = &spec.network
        {
            let aliases: Vec<String> =
                spec.extensions.iter().filter(|(k, _)| k == "hoist.alias").map(|(_, v)| v.clone()).collect();
            if !aliases.is_empty() {
                joins.push(super::networks::Join { network: network.clone(), aliases, internal: false });
            }
        }
        for join in &joins {
            self.ensure_network_with(&join.network, join.internal).await?;
        }
        let network = joins.first().map(|j| j.network.clone()).or_else(|| spec.network.clone());
        let networking_config = joins.first().map(|first| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(first.network.clone(), super::networks::endpoint(&first.aliases))])),
        });
        let mut body = ContainerCreateBody {
            networking_config,
            image: Some(spec.image.clone()),
            cmd: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(spec.labels.iter().cloned().collect()),
            exposed_ports: Some(exposed),
            host_config: Some(HostConfig {
                // `hoist.bind`: a named volume or host path, `SOURCE:TARGET[:ro]`.
                binds: Some(
                    spec.extensions.iter().filter(|(k, _)| k == "hoist.bind").map(|(_, v)| v.clone()).collect(),
                ),
                port_bindings: Some(bindings),
                network_mode: network,
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        super::settings::apply(&spec.extensions, &mut body)?;
        let options = CreateContainerOptionsBuilder::new().name(&spec.name).build();
        let created = match docker.create_container(Some(options.clone()), body.clone()).await {
            // Removed by a stack that just left it, between the ensure and
            // the create: create it again, once.
            Err(EngineError::DockerResponseServerError { status_code: 404, message })
                if message.contains("network") && !joins.is_empty() =>
            {
                for join in &joins {
                    self.ensure_network_with(&join.network, join.internal).await?;
                }
                docker.create_container(Some(options), body).await
            }
            other => other,
        }
        .map_err(|err| self.map(err, &format!("container `{}`", spec.name)))?;
        let prepared = async {
            for join in joins.iter().skip(1) {
                self.connect(&created.id, join).await?;
            }
            self.write_files(&created.id, &spec.extensions).await
        };
        if let Err(e) = prepared.await {
            // Not left half-prepared: the caller creates it again.
            let _ = self.remove_container(&created.id).await;
            return Err(e);
        }
        Ok(created.id)
    }

    pub async fn start_container(&self, id: &str) -> Result<(), DockerError> {
        let docker = self.engine().await?;
        docker.start_container(id, None).await.map_err(|err| self.map(err, &format!("container `{id}`")))
    }

    pub async fn stop_container(&self, id: &str, timeout_secs: u32) -> Result<(), DockerError> {
        let docker = self.engine().await?;
        let t = i32::try_from(timeout_secs.min(MAX_STOP_SECS)).unwrap_or(10);
        let options = StopContainerOptionsBuilder::new().t(t).build();
        match docker.stop_container(id, Some(options)).await {
            // 304: already stopped.
            Err(EngineError::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            other => other.map_err(|err| self.map(err, &format!("container `{id}`"))),
        }
    }

    pub async fn remove_container(&self, id: &str) -> Result<(), DockerError> {
        let docker = self.engine().await?;
        let options = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
        docker.remove_container(id, Some(options)).await.map_err(|err| self.map(err, &format!("container `{id}`")))
    }

    pub async fn inspect_container(&self, id: &str) -> Result<ContainerInfo, DockerError> {
        let docker = self.engine().await?;
        let inspected =
            docker.inspect_container(id, None).await.map_err(|err| self.map(err, &format!("container `{id}`")))?;
        Ok(info_of(inspected))
    }

    pub async fn list_containers(&self, labels: &[(String, String)]) -> Result<Vec<ContainerInfo>, DockerError> {
        let docker = self.engine().await?;
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        filters.insert("label".into(), labels.iter().map(|(k, v)| format!("{k}={v}")).collect());
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .limit(i32::try_from(MAX_LIST).unwrap_or(1000))
            .filters(&filters)
            .build();
        let summaries = docker.list_containers(Some(options)).await.map_err(|err| self.map(err, "containers"))?;
        let mut out = Vec::new();
        for s in summaries.into_iter().take(MAX_LIST) {
            let Some(id) = s.id else { continue };
            match docker.inspect_container(&id, None).await {
                Ok(inspected) => out.push(info_of(inspected)),
                // Removed between list and inspect.
                Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => {}
                Err(err) => return Err(self.map(err, &format!("container `{id}`"))),
            }
        }
        Ok(out)
    }

    pub async fn container_logs(&self, id: &str, tail: u32) -> Result<String, DockerError> {
        let docker = self.engine().await?;
        let options = LogsOptionsBuilder::new().stdout(true).stderr(true).tail(&tail.min(10_000).to_string()).build();
        let mut stream = docker.logs(id, Some(options));
        let mut bytes: Vec<u8> = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| self.map(err, &format!("container `{id}`")))?;
            bytes.extend_from_slice(&chunk.into_bytes());
            if bytes.len() > 2 * MAX_LOG_BYTES {
                let cut = bytes.len() - MAX_LOG_BYTES;
                bytes.drain(..cut);
            }
        }
        if bytes.len() > MAX_LOG_BYTES {
            let cut = bytes.len() - MAX_LOG_BYTES;
            bytes.drain(..cut);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub async fn image_present(&self, image: &str) -> Result<bool, DockerError> {
        let docker = self.engine().await?;
        match docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
            Err(err) => Err(self.map(err, &format!("image `{image}`"))),
        }
    }
}

pub(super) fn image_missing(image: &str) -> DockerError {
    DockerError::ImageNotFound(format!("image `{image}` is not present on the engine and no registry is configured"))
}

/// "port 8081 already allocated" from the engine's longer message.
fn port_conflict(message: &str) -> String {
    let port = message
        .split(|c: char| !c.is_ascii_digit() && c != ':' && c != '.')
        .filter_map(|word| word.rsplit(':').next())
        .filter_map(|p| p.parse::<u16>().ok())
        .next_back();
    match port {
        Some(p) => format!("port {p} already allocated"),
        None => format!("port already allocated: {message}"),
    }
}

/// The HEALTHCHECK status of an inspected container.
pub(super) fn health_of(c: &ContainerInspectResponse) -> Health {
    match c.state.as_ref().and_then(|s| s.health.as_ref()).and_then(|h| h.status.as_ref()) {
        None => Health::None,
        Some(s) => match s.as_ref() {
            "" | "none" => Health::None,
            "starting" => Health::Starting,
            "healthy" => Health::Healthy,
            "unhealthy" => Health::Unhealthy,
            other => Health::Other(other.to_string()),
        },
    }
}

fn info_of(c: ContainerInspectResponse) -> ContainerInfo {
    let inspected_health = health_of(&c);
    let config = c.config.unwrap_or_default();
    let state = c.state.unwrap_or_default();
    // An exited container has no health to speak of: how it ended rides
    // there — its exit code, which tells a job that succeeded from one that
    // failed, and why when the engine knows (its memory limit, a signal).
    let exited = matches!(state.status, Some(ContainerStateStatusEnum::EXITED));
    let health = match state.exit_code {
        Some(code) if exited => Health::Other(crate::exits::container_exit(code, state.oom_killed == Some(true))),
        _ => inspected_health,
    };
    let mut ports = Vec::new();
    for (key, bindings) in c.network_settings.and_then(|n| n.ports).unwrap_or_default() {
        let Some(container_port) = key.split('/').next().and_then(|p| p.parse::<u16>().ok()) else { continue };
        for b in bindings.unwrap_or_default() {
            let loopback = matches!(b.host_ip.as_deref(), Some("127.0.0.1") | None | Some(""));
            let host_port = b.host_port.as_deref().and_then(|p| p.parse::<u16>().ok());
            if let (true, Some(host_port)) = (loopback, host_port) {
                ports.push(WitPort { container_port, host_port });
            }
        }
    }
    ports.sort_by_key(|p| (p.container_port, p.host_port));
    let mut labels: Vec<(String, String)> = config.labels.unwrap_or_default().into_iter().collect();
    labels.sort();
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name: c.name.unwrap_or_default().trim_start_matches('/').to_string(),
        image: config.image.unwrap_or_default(),
        labels,
        state: state.status.map(|s| s.to_string()).unwrap_or_default(),
        health,
        ports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_conflict_names_the_port() {
        let msg = "driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:8081 failed: port is already allocated";
        assert_eq!(port_conflict(msg), "port 8081 already allocated");
    }

    #[test]
    fn a_missing_image_says_there_is_no_registry() {
        let DockerError::ImageNotFound(text) = image_missing("demo:v2") else { panic!("wrong variant") };
        assert_eq!(text, "image `demo:v2` is not present on the engine and no registry is configured");
    }
}
