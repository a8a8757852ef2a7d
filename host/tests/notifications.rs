//! Notifications end to end on real processes: `hoist serve` with webhook
//! subscriptions, `hoist deploy --wait` of the demo service (v1, v2, then
//! `hoist rollback --to r1`), and loopback
//! receivers that get the rollout events in order (Hoist's JSON and the
//! Slack format); a receiver that fails twice gets the notification on the
//! third attempt; a canary paused then aborted is `paused` then
//! `rolled-back` (phase aborted); a dead or silent receiver slows no rollout, and a
//! notification that never arrived is in `hoist log`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::guards::Processes;
use support::plane::{HOIST, Plane};
use support::wait::eventually;
use support::webhook::Receiver;

/// `rolling` on local processes, environment `test`, with `notify` tables.
fn registry(notify: &str) -> String {
    format!(
        r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
config = {{ stop-grace-ms = 1000 }}

[environments.test]
platform = "local-process"
strategy = "rolling"
{notify}"#
    )
}

/// `hoist deploy web --wait` of 2 demo instances; how long it took.
fn deploy(plane: &Plane, version: &str, marker: &str) -> Duration {
    let started = Instant::now();
    let tag = format!("{version}-{marker}");
    let (ok, out) = plane.hoist(&[
        "deploy",
        "web",
        "--env",
        "test",
        "--version",
        version,
        "--replicas",
        "2",
        "--probe-path",
        "/healthz",
        "--wait",
        "--",
        HOIST,
        "demo-service",
        "--version",
        &tag,
    ]);
    assert!(ok, "deploy {version}: {out}\n{}", plane.log());
    started.elapsed()
}

/// The rollouts of `web`, oldest first: (id, candidate).
fn rollouts(plane: &Plane) -> Vec<(String, String)> {
    let history = plane.json(&["history", "web", "--env", "test", "--output", "json"]);
    let mut all: Vec<(String, String)> = history["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r["candidate"].as_str().unwrap_or_default().to_owned()))
        .collect();
    all.sort_by_key(|(id, _)| id.trim_start_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().unwrap_or(0));
    all
}

#[test]
fn two_deploys_and_a_rollback_notify_started_and_completed_in_order_as_json_and_slack() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("notify{}", std::process::id());
    let _instances = Processes(marker.clone());
    let (json, slack) = (Receiver::start(&[]), Receiver::start(&[]));
    let notify = format!(
        "[environments.test.notify.ops]\nurl = \"{}\"\n\n[environments.test.notify.chat]\nurl-from = {{ env = \"HOIST_TEST_SLACK_URL\" }}\nformat = \"slack\"\nevents = [\"completed\"]\n",
        json.url()
    );
    std::fs::write(dir.path().join("registry.toml"), registry(&notify)).unwrap();
    let mut plane = Plane::restart_with_env(dir.path(), &[], &[("HOIST_TEST_SLACK_URL", &slack.url())]);
    deploy(&plane, "v1", &marker);
    deploy(&plane, "v2", &marker);
    let (ok, out) =
        plane.hoist(&["rollback", "web", "--env", "test", "--to", "r1", "--reason", "v2 is slow", "--wait"]);
    assert!(ok, "rollback --to r1: {out}");
    let rollouts = rollouts(&plane);
    assert_eq!(rollouts.len(), 3, "{rollouts:?}");
    let bodies = eventually(10, "6 JSON notifications", || {
        let bodies = json.bodies();
        (bodies.len() >= 6).then_some(bodies)
    });
    let seen: Vec<(&str, &str)> =
        bodies.iter().map(|b| (b["event"].as_str().unwrap(), b["rollout"].as_str().unwrap())).collect();
    let (r1, r2, r3) = (rollouts[0].0.as_str(), rollouts[1].0.as_str(), rollouts[2].0.as_str());
    assert_eq!(
        seen,
        [("started", r1), ("completed", r1), ("started", r2), ("completed", r2), ("started", r3), ("completed", r3)],
        "{bodies:#?}"
    );
    assert_eq!(rollouts[2].1, "r1", "the rollback's candidate is the kept revision");
    assert!(
        bodies[4]["reason"].as_str().unwrap().contains("rollback to r1")
            && bodies[4]["reason"].as_str().unwrap().contains("v2 is slow")
    );
    let each = [&rollouts[0], &rollouts[0], &rollouts[1], &rollouts[1], &rollouts[2], &rollouts[2]];
    for (body, (_, candidate)) in bodies.iter().zip(each) {
        assert_eq!(body["service"], "web", "{body}");
        assert_eq!(body["environment"], "test", "{body}");
        assert_eq!(body["revision"].as_str(), Some(candidate.as_str()), "{body}");
        assert!(body["at_ms"].as_u64().unwrap() > 1_600_000_000_000, "{body}");
        assert!(body["step"].as_u64().is_some(), "{body}");
    }
    assert_eq!(bodies[0]["phase"], "running");
    assert_eq!(bodies[1]["phase"], "completed");
    assert!(bodies.windows(2).all(|w| w[0]["at_ms"].as_u64() <= w[1]["at_ms"].as_u64()), "{bodies:#?}");
    assert!(json.received().iter().all(|r| r.path == "/hook"));
    // The Slack subscription asked for completions only, as `text`.
    let texts = eventually(10, "3 Slack notifications", || {
        let bodies = slack.bodies();
        (bodies.len() >= 3).then_some(bodies)
    });
    assert_eq!(texts.len(), 3, "{texts:?}");
    for (text, (id, candidate)) in texts.iter().zip(&rollouts) {
        let text = text["text"].as_str().unwrap_or_else(|| panic!("no `text`: {text}"));
        assert!(text.contains("web (test)") && text.contains(id) && text.contains(candidate), "{text}");
        assert!(text.contains("completed"), "{text}");
    }
    plane.stop_instances();
    plane.kill9();
}

