//! Analysis templates end to end: `hoist serve` canaries Hoist's demo
//! service (local processes behind Hoist's router, under load) in an
//! environment whose `error-rate` template is a PromQL query over the
//! router's own `/_hoist/metrics`, scraped by a real Prometheus the test
//! starts (`support/prometheus.rs`). A bad version (half its answers 500)
//! is rolled back by the query, a good one promoted by the same query; with
//! Prometheus stopped mid-analysis, errors past `consecutive-error-limit`
//! make the analysis inconclusive and the rollout pauses, until Prometheus
//! is back and an operator resumes it. Fails, never skips, without
//! Prometheus.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use support::guards::Processes;
use support::load::Load;
use support::plane::{HOIST, Plane};
use support::ports::free_port;
use support::prometheus::{Prometheus, Target};
use support::wait::eventually;

/// The share of the candidate's answers that are 5xx over the interval.
const ERROR_RATE: &str = r#"sum(rate(hoist_responses_5xx_total{service="{{service}}",revision="{{revision}}"}[{{interval}}])) / sum(rate(hoist_requests_total{service="{{service}}",revision="{{revision}}"}[{{interval}}]))"#;

fn registry(prometheus: &Prometheus) -> String {
    format!(
        r#"version = 1
[plugins.canary]
kind = "strategy"
source = "builtin:canary"
config = {{ steps = [{{ set-weight = 50 }}, {{ analysis = {{ duration-ms = 11000 }} }}] }}

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]

[plugins.prometheus]
kind = "metrics-provider"
source = "builtin:prometheus"
capabilities = ["http"]
allow-hosts = ["127.0.0.1:{port}"]
config = {{ address = "{address}" }}

[environments.test]
platform = "local-process"
strategy = "canary"

[environments.test.analysis.error-rate]
provider = "prometheus"
query = '{ERROR_RATE}'
success = {{ max = 0.05 }}
interval = "3s"
count = 3
initial-delay = "2s"
failure-limit = 0
inconclusive-limit = 1
consecutive-error-limit = 1
no-data = "pause"
"#,
        port = prometheus.port,
        address = prometheus.address(),
    )
}

