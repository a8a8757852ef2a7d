//! `Prober` against real loopback servers: thresholds, flapping, deadlines,
//! lifecycle. Intervals are tens of milliseconds so the suite stays fast.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod support;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use hoist_probe::{ProbeSpec, Prober, SpecError};
use support::{Answer, TestServer, eventually};
use tokio::runtime::Handle;

const SECOND: Duration = Duration::from_secs(1);

fn fast(success: u32, failure: u32) -> ProbeSpec {
    ProbeSpec {
        interval: Duration::from_millis(30),
        timeout: Duration::from_millis(200),
        success_threshold: NonZeroU32::new(success).unwrap(),
        failure_threshold: NonZeroU32::new(failure).unwrap(),
        ..ProbeSpec::http("/healthz")
    }
}

/// A server answering whatever status the test last stored.
async fn switchable(initial: u16) -> (TestServer, Arc<AtomicU16>) {
    let status = Arc::new(AtomicU16::new(initial));
    let shared = Arc::clone(&status);
    (TestServer::start(move |_| Answer::Status(shared.load(Ordering::SeqCst))).await, status)
}

#[tokio::test]
async fn becomes_ready_only_after_the_success_threshold() {
    let server = TestServer::start(|_| Answer::Status(200)).await;
    let mut prober = Prober::new(Handle::current());
    prober.add("web-1", fast(3, 3), server.addr).unwrap();
    let fresh = prober.state("web-1").unwrap();
    assert!(!fresh.ready && fresh.failed.is_none());
    assert_eq!(fresh.last_detail, "not probed yet");

    let mut seen = Vec::new();
    eventually(SECOND, "web-1 is ready", || {
        let state = prober.state("web-1").unwrap();
        seen.push((state.probes, state.ready));
        state.ready
    })
    .await;
    // Every state observed with fewer than three probes was not ready.
    assert!(seen.iter().all(|&(probes, ready)| !ready || probes >= 3), "{seen:?}");
    let state = prober.state("web-1").unwrap();
    assert!(state.consecutive_successes >= 3 && server.requests() >= 3);
    assert!(state.last_detail.starts_with("HTTP 200 from GET"), "{}", state.last_detail);
    assert!(state.ready_since.is_some());
}

#[tokio::test]
async fn stops_being_ready_only_after_the_failure_threshold() {
    let (server, status) = switchable(200).await;
    let mut prober = Prober::new(Handle::current());
    prober.add("web-1", fast(1, 3), server.addr).unwrap();
    eventually(SECOND, "ready", || prober.state("web-1").unwrap().ready).await;

    status.store(503, Ordering::SeqCst);
    let mut seen = Vec::new();
    eventually(SECOND, "not ready", || {
        let state = prober.state("web-1").unwrap();
        seen.push((state.consecutive_failures, state.ready));
        !state.ready
    })
    .await;
    assert!(
        seen.iter().any(|&(failures, ready)| ready && failures >= 1),
        "one failure alone must not take it down: {seen:?}"
    );
    assert!(seen.iter().all(|&(failures, ready)| failures >= 3 || ready), "{seen:?}");
    let state = prober.state("web-1").unwrap();
    assert_eq!((state.ready_since, prober.ready_for("web-1")), (None, None));
    assert!(state.last_detail.contains("HTTP 503"), "{}", state.last_detail);

    // And back.
    status.store(200, Ordering::SeqCst);
    eventually(SECOND, "ready again", || prober.state("web-1").unwrap().ready).await;
}

#[tokio::test]
async fn a_flapping_target_never_passes_two_in_a_row_but_stays_up_under_one_and_three() {
    let flapping = TestServer::start(|n| Answer::Status(if n % 2 == 1 { 200 } else { 503 })).await;
    let mut prober = Prober::new(Handle::current());
    prober.add("strict", fast(2, 2), flapping.addr).unwrap();
    let mut ever_ready = false;
    eventually(2 * SECOND, "twenty probes of `strict`", || {
        let state = prober.state("strict").unwrap();
        ever_ready |= state.ready;
        state.probes >= 20
    })
    .await;
    assert!(!ever_ready, "a target alternating pass/fail must never meet success-threshold 2");

    let other = TestServer::start(|n| Answer::Status(if n % 2 == 1 { 200 } else { 503 })).await;
    prober.add("lenient", fast(1, 3), other.addr).unwrap();
    eventually(SECOND, "`lenient` is ready", || prober.state("lenient").unwrap().ready).await;
    let mut always_ready = true;
    eventually(2 * SECOND, "twenty probes of `lenient`", || {
        let state = prober.state("lenient").unwrap();
        always_ready &= state.ready;
        state.probes >= 20
    })
    .await;
    assert!(always_ready, "single failures between successes must not reach failure-threshold 3");
}