#[test]
fn a_receiver_failing_twice_gets_the_notification_on_the_third_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("notifyretry{}", std::process::id());
    let _instances = Processes(marker.clone());
    let flaky = Receiver::start(&[500, 500]);
    let notify = format!("[environments.test.notify.flaky]\nurl = \"{}\"\nevents = [\"completed\"]\n", flaky.url());
    let mut plane = Plane::start(dir.path(), &registry(&notify));
    deploy(&plane, "v1", &marker);
    let got = eventually(10, "3 attempts", || {
        let got = flaky.received();
        (got.len() >= 3).then_some(got)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(flaky.received().len(), 3, "no attempt after the one that succeeded");
    assert!(got.iter().all(|r| r.body == got[0].body && r.body["event"] == "completed"), "{got:#?}");
    // 0.5 s, then 1 s of backoff between the attempts.
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(450) && gaps[1] >= Duration::from_millis(950), "{gaps:?}");
    let id = &rollouts(&plane)[0].0;
    assert!(!plane.log_of(id).contains("subscription `flaky`"), "a delivered notification is no failure");
    plane.stop_instances();
    plane.kill9();
}

#[test]
fn a_dead_or_silent_receiver_slows_no_rollout_and_its_failure_is_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("notifydead{}", std::process::id());
    let _instances = Processes(marker.clone());
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let silent = Receiver::silent();
    let notify = format!(
        "[environments.test.notify.dead]\nurl = \"http://127.0.0.1:{closed}/hook\"\n\n[environments.test.notify.silent]\nurl = \"{}\"\nevents = [\"started\", \"step\", \"completed\"]\n",
        silent.url()
    );
    // The same deploy with no subscription, for the normal time.
    let quiet_dir = tempfile::tempdir().unwrap();
    let mut quiet = Plane::start(quiet_dir.path(), &registry(""));
    let normal = deploy(&quiet, "v1", &format!("{marker}q"));
    quiet.stop_instances();
    quiet.kill9();
    let mut plane = Plane::start(dir.path(), &registry(&notify));
    let took = deploy(&plane, "v1", &marker);
    eprintln!("deploy --wait: {took:?} with a dead and a silent receiver, {normal:?} with none");
    // Each silent notification holds its queue for 3 × 5 s + 1.5 s.
    assert!(took < normal + Duration::from_secs(5), "{took:?} against {normal:?}");
    let id = rollouts(&plane)[0].0.clone();
    let log = eventually(15, "the failed notification in the log", || {
        let log = plane.log_of(&id);
        log.contains("subscription `dead`").then_some(log)
    });
    assert!(log.contains("notify") && log.contains("3 attempts failed") && log.contains("cannot connect"), "{log}");
    assert!(log.contains("`started`") && !log.contains("subscription `silent`"), "{log}");
    let json = plane.json(&["log", &id, "--output", "json"]);
    let records: Vec<&Value> = json.as_array().map(|a| a.iter().collect()).unwrap_or_default();
    assert!(records.iter().any(|r| r["kind"] == "notify" && r["input"]["subscription"] == "dead"), "{json}");
    assert!(!silent.received().is_empty(), "the silent receiver got its first request");
    plane.stop_instances();
    plane.kill9();
}

