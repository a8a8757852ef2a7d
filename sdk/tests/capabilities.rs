//! The native stand-ins for log, clock and process, and serde on the types.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use hoist_sdk::log::Level;
use hoist_sdk::process::{self, ProcessError, ProcessState, SpawnRequest};
use hoist_sdk::testing::{self, FakeProcesses};

fn request(program: &str, labels: &[(&str, &str)]) -> SpawnRequest {
    SpawnRequest {
        program: program.into(),
        args: vec![],
        env: vec![],
        labels: labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
        assign_port: true,
        extensions: vec![],
    }
}

#[test]
fn logs_are_captured_per_thread() {
    hoist_sdk::log::warn("disk low");
    hoist_sdk::log::debug("detail");
    let logs = testing::take_logs();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].level, Level::Warn);
    assert_eq!(logs[0].message, "disk low");
    assert!(testing::logs().is_empty());
}

#[test]
fn clock_is_settable() {
    testing::set_now_ms(42);
    testing::advance_ms(8);
    assert_eq!(hoist_sdk::clock::now_ms(), 50);
}

#[test]
fn fake_processes_spawn_find_exit_stop() {
    let fake = FakeProcesses::new();
    let a = process::spawn(&request("web", &[("svc", "a"), ("rev", "1")])).unwrap();
    let b = process::spawn(&request("web", &[("svc", "a"), ("rev", "2")])).unwrap();
    assert_ne!(a.port, b.port);
    assert_eq!(process::find(&[("svc".into(), "a".into())]).len(), 2);
    assert_eq!(process::find(&[("rev".into(), "2".into())]), vec![b.clone()]);
    assert!(fake.exit(&a.id, 3));
    assert_eq!(fake.all()[0].state, ProcessState::Exited(3));
    assert_eq!(fake.running(), 1);
    process::stop(&a.id, 10).unwrap();
    assert_eq!(fake.stopped(), vec![(a.id.clone(), 10)]);
    assert_eq!(process::stop(&a.id, 10), Err(ProcessError::NoSuchProcess(a.id.clone())));
    fake.missing_program("nope");
    assert_eq!(process::spawn(&request("nope", &[])), Err(ProcessError::NotFound("nope".into())));
}

#[test]
fn contract_types_are_serde() {
    use hoist_sdk::prelude::*;
    let ctx = testing::ContextBuilder::new()
        .replicas(3)
        .observed(testing::ObservationBuilder::new().ready("r1", 3, 10).starting("r2", 1).build())
        .build();
    let json = serde_json::to_string(&ctx).unwrap();
    let back: Context = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ctx);
    let d = Decision { state: vec![1], actions: vec![Action::Complete], status: "ok".into() };
    let back: Decision = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(back, d);
}

#[test]
fn http_goes_to_the_test_handler() {
    use hoist_sdk::http::{self, HttpError, Request, Response};
    let req = Request {
        method: "GET".into(),
        url: "http://prometheus:9090/api/v1/query".into(),
        headers: vec![],
        body: vec![],
        timeout_ms: 1000,
    };
    assert!(matches!(http::send(&req), Err(HttpError::Denied(_))));
    testing::set_http_handler(|r| Ok(Response { status: 200, headers: vec![], body: r.url.clone().into_bytes() }));
    assert_eq!(http::send(&req).unwrap().body, req.url.as_bytes());
}
