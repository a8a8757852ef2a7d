//! The host's `docker` capability against the real engine: readable errors
//! (missing image, port conflict) and the Swarm service calls (a single-node
//! swarm is initialised for the test if needed and left afterwards). Fails, never
//! skips, when the engine is unreachable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/swarm.rs"]
mod swarm;

use std::process::Command;

use hoist::capabilities::docker::DockerClient;
use hoist::runtime::bindings::platform::hoist::plugin::docker::{ContainerSpec, DockerError, PortBinding, ServiceSpec};

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().expect("the docker CLI is not installed")
}

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The locally built demo image (see `cargo xtask images`); any local image
/// serves for these calls.
fn local_image() -> String {
    let out = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(out.status.success(), "the Docker engine is unreachable: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| !l.contains("<none>"))
        .map(str::to_owned)
        .expect("no local image: run `cargo xtask images` first")
}

#[test]
fn missing_image_unreachable_engine_and_port_conflict_read_well() {
    let rt = tokio();
    let client = DockerClient::local();
    let spec = |name: &str, image: &str, host_port: u16| ContainerSpec {
        name: name.into(),
        image: image.into(),
        cmd: vec![],
        env: vec![],
        labels: vec![("hoist.test".into(), "cap".into())],
        ports: vec![PortBinding { container_port: 8080, host_port }],
        network: None,
        extensions: vec![],
    };
    let err = rt.block_on(client.create_container(spec("hoist-cap-missing", "demo:v2", 0))).unwrap_err();
    assert_eq!(
        err,
        DockerError::ImageNotFound("image `demo:v2` is not present on the engine and no registry is configured".into())
    );

    let unreachable = DockerClient::at("unix:///nonexistent/docker.sock");
    let DockerError::Unreachable(msg) = rt.block_on(unreachable.image_present("x")).unwrap_err() else { panic!() };
    assert!(msg.starts_with("engine unreachable at unix:///nonexistent/docker.sock"), "{msg}");

    let image = local_image();
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let _ = docker(&["rm", "-f", "hoist-cap-a", "hoist-cap-b"]);
    let a = rt.block_on(client.create_container(spec("hoist-cap-a", &image, port))).unwrap();
    rt.block_on(client.start_container(&a)).unwrap();
    let b = rt.block_on(client.create_container(spec("hoist-cap-b", &image, port))).unwrap();
    let started = rt.block_on(client.start_container(&b));
    let _ = docker(&["rm", "-f", "hoist-cap-a", "hoist-cap-b"]);
    assert_eq!(started, Err(DockerError::Conflict(format!("port {port} already allocated"))));
}

#[test]
fn swarm_services_are_created_listed_updated_and_removed() {
    let rt = tokio();
    let image = local_image();
    // Initialised (and left) only if the engine is not in a swarm already,
    // under the lock every Swarm test takes.
    let _swarm = swarm::Swarm::join();
    let client = DockerClient::local();
    let name = format!("hoist-svc-{}", std::process::id());
    let mut spec = ServiceSpec {
        name: name.clone(),
        image,
        replicas: 1,
        env: vec![("HOST".into(), "0.0.0.0".into())],
        labels: vec![("hoist.service".into(), name.clone())],
        ports: vec![],
        extensions: vec![],
    };
    let id = rt.block_on(client.create_service(spec.clone())).unwrap();
    let selector = vec![("hoist.service".to_owned(), name.clone())];
    let listed = rt.block_on(client.list_services(&selector)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id.as_str(), listed[0].replicas), (id.as_str(), 1));
    spec.replicas = 2;
    rt.block_on(client.update_service(&id, spec.clone())).unwrap();
    assert_eq!(rt.block_on(client.list_services(&selector)).unwrap()[0].replicas, 2);
    spec.ports = vec![PortBinding { container_port: 8080, host_port: 0 }];
    let refused = rt.block_on(client.create_service(spec)).unwrap_err();
    assert!(matches!(&refused, DockerError::Other(m) if m.contains("127.0.0.1")), "{refused:?}");
    rt.block_on(client.remove_service(&id)).unwrap();
    assert!(rt.block_on(client.list_services(&selector)).unwrap().is_empty());
}
