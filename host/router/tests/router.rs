//! The router against real backends and clients on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hoist_router::{METRICS_PATH, RevisionRoute, Router};
use http_body_util::Full;
use hyper::Request;
use support::{Backend, Client, LOOPBACK};

fn route(revision: &str, weight: u8, backends: &[&Backend]) -> RevisionRoute {
    RevisionRoute { revision: revision.into(), weight, backends: backends.iter().map(|b| b.addr).collect() }
}

fn router() -> Router {
    Router::bind(SocketAddr::from(LOOPBACK)).unwrap()
}

async fn tally(client: &mut Client, n: usize) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for _ in 0..n {
        let reply = client.get("/").await.unwrap();
        assert_eq!(reply.status, 200, "{reply:?}");
        *counts.entry(reply.body).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_split_is_exact_and_follows_table_swaps() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let router = router();
    router.set_table(vec![route("a", 90, &[&a]), route("b", 10, &[&b])]).unwrap();
    let mut client = Client::new(router.local_addr());
    let counts = tally(&mut client, 1000).await;
    assert_eq!((counts["a"], counts["b"]), (900, 100));

    router.set_table(vec![route("a", 30, &[&a]), route("b", 70, &[&b])]).unwrap();
    let counts = tally(&mut client, 1000).await;
    assert_eq!((counts["a"], counts["b"]), (300, 700));

    // A revision with weight but no instance gives its share away.
    router.set_table(vec![route("a", 30, &[]), route("b", 70, &[&b])]).unwrap();
    let counts = tally(&mut client, 100).await;
    assert_eq!(counts.get("a"), None);
    assert_eq!(counts["b"], 100);

    let stats = router.snapshot();
    assert_eq!(stats.revisions["a"].requests, 1200);
    assert_eq!(stats.revisions["b"].requests, 900);
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_failed_requests_while_weights_backends_and_instances_change() {
    let a1 = Backend::start("a").await;
    let a2 = Backend::start("a").await;
    let b1 = Backend::start("b").await;
    let b2 = Backend::start("b").await;
    let b3 = Backend::start("b").await;
    let b4 = Backend::start("b").await;
    let router = router();
    router.set_table(vec![route("a", 100, &[&a1, &a2]), route("b", 0, &[&b1, &b2])]).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (stop, ok, failures) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failures));
        let mut client = Client::new(router.local_addr());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match client.get("/").await {
                    Ok(reply) if reply.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    other => {
                        failures.lock().unwrap().push(format!("{other:?}"));
                        0
                    }
                };
            }
        }));
    }
    let phase = Duration::from_millis(350);
    tokio::time::sleep(phase).await;
    router.set_table(vec![route("a", 50, &[&a1, &a2]), route("b", 50, &[&b1, &b2])]).unwrap();
    tokio::time::sleep(phase).await;
    router.set_table(vec![route("a", 0, &[&a1, &a2]), route("b", 100, &[&b1, &b2])]).unwrap();
    tokio::time::sleep(phase).await;
    // A new backend set for b (a rolling restart), then the old one dies.
    router.set_table(vec![route("a", 0, &[&a1, &a2]), route("b", 100, &[&b3, &b4])]).unwrap();
    assert!(router.wait_drained("a", Duration::from_secs(2)).await);
    b1.kill().await;
    b2.kill().await;
    tokio::time::sleep(phase).await;
    // Back to a at 50/50; a1 dies while the table still names it.
    router.set_table(vec![route("a", 50, &[&a1, &a2]), route("b", 50, &[&b3, &b4])]).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    a1.kill().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    let failures = failures.lock().unwrap().clone();
    let ok = ok.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} failed of {}: {:?}",
        failures.len(),
        ok + failures.len() as u64,
        &failures[..failures.len().min(5)]
    );
    assert!(ok > 500, "too little load to prove anything: {ok} requests");
    let snap = router.snapshot();
    assert!(
        snap.revisions["a"].connection_errors > 0,
        "the dead a1 was never tried, so the retry was not exercised: {snap:?}"
    );
    assert_eq!(snap.revisions["a"].errors_5xx + snap.revisions["b"].errors_5xx, 0);
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_survive_a_swap_and_wait_drained_waits_for_them() {
    let (slow, fast) = (Backend::start("slow").await, Backend::start("fast").await);
    let router = router();
    router.set_table(vec![route("slow", 100, &[&slow]), route("fast", 0, &[&fast])]).unwrap();
    let addr = router.local_addr();
    let pending: Vec<_> = (0..5).map(|_| tokio::spawn(async move { Client::new(addr).get("/slow").await })).collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(router.in_flight("slow"), 5);

    router.set_table(vec![route("slow", 0, &[&slow]), route("fast", 100, &[&fast])]).unwrap();
    assert!(!router.drained("slow"), "5 requests are still in flight");
    let reply = Client::new(addr).get("/").await.unwrap();
    assert_eq!(reply.body, "fast", "new requests go to the new table");

    let started = Instant::now();
    assert!(router.wait_drained("slow", Duration::from_secs(5)).await);
    assert!(started.elapsed() >= Duration::from_millis(100), "returned before the slow requests finished");
    assert!(router.drained("slow") && router.in_flight("slow") == 0);
    assert!(!router.drained("fast"), "fast takes new requests");
    for p in pending {
        let reply = p.await.unwrap().unwrap();
        assert_eq!((reply.status, reply.body.as_str()), (200, "slow"));
    }
    router.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_drained_times_out_while_requests_are_in_flight() {
    let slow = Backend::start("slow").await;
    let router = router();
    router.set_table(vec![route("slow", 100, &[&slow])]).unwrap();
    let addr = router.local_addr();
    let pending = tokio::spawn(async move { Client::new(addr).get("/slow").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    router.set_table(vec![]).unwrap();
    assert!(!router.wait_drained("slow", Duration::from_millis(50)).await);
    assert_eq!(pending.await.unwrap().unwrap().status, 200);
    assert!(router.drained("slow"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_attribute_5xx_and_latency_to_the_right_revision() {
    let (good, bad) = (Backend::start("good").await, Backend::start("bad").await);
    let router = router();
    let before = router.snapshot();
    let mut client = Client::new(router.local_addr());
    router.set_table(vec![route("good", 100, &[&good])]).unwrap();
    for _ in 0..40 {
        assert_eq!(client.get("/").await.unwrap().status, 200);
    }
    router.set_table(vec![route("good", 0, &[&good]), route("bad", 100, &[&bad])]).unwrap();
    for _ in 0..40 {
        assert_eq!(client.get("/fail").await.unwrap().status, 500);
    }
    let window = router.snapshot().since(&before);
    let (g, b) = (window["good"], window["bad"]);
    assert_eq!((g.requests, g.errors_5xx, g.connection_errors), (40, 0, 0));
    assert_eq!((b.requests, b.errors_5xx), (40, 40));
    assert!(b.p50_ms >= 45.0 && b.p99_ms >= b.p50_ms, "bad sleeps 50 ms: {b:?}");
    assert!(g.p50_ms < b.p50_ms, "{g:?} vs {b:?}");

    let text = client.get(METRICS_PATH).await.unwrap();
    assert_eq!(text.status, 200);
    let samples = hoist_router::prometheus::check_text_format(&text.body).unwrap();
    assert!(samples > 10);
    for line in [
        "hoist_requests_total{revision=\"good\"} 40",
        "hoist_requests_total{revision=\"bad\"} 40",
        "hoist_responses_5xx_total{revision=\"bad\"} 40",
        "hoist_responses_5xx_total{revision=\"good\"} 0",
        "hoist_request_duration_seconds_count{revision=\"bad\"} 40",
        "hoist_request_duration_seconds_bucket{revision=\"bad\",le=\"+Inf\"} 40",
    ] {
        assert!(text.body.lines().any(|l| l == line), "missing `{line}` in:\n{}", text.body);
    }
    // Buckets are cumulative: never decreasing.
    let bad_buckets: Vec<u64> = text
        .body
        .lines()
        .filter(|l| l.starts_with("hoist_request_duration_seconds_bucket{revision=\"bad\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(bad_buckets.windows(2).all(|w| w[0] <= w[1]), "{bad_buckets:?}");
    assert!(router.prometheus().contains("# TYPE hoist_request_duration_seconds histogram"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_backend_is_a_503_with_a_reason() {
    let router = router();
    let mut client = Client::new(router.local_addr());
    let reply = client.get("/").await.unwrap();
    assert_eq!(reply.status, 503);
    assert!(reply.body.contains("no ready backend"), "{}", reply.body);

    router.set_table(vec![route("a", 100, &[])]).unwrap();
    assert_eq!(client.get("/").await.unwrap().status, 503);
    assert_eq!(router.snapshot().unroutable, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_backend_with_no_alternative_is_a_502() {
    let dead = Backend::start("dead").await;
    dead.kill().await;
    let router = router();
    router.set_table(vec![route("a", 100, &[&dead])]).unwrap();
    let reply = Client::new(router.local_addr()).get("/").await.unwrap();
    assert_eq!(reply.status, 502);
    assert!(reply.body.contains("could not connect"), "{}", reply.body);
    let snap = router.snapshot();
    assert_eq!((snap.revisions["a"].connection_errors, snap.revisions["a"].errors_5xx), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_method_query_body_and_headers() {
    let echo = Backend::start("echo").await;
    let router = router();
    router.set_table(vec![route("a", 100, &[&echo])]).unwrap();
    let mut client = Client::new(router.local_addr());
    let body = "x".repeat(200_000);
    let request = Request::post("/echo?q=1&r=two")
        .header("host", "svc")
        .header("connection", "x-hop")
        .header("x-hop", "secret")
        .header("keep-alive", "timeout=5")
        .header("x-forwarded-for", "10.1.2.3")
        .body(Full::new(Bytes::from(body.clone())))
        .unwrap();
    let reply = client.send(request).await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), body.len());
    let seen = |h: &str| reply.headers.get(h).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(seen("seen-query"), "q=1&r=two");
    assert_eq!(seen("seen-xff"), "10.1.2.3, 127.0.0.1");
    assert_eq!(seen("seen-x-hop"), "-", "headers named by Connection are hop-by-hop");
    assert_eq!(seen("seen-keep-alive"), "-");
    assert_eq!(seen("x-backend-hop"), "", "the backend's hop-by-hop headers stay on its hop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_then_stops_accepting() {
    let slow = Backend::start("slow").await;
    let router = router();
    router.set_table(vec![route("a", 100, &[&slow])]).unwrap();
    let addr = router.local_addr();
    let pending = tokio::spawn(async move { Client::new(addr).get("/slow").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    router.shutdown().await;
    assert_eq!(pending.await.unwrap().unwrap().body, "slow");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn bind_outside_a_runtime_is_an_error_not_a_panic() {
    assert!(matches!(Router::bind(SocketAddr::from(LOOPBACK)), Err(hoist_router::Error::NoRuntime)));
}