#[tokio::test]
async fn a_target_missing_its_healthy_deadline_is_failed_and_no_longer_probed() {
    let server = TestServer::start(|_| Answer::Status(503)).await;
    let mut prober = Prober::new(Handle::current());
    let spec = ProbeSpec { healthy_deadline: Some(Duration::from_millis(300)), ..fast(1, 3) };
    prober.add("slow", spec, server.addr).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(prober.state("slow").unwrap().failed, None, "not before the deadline");

    eventually(SECOND, "`slow` failed", || prober.state("slow").unwrap().failed.is_some()).await;
    let state = prober.state("slow").unwrap();
    let reason = state.failed.unwrap();
    assert!(reason.starts_with("not ready within 300ms of being added ("), "{reason}");
    assert!(reason.contains("last: HTTP 503 from GET"), "{reason}");
    assert!(!state.ready);
    let requests = server.requests();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(server.requests(), requests, "a failed target is no longer probed");
}

#[tokio::test]
async fn the_deadline_is_disarmed_once_ready() {
    let (server, status) = switchable(200).await;
    let mut prober = Prober::new(Handle::current());
    let spec = ProbeSpec { healthy_deadline: Some(Duration::from_millis(150)), ..fast(1, 1) };
    prober.add("web-1", spec, server.addr).unwrap();
    eventually(SECOND, "ready", || prober.state("web-1").unwrap().ready).await;
    status.store(503, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let state = prober.state("web-1").unwrap();
    assert_eq!((state.ready, state.failed), (false, None), "unready later is not a missed deadline");
    status.store(200, Ordering::SeqCst);
    eventually(SECOND, "ready again", || prober.state("web-1").unwrap().ready).await;
}

#[tokio::test]
async fn initial_delay_and_ready_for() {
    let server = TestServer::start(|_| Answer::Status(200)).await;
    let mut prober = Prober::new(Handle::current());
    let spec = ProbeSpec { initial_delay: Duration::from_millis(250), ..fast(1, 3) };
    prober.add("web-1", spec, server.addr).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(server.requests(), 0, "no probe during the initial delay");
    eventually(SECOND, "ready", || prober.ready_for("web-1").is_some()).await;
    let first = prober.ready_for("web-1").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(prober.ready_for("web-1").unwrap() >= first + Duration::from_millis(100));
    assert_eq!(prober.ready_for("unknown"), None);
}

#[tokio::test]
async fn many_targets_tcp_and_exec_side_by_side() {
    let up = TestServer::start(|_| Answer::Status(200)).await;
    let mut prober = Prober::new(Handle::current());
    let tcp = ProbeSpec { interval: Duration::from_millis(30), ..ProbeSpec::tcp() };
    prober.add("tcp-up", tcp.clone(), up.addr).unwrap();
    prober.add("tcp-down", ProbeSpec { failure_threshold: NonZeroU32::MIN, ..tcp }, support::refused_addr()).unwrap();
    let exec = ProbeSpec { interval: Duration::from_millis(30), ..ProbeSpec::exec(["sh", "-c", "exit 0"]) };
    prober.add("exec-up", exec, up.addr).unwrap();
    eventually(2 * SECOND, "both up targets ready", || {
        prober.state("tcp-up").unwrap().ready && prober.state("exec-up").unwrap().ready
    })
    .await;
    eventually(SECOND, "the down target probed", || prober.state("tcp-down").unwrap().consecutive_failures >= 2).await;
    assert!(!prober.state("tcp-down").unwrap().ready);
    assert_eq!(prober.ids(), ["exec-up", "tcp-down", "tcp-up"]);
}

#[tokio::test]
async fn remove_replace_and_drop_stop_the_probing() {
    let server = TestServer::start(|_| Answer::Status(200)).await;
    let mut prober = Prober::new(Handle::current());
    prober.add("web-1", fast(1, 3), server.addr).unwrap();
    eventually(SECOND, "ready", || prober.state("web-1").unwrap().ready).await;

    // Replacing resets health: a new spec with a long initial delay starts unready.
    let slow = ProbeSpec { initial_delay: Duration::from_secs(10), ..fast(1, 3) };
    prober.add("web-1", slow, server.addr).unwrap();
    let state = prober.state("web-1").unwrap();
    assert_eq!((state.ready, state.probes), (false, 0));
    let requests = server.requests();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.requests(), requests, "the replaced task stopped");

    assert!(prober.remove("web-1"));
    assert!(!prober.remove("web-1"));
    assert_eq!(prober.state("web-1"), None);

    prober.add("web-2", fast(1, 3), server.addr).unwrap();
    eventually(SECOND, "web-2 probed", || prober.state("web-2").unwrap().probes > 0).await;
    drop(prober);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let requests = server.requests();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.requests(), requests, "dropping the prober stops its tasks");
}

#[tokio::test]
async fn an_invalid_spec_is_refused_with_the_target_named() {
    let mut prober = Prober::new(Handle::current());
    let error = prober.add("db", ProbeSpec::exec(Vec::<String>::new()), support::refused_addr()).unwrap_err();
    assert_eq!((error.id.as_str(), &error.source), ("db", &SpecError::EmptyCommand));
    assert!(error.to_string().starts_with("cannot probe target `db`: exec probe has an empty `command`"), "{error}");
    assert!(prober.ids().is_empty());
}
