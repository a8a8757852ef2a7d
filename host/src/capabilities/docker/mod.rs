//! `hoist:plugin/docker`: a subset of the Docker Engine API for platform
//! plugins granted `capabilities = ["docker"]`.
//!
//! The unit keeps one lazily connected [`DockerClient`] for the runtime
//! and lends it to the calls of plugins granted `docker`: containers, logs,
//! images in `client.rs`, networks in `networks.rs`, files written into
//! a container before it starts in `files.rs`, Swarm services and swarm-scoped
//! networks in `swarm.rs`, Swarm tasks in `tasks.rs`, and the batch calls
//! that run or remove many containers concurrently in `batch.rs`; the
//! engine's event stream, for the live control plane, in `events.rs`.

mod batch;
mod client;
mod events;
mod files;
mod networks;
mod settings;
mod swarm;
mod swarm_secrets;
mod tasks;

use wasmtime::component::HasSelf;

use crate::runtime::bindings::platform::hoist::plugin::docker::{
    self as wit, ContainerInfo, ContainerSpec, DockerError, Host, ServiceInfo, ServiceSpec, TaskInfo,
};
use crate::runtime::host_state::HostState;
use crate::runtime::kinds::Capability;

pub use batch::{BATCH_CONCURRENCY, MAX_BATCH, bounded};
pub use client::DockerClient;
pub use events::ContainerEvent;

use super::{Unit, Worlds};

pub(super) const UNIT: Unit = Unit {
    capability: Capability::Docker,
    worlds: Worlds::Platform,
    link: |linker| wit::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s),
    lend: |runtime, _, call| call.docker = Some(runtime.docker.clone()),
};

fn not_granted() -> DockerError {
    DockerError::Other("the `docker` capability is not granted to this plugin".into())
}

impl HostState {
    fn docker(&self) -> Result<DockerClient, DockerError> {
        self.granted.docker.clone().ok_or_else(not_granted)
    }
}

impl Host for HostState {
    async fn create_container(&mut self, spec: ContainerSpec) -> Result<String, DockerError> {
        self.docker()?.create_container(spec).await
    }
    async fn start_container(&mut self, id: String) -> Result<(), DockerError> {
        self.docker()?.start_container(&id).await
    }
    async fn stop_container(&mut self, id: String, timeout_secs: u32) -> Result<(), DockerError> {
        self.docker()?.stop_container(&id, timeout_secs).await
    }
    async fn remove_container(&mut self, id: String) -> Result<(), DockerError> {
        self.docker()?.remove_container(&id).await
    }
    async fn inspect_container(&mut self, id: String) -> Result<ContainerInfo, DockerError> {
        self.docker()?.inspect_container(&id).await
    }
    async fn list_containers(&mut self, labels: Vec<(String, String)>) -> Result<Vec<ContainerInfo>, DockerError> {
        self.docker()?.list_containers(&labels).await
    }
    async fn container_logs(&mut self, id: String, tail: u32) -> Result<String, DockerError> {
        self.docker()?.container_logs(&id, tail).await
    }
    async fn image_present(&mut self, image: String) -> Result<bool, DockerError> {
        self.docker()?.image_present(&image).await
    }
    async fn ensure_network(&mut self, name: String) -> Result<(), DockerError> {
        self.docker()?.ensure_network(&name).await
    }
    async fn remove_network(&mut self, name: String) -> Result<(), DockerError> {
        self.docker()?.remove_network(&name).await
    }
    async fn create_service(&mut self, spec: ServiceSpec) -> Result<String, DockerError> {
        self.docker()?.create_service(spec).await
    }
    async fn update_service(&mut self, id: String, spec: ServiceSpec) -> Result<(), DockerError> {
        self.docker()?.update_service(&id, spec).await
    }
    async fn remove_service(&mut self, id: String) -> Result<(), DockerError> {
        self.docker()?.remove_service(&id).await
    }
    async fn list_services(&mut self, labels: Vec<(String, String)>) -> Result<Vec<ServiceInfo>, DockerError> {
        self.docker()?.list_services(&labels).await
    }
    async fn list_tasks(&mut self, service: String) -> Result<Vec<TaskInfo>, DockerError> {
        self.docker()?.list_tasks(&service).await
    }
    async fn ensure_swarm_network(&mut self, name: String) -> Result<(), DockerError> {
        self.docker()?.ensure_swarm_network(&name).await
    }
    async fn run_containers(&mut self, specs: Vec<ContainerSpec>) -> Vec<Result<ContainerInfo, DockerError>> {
        match self.docker() {
            Ok(client) => client.run_containers(specs).await,
            Err(e) => specs.iter().map(|_| Err(e.clone())).collect(),
        }
    }
    async fn remove_containers(&mut self, ids: Vec<String>, timeout_secs: u32) -> Vec<Result<(), DockerError>> {
        match self.docker() {
            Ok(client) => client.remove_containers(ids, timeout_secs).await,
            Err(e) => ids.iter().map(|_| Err(e.clone())).collect(),
        }
    }
}
