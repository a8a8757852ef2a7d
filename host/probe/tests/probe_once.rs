//! `probe_once` against real loopback servers and real processes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod support;

use std::time::Duration;

use hoist_probe::{ProbeKind, ProbeSpec, probe_once};
use support::{Answer, TestServer, refused_addr};

fn http_expecting(path: &str, range: &str) -> ProbeSpec {
    let kind = ProbeKind::Http { path: path.into(), expect_status: Some(range.parse().unwrap()) };
    ProbeSpec { kind, ..ProbeSpec::http("/") }
}

#[tokio::test]
async fn http_2xx_and_3xx_pass_others_fail() {
    for (status, ok) in [(200, true), (204, true), (302, true), (404, false), (503, false)] {
        let server = TestServer::start(move |_| Answer::Status(status)).await;
        let result = probe_once(&ProbeSpec::http("/healthz"), server.addr).await;
        assert_eq!(result.ok, ok, "{status}: {}", result.detail);
        assert!(
            result.detail.starts_with(&format!("HTTP {status} from GET http://{}/healthz", server.addr)),
            "{}",
            result.detail
        );
        if !ok {
            assert!(result.detail.ends_with("expected 2xx or 3xx"), "{}", result.detail);
        }
    }
}

#[tokio::test]
async fn http_expected_status_range_replaces_the_default() {
    let down = TestServer::start(|_| Answer::Status(503)).await;
    assert!(probe_once(&http_expecting("/", "500-599"), down.addr).await.ok);
    let up = TestServer::start(|_| Answer::Status(200)).await;
    let result = probe_once(&http_expecting("/", "204"), up.addr).await;
    assert!(!result.ok);
    assert!(result.detail.ends_with("expected 204"), "{}", result.detail);
}

#[tokio::test]
async fn http_times_out_on_a_silent_server() {
    let server = TestServer::start(|_| Answer::Hang).await;
    let spec = ProbeSpec { timeout: Duration::from_millis(200), ..ProbeSpec::http("/") };
    let result = probe_once(&spec, server.addr).await;
    assert!(!result.ok);
    assert_eq!(result.detail, "timed out after 200ms");
    assert!(
        result.elapsed >= Duration::from_millis(200) && result.elapsed < Duration::from_secs(1),
        "{:?}",
        result.elapsed
    );
}

#[tokio::test]
async fn http_refused_and_not_http_fail_with_reasons() {
    let addr = refused_addr();
    let result = probe_once(&ProbeSpec::http("/healthz"), addr).await;
    assert!(!result.ok);
    assert!(result.detail.starts_with(&format!("GET http://{addr}/healthz: connect:")), "{}", result.detail);

    let ssh = TestServer::start(|_| Answer::Garbage).await;
    let result = probe_once(&ProbeSpec::http("/"), ssh.addr).await;
    assert!(!result.ok);
    assert!(result.detail.contains("not an HTTP/1.x response"), "{}", result.detail);
}

#[tokio::test]
async fn tcp_accepted_and_refused() {
    let server = TestServer::start(|_| Answer::Status(200)).await;
    let result = probe_once(&ProbeSpec::tcp(), server.addr).await;
    assert!(result.ok, "{}", result.detail);
    let result = probe_once(&ProbeSpec::tcp(), refused_addr()).await;
    assert!(!result.ok);
    assert!(result.detail.contains("refused"), "{}", result.detail);
}

#[tokio::test]
async fn exec_exit_zero_passes_and_sees_the_target() {
    let addr = "127.0.0.1:4321".parse().unwrap();
    let spec = ProbeSpec::exec([
        "sh",
        "-c",
        r#"test "$HOIST_PROBE_ADDR" = 127.0.0.1:4321 && test "$HOIST_PROBE_PORT" = 4321"#,
    ]);
    let result = probe_once(&spec, addr).await;
    assert!(result.ok, "{}", result.detail);
}

#[tokio::test]
async fn exec_non_zero_fails_with_its_stderr() {
    let spec = ProbeSpec::exec(["sh", "-c", "echo 'db not reachable' >&2; exit 3"]);
    let result = probe_once(&spec, refused_addr()).await;
    assert!(!result.ok);
    assert_eq!(result.detail, "`sh` exited with exit status: 3: db not reachable");

    let result = probe_once(&ProbeSpec::exec(["/nonexistent/check"]), refused_addr()).await;
    assert!(!result.ok);
    assert!(result.detail.starts_with("cannot run `/nonexistent/check`"), "{}", result.detail);
}

#[tokio::test]
async fn exec_timeout_kills_the_command_and_its_children() {
    let dir = std::env::temp_dir().join(format!("hoist-probe-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pid_file = dir.join("grandchild.pid");
    let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
    let spec = ProbeSpec { timeout: Duration::from_millis(300), ..ProbeSpec::exec(["sh", "-c", &script]) };
    let result = probe_once(&spec, refused_addr()).await;
    assert!(!result.ok);
    assert_eq!(result.detail, "`sh` timed out after 300ms and was killed");
    assert!(result.elapsed < Duration::from_secs(2), "{:?}", result.elapsed);

    // The background `sleep` went with the group: gone, or a zombie awaiting its reaper.
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
    support::eventually(Duration::from_secs(2), "the grandchild is dead", || {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        }
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_invalid_spec_is_a_failed_probe() {
    let result = probe_once(&ProbeSpec::http("no-slash"), refused_addr()).await;
    assert!(!result.ok);
    assert!(result.detail.starts_with("invalid probe:"), "{}", result.detail);
}