#[test]
fn a_paused_then_aborted_canary_notifies_paused_and_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("notifyabort{}", std::process::id());
    let _instances = Processes(marker.clone());
    let receiver = Receiver::start(&[]);
    let registry = format!(
        r#"version = 1
[plugins.canary]
kind = "strategy"
source = "builtin:canary"
config = {{ initial-weight = 30, step-weight = 30, max-weight = 60, step-duration-ms = 60000 }}

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]
config = {{ stop-grace-ms = 1000 }}

[environments.test]
platform = "local-process"
strategy = "canary"

[environments.test.notify.ops]
url = "{}"
"#,
        receiver.url()
    );
    let mut plane = Plane::start(dir.path(), &registry);
    let router = format!("127.0.0.1:{}", support::ports::free_port());
    let deploy = |version: &str, wait: bool| {
        let tag = format!("{version}-{marker}");
        let mut args = vec!["deploy", "web", "--env", "test", "--version", version, "--replicas", "2"];
        args.extend(["--probe-path", "/healthz", "--router", &router]);
        if wait {
            args.push("--wait");
        }
        args.extend(["--", HOIST, "demo-service", "--version", &tag]);
        let out = plane.output(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "deploy {version}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    deploy("v1", true);
    let out = deploy("v2", false);
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    eventually(30, "v2 started", || {
        receiver.bodies().iter().any(|b| b["event"] == "started" && b["rollout"] == id.as_str()).then_some(())
    });
    let (ok, out) = plane.hoist(&["pause", &id, "--reason", "looking at it"]);
    assert!(ok, "pause: {out}");
    eventually(10, "paused", || receiver.bodies().iter().any(|b| b["event"] == "paused").then_some(()));
    let (ok, out) = plane.hoist(&["abort", &id, "--reason", "not today"]);
    assert!(ok, "abort: {out}");
    let bodies = eventually(30, "rolled back", || {
        let bodies = receiver.bodies();
        bodies.iter().any(|b| b["event"] == "rolled-back").then_some(bodies)
    });
    let seen: Vec<&str> = bodies.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(seen, ["started", "completed", "started", "paused", "rolled-back"], "{bodies:#?}");
    let reason = bodies[3]["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("paused by ") && reason.ends_with(": looking at it"), "{}", bodies[3]);
    assert_eq!(bodies[4]["phase"], "aborted", "{}", bodies[4]);
    assert_eq!(bodies[4]["revision"], "r2", "{}", bodies[4]);
    plane.stop_instances();
    plane.kill9();
}
