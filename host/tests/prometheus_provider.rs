//! The builtin `prometheus` metric provider against a real Prometheus
//! (Debian's `prometheus` package; `.ci/run` installs it) started by the
//! test (`support/prometheus.rs`), scraping a loopback `/metrics` endpoint the test serves: instant
//! and range queries with placeholders give the served values, several
//! series come back labelled, an empty result is `no-data`, NaN and +Inf
//! are typed, bad PromQL is `invalid-query`, an unlisted server `denied`.
//! Fails, never skips, when Prometheus cannot be started.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use hoist::capabilities::http::HttpGrant;
use hoist::runtime::bindings::base::hoist::plugin::types::Revision;
use hoist::runtime::provider::{MetricError, MetricQuery, SampleValue, Series};
use hoist::runtime::{CacheSetting, Capability, Limits, Plugin, PluginKind, PluginSpec, Runtime};
use support::prometheus::{Prometheus, Target};

const METRICS: &str = "\
# TYPE hoist_test_requests gauge
hoist_test_requests{service=\"web\",environment=\"test\",revision=\"r1\"} 7
hoist_test_requests{service=\"web\",environment=\"test\",revision=\"r2\"} 42
# TYPE hoist_test_ratio gauge
hoist_test_ratio{service=\"web\"} NaN
# TYPE hoist_test_ceiling gauge
hoist_test_ceiling{service=\"web\"} +Inf
";

fn provider(dir: &tempfile::TempDir, prometheus: u16) -> Plugin {
    let runtime = Runtime::new(CacheSetting::At(dir.path().to_path_buf())).unwrap();
    let builtin = hoist::builtins::find("prometheus").expect("the prometheus builtin");
    assert_eq!(builtin.kind, PluginKind::MetricsProvider);
    let spec = PluginSpec {
        name: "prometheus".into(),
        kind: PluginKind::MetricsProvider,
        source_label: "builtin:prometheus".into(),
        bytes: Arc::from(builtin.bytes),
        sha256: None,
        capabilities: vec![Capability::Http],
        http: HttpGrant { allow_hosts: vec![format!("127.0.0.1:{prometheus}")], credentials: vec![] },
        limits: Limits::default_for(PluginKind::MetricsProvider),
        environment: None,
        registry: None,
    };
    runtime.load(spec).unwrap_or_else(|e| panic!("load: {e}"))
}

fn revision(id: &str) -> Revision {
    Revision { id: id.into(), version: format!("v-{id}"), extensions: vec![] }
}

fn query(port: u16, text: &str) -> MetricQuery {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    MetricQuery {
        metric: "requests".into(),
        service: "web".into(),
        environment: "test".into(),
        stable: Some(revision("r1")),
        candidate: revision("r2"),
        revision: "r2".into(),
        query: text.into(),
        end_ms: now,
        window_ms: 5_000,
        step_ms: None,
        variables: vec![("job".into(), "hoist-test".into())],
        config: format!(r#"{{"address":"http://127.0.0.1:{port}"}}"#),
        extensions: vec![],
    }
}

async fn ask(plugin: &Plugin, q: &MetricQuery) -> Result<Vec<Series>, MetricError> {
    plugin.query_metrics(q).await.unwrap_or_else(|f| panic!("call fault: {f:?}")).value
}

fn value(series: &[Series]) -> SampleValue {
    assert_eq!(series.len(), 1, "{series:?}");
    series[0].samples.last().unwrap().value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_a_real_prometheus() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().port();
    let app = Router::new().route("/metrics", get(|| async { METRICS }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let prometheus = Prometheus::start(&[Target { port: target, path: "/metrics", labels: &[] }]);
    let cache = tempfile::tempdir().unwrap();
    let plugin = provider(&cache, prometheus.port);
    let port = prometheus.port;

    // The first scrape lands within a second or two; until then, no data.
    let candidate = r#"hoist_test_requests{job="{{job}}",service="{{service}}",environment="{{environment}}",revision="{{revision}}"}"#;
    let deadline = Instant::now() + Duration::from_secs(30);
    let series = loop {
        match ask(&plugin, &query(port, candidate)).await {
            Ok(series) => break series,
            Err(MetricError::NoData(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(300)).await
            }
            Err(other) => panic!("prometheus gave no sample within 30 s: {other:?}"),
        }
    };
    assert_eq!(value(&series), SampleValue::Number(42.0));
    assert!(series[0].labels.contains(&("revision".into(), "r2".into())), "{:?}", series[0].labels);

    let stable = r#"hoist_test_requests{service="{{service}}",revision="{{stable}}"}"#;
    assert_eq!(value(&ask(&plugin, &query(port, stable)).await.unwrap()), SampleValue::Number(7.0));
    let total = r#"sum(max_over_time(hoist_test_requests{service="{{service}}"}[{{interval}}]))"#;
    assert_eq!(value(&ask(&plugin, &query(port, total)).await.unwrap()), SampleValue::Number(49.0));

    // Several series, each with its labels: the caller chooses, nothing is dropped.
    let both = ask(&plugin, &query(port, r#"hoist_test_requests{service="{{service}}"}"#)).await.unwrap();
    let mut revisions: Vec<String> =
        both.iter().map(|s| s.labels.iter().find(|(k, _)| k == "revision").unwrap().1.clone()).collect();
    revisions.sort();
    assert_eq!(revisions, ["r1", "r2"]);

    let empty = ask(&plugin, &query(port, r#"hoist_test_requests{service="nope"}"#)).await;
    assert!(matches!(&empty, Err(MetricError::NoData(m)) if m.contains("matched no series")), "{empty:?}");
    assert_eq!(value(&ask(&plugin, &query(port, "hoist_test_ratio")).await.unwrap()), SampleValue::Nan);
    assert_eq!(value(&ask(&plugin, &query(port, "hoist_test_ceiling")).await.unwrap()), SampleValue::PositiveInfinity);

    // A range query over the window, one sample per step.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut range = query(port, candidate);
    range.step_ms = Some(1_000);
    let series = ask(&plugin, &range).await.unwrap();
    assert!(series[0].samples.len() >= 2, "{series:?}");
    assert!(series[0].samples.iter().all(|s| s.value == SampleValue::Number(42.0)));

    let bad = ask(&plugin, &query(port, "sum(")).await;
    assert!(matches!(&bad, Err(MetricError::InvalidQuery(m)) if m.contains("bad_data")), "{bad:?}");
    let unknown = ask(&plugin, &query(port, "up{job=\"{{team}}\"}")).await;
    assert!(matches!(&unknown, Err(MetricError::InvalidQuery(m)) if m.contains("`{{team}}`")), "{unknown:?}");

    // A server outside `allow-hosts` is refused by the host, named.
    let mut elsewhere = query(port, "up");
    elsewhere.config = format!(r#"{{"address":"http://127.0.0.1:{target}"}}"#);
    let denied = ask(&plugin, &elsewhere).await;
    assert!(
        matches!(&denied, Err(MetricError::InvalidConfig(m)) if m.contains(&format!("127.0.0.1:{target}")) && m.contains("allow-hosts")),
        "{denied:?}"
    );
}
