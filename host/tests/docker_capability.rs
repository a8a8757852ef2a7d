//! The host's `docker` capability against the real engine: readable errors
//! (missing image, unreachable engine, port conflict). Its Swarm calls are
//! checked in `swarm.rs`, the Swarm tier. Fails, never skips, when the
//! engine is unreachable. The Docker tier: `#[ignore]`d by a plain
//! `cargo test`, run by `cargo xtask test` or with `-- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use hoist::capabilities::docker::DockerClient;
use hoist::runtime::bindings::platform::hoist::plugin::docker::{ContainerSpec, DockerError, PortBinding};
use support::engine::docker;
use support::images::any_local_image;

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
#[ignore = "Docker tier: needs a Docker engine; `cargo xtask test` runs it (see README, Tests)"]
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

    let image = any_local_image();
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let _ = docker(&["rm", "-f", "hoist-cap-a", "hoist-cap-b"]);
    let a = rt.block_on(client.create_container(spec("hoist-cap-a", &image, port))).unwrap();
    rt.block_on(client.start_container(&a)).unwrap();
    let b = rt.block_on(client.create_container(spec("hoist-cap-b", &image, port))).unwrap();
    let started = rt.block_on(client.start_container(&b));
    let _ = docker(&["rm", "-f", "hoist-cap-a", "hoist-cap-b"]);
    assert_eq!(started, Err(DockerError::Conflict(format!("port {port} already allocated"))));
}
