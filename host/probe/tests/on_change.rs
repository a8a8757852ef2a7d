//! `Prober::on_change`: the caller hears of every readiness change at once
//! (and of nothing else), so a control plane need not poll for readiness.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod support;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoist_probe::{ProbeSpec, Prober};
use support::{Answer, TestServer, eventually};
use tokio::runtime::Handle;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn ready_unready_and_failed_are_each_reported_once() {
    let status = Arc::new(AtomicU16::new(200));
    let shared = Arc::clone(&status);
    let server = TestServer::start(move |_| Answer::Status(shared.load(Ordering::SeqCst))).await;
    let heard = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut prober = Prober::new(Handle::current());
    let sink = Arc::clone(&heard);
    prober.on_change(Arc::new(move |id: &str| sink.lock().unwrap().push(id.to_string())));
    let spec = ProbeSpec {
        interval: Duration::from_millis(20),
        timeout: Duration::from_millis(200),
        failure_threshold: NonZeroU32::new(2).unwrap(),
        ..ProbeSpec::http("/healthz")
    };
    prober.add("web-1", spec.clone(), server.addr).unwrap();
    eventually(SECOND, "told it is ready", || heard.lock().unwrap().len() == 1).await;
    assert!(prober.state("web-1").unwrap().ready);
    // Further successes change nothing, so say nothing.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(*heard.lock().unwrap(), ["web-1"]);

    status.store(503, Ordering::SeqCst);
    eventually(SECOND, "told it is no longer ready", || heard.lock().unwrap().len() == 2).await;
    assert!(!prober.state("web-1").unwrap().ready);

    // Never ready before its deadline: failed, and said so.
    let deadline = ProbeSpec { healthy_deadline: Some(Duration::from_millis(100)), ..spec };
    prober.add("web-2", deadline, server.addr).unwrap();
    eventually(SECOND, "told it failed", || heard.lock().unwrap().iter().any(|id| id == "web-2")).await;
    assert!(prober.state("web-2").unwrap().failed.is_some());
}