/// `hoist deploy web` of 3 demo instances answering 500 to `error_rate`
/// of their requests; the rollout's id.
fn deploy(plane: &Plane, version: &str, marker: &str, router: u16, error_rate: &str, wait: bool) -> String {
    let router = format!("127.0.0.1:{router}");
    let label = format!("{version}-{marker}");
    let mut args = vec!["deploy", "web", "--env", "test", "--version", version, "--replicas", "3"];
    args.extend(["--probe-path", "/healthz", "--router", &router, "--output", "json"]);
    if wait {
        args.push("--wait");
    }
    args.extend(["--", HOIST, "demo-service", "--version", &label, "--error-rate", error_rate]);
    let out = plane.output(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // `--wait` exits 1 unless the rollout completed; its last document says how it ended.
    let start = stdout
        .find('{')
        .unwrap_or_else(|| panic!("deploy {version}: {stdout}{}", String::from_utf8_lossy(&out.stderr)));
    let rollout: Value =
        serde_json::from_str(&stdout[start..]).unwrap_or_else(|e| panic!("deploy {version}: {e}: {stdout}"));
    rollout["id"].as_str().unwrap().to_string()
}

/// The rollout's decision log as JSON.
fn log(plane: &Plane, id: &str) -> Vec<Value> {
    let v = plane.json(&["log", id, "--output", "json"]);
    v.as_array().unwrap().clone()
}

fn measurements(plane: &Plane, id: &str) -> Vec<Value> {
    log(plane, id).into_iter().filter(|r| r["kind"] == "measure").collect()
}

#[test]
fn a_promql_error_rate_rolls_back_the_bad_canary_promotes_the_good_one_and_pauses_without_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("ap{}", std::process::id());
    let _instances = Processes(marker.clone());
    let router = free_port();
    let mut prometheus =
        Prometheus::start(&[Target { port: router, path: "/_hoist/metrics", labels: &[("service", "web")] }]);
    let plane = Plane::start(dir.path(), &registry(&prometheus));
    let (ok, out) = plane.hoist(&["registry", "check"]);
    assert!(ok && out.contains("1 analysis template"), "{out}");

    let v1 = deploy(&plane, "v1", &marker, router, "0", true);
    assert_eq!(plane.wait_ended("web", &v1, 60)["phase"], "completed");
    let load = Load::start(router, 3);

    // A bad build: the query sees half its answers fail, at the first measurement.
    let v2 = deploy(&plane, "v2", &marker, router, "0.5", true);
    let ended = plane.wait_ended("web", &v2, 120);
    assert_eq!(ended["phase"], "rolled-back", "{ended}\n{}", plane.log_of(&v2));
    let why = ended["reason"].as_str().unwrap();
    // The first failed measurement ends it; one before it may have found
    // no data yet (the candidate's series newly scraped), which
    // inconclusive-limit 1 tolerates.
    assert!(why.contains("metric error-rate: 1 of "), "{why}");
    assert!(why.contains("measurements failed (failure-limit 0)"), "{why}");
    assert!(why.contains("outside success range ≤ 0.05"), "{why}");
    let measured = measurements(&plane, &v2);
    let failed = measured.last().unwrap();
    assert!(measured.len() <= 2 && failed["output"]["verdict"] == "failed", "{measured:?}");
    let value = failed["output"]["value"].as_f64().unwrap();
    assert!((0.3..=0.7).contains(&value), "about half the candidate's answers were 500: {value}");
    assert_eq!(failed["plugin"], "prometheus");
    assert_eq!(failed["input"]["query"], ERROR_RATE);
    for m in &measured {
        println!("v2 (half 500s): {}", m["reason"].as_str().unwrap());
    }

    // A good build, judged by the same query: three successful measurements.
    let v3 = deploy(&plane, "v3", &marker, router, "0", true);
    let ended = plane.wait_ended("web", &v3, 120);
    assert_eq!(ended["phase"], "completed", "{ended}\n{}", plane.log_of(&v3));
    let passed = measurements(&plane, &v3);
    let verdicts: Vec<&str> = passed.iter().map(|m| m["output"]["verdict"].as_str().unwrap()).collect();
    assert!(verdicts.iter().filter(|v| **v == "successful").count() >= 2, "{verdicts:?}");
    assert!(passed.iter().any(|m| m["output"]["value"].as_f64() == Some(0.0)), "{passed:?}");
    for m in &passed {
        println!("v3 (good): {}", m["reason"].as_str().unwrap());
    }
    let text = plane.log_of(&v3);
    assert!(text.contains("measure") && text.contains(": 0 in success range ≤ 0.05 → successful"), "{text}");

    // Prometheus goes away mid-analysis: errors, then a paused rollout.
    let v4 = deploy(&plane, "v4", &marker, router, "0", false);
    eventually(60, "a first measurement of v4", || (!measurements(&plane, &v4).is_empty()).then_some(()));
    prometheus.stop();
    let status = eventually(60, "v4 to pause", || {
        let s = plane.status("web");
        (s["rollout"]["phase"] == "paused").then_some(s)
    });
    let paused = status["rollout"]["status"].as_str().unwrap();
    assert!(paused.contains("errors in a row (consecutive-error-limit 1)"), "{paused}");
    assert!(paused.contains("`hoist resume` measures again"), "{paused}");
    assert_eq!(status["analysis"]["state"], "paused", "{status}");
    let errors: Vec<Value> =
        measurements(&plane, &v4).into_iter().filter(|m| m["output"]["verdict"] == "error").collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0]["error"].as_str().unwrap().starts_with("unavailable:"), "{errors:?}");
    let (_, text) = plane.hoist(&["status", "web", "--env", "test"]);
    println!("v4 with Prometheus stopped, `hoist status web --env test`:\n{text}");
    assert!(text.contains("analysis  `step-2-run-1` paused: metric error-rate: 2 errors in a row"), "{text}");
    assert!(text.contains("error-rate inconclusive: 3/3 measured") && text.contains("2 errors)"), "{text}");

    // It is back: resume measures again, and the good build is promoted.
    prometheus.restart();
    let (ok, out) = plane.hoist(&["resume", &v4, "--reason", "prometheus is back"]);
    assert!(ok, "{out}");
    let ended = plane.wait_ended("web", &v4, 120);
    assert_eq!(ended["phase"], "completed", "{ended}\n{}", plane.log_of(&v4));
    let resumed = measurements(&plane, &v4);
    println!("v4 after resume: {}", resumed.last().unwrap()["reason"].as_str().unwrap());
    let (served, failures) = load.stop();
    assert!(served > 500, "too little load to judge: {served}");
    let not_500: Vec<&String> = failures.iter().filter(|f| !f.starts_with("500")).collect();
    assert!(not_500.is_empty(), "requests failed in the proxy: {:?}", &not_500[..not_500.len().min(5)]);
    println!("load: {served} answered 200, {} answered 500 by the bad build, none failed", failures.len());
}
