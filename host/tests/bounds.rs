//! `hoist serve` and the CLI against bad input and a hostile local client:
//! names that are not names, bodies before tokens, unknown fields, huge
//! cursors, a flood of idle connections, secrets in read answers, files at
//! rest, a lost store, routers on every interface, and files that are not
//! files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::plane::{HOIST, Plane, REGISTRY};

fn port(dir: &Path) -> u16 {
    let addr = std::fs::read_to_string(dir.join("state/serve.addr")).unwrap();
    addr.trim().rsplit(':').next().unwrap().parse().unwrap()
}

fn token(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("state/token")).unwrap().trim().to_string()
}

/// One HTTP/1.1 request: (status, body).
fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\n{auth}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

fn deploy_body(service: &str) -> String {
    serde_json::json!({
        "service": service, "environment": "test", "version": "v1",
        "spec": { "command": [HOIST, "demo-service"], "replicas": 1, "env": [["DB_PASSWORD", "hunter2"]] },
        "requested_by": "test"
    })
    .to_string()
}

#[test]
fn names_that_are_not_names_are_refused_by_the_api_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let plane = Plane::start(dir.path(), REGISTRY);
    let (port, token) = (port(dir.path()), token(dir.path()));
    let long = "a".repeat(10 * 1024);
    for bad in ["../../../x", "/tmp/abs", "a b", "a_b", "x\u{0}y", "🚀", long.as_str(), "Web"] {
        let (status, body) = http(port, "POST", "/v1/deploy", Some(&token), &deploy_body(bad));
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body.contains("invalid service name"), "{body}");
        assert!(body.len() < 600, "a 10 KB name is not echoed whole: {} bytes", body.len());
        if bad.contains('\0') {
            continue; // no command line carries a NUL; `%00` below
        }
        let (ok, out) = plane.hoist(&["status", bad, "--env", "test"]);
        assert!(!ok && out.contains("invalid service name"), "{bad:?}: {out}");
        let (ok, out) = plane.hoist(&["deploy", bad, "--env", "test", "--version", "v1", "--", HOIST, "demo-service"]);
        assert!(!ok && out.contains("invalid service name"), "{bad:?}: {out}");
    }
    // Raw paths: traversal and NUL never reach the store.
    for path in ["/v1/services/..%2F..%2Fx/test", "/v1/services/a%20b/test/history", "/v1/rollouts/%00/log"] {
        let (status, body) = http(port, "GET", path, Some(&token), "");
        assert_eq!(status, 400, "{path}: {body}");
    }
    let (ok, out) = plane.hoist(&["status", "%00", "--env", "test"]);
    assert!(!ok && out.contains("invalid service name `%00`"), "{out}");
    let (ok, out) = plane.hoist(&["log", "../x"]);
    assert!(!ok && out.contains("invalid rollout id"), "{out}");
    // Nothing was written outside the state directory's logs.
    assert!(!dir.path().join("x.test.r1.log").exists());
    assert!(!Path::new("/tmp/abs.test.r1.log").exists());
}

#[test]
fn the_token_is_checked_before_the_body_and_bodies_are_strict() {
    let dir = tempfile::tempdir().unwrap();
    let _plane = Plane::start(dir.path(), REGISTRY);
    let (port, token) = (port(dir.path()), token(dir.path()));
    let (status, _) = http(port, "POST", "/v1/deploy", None, "{ not json");
    assert_eq!(status, 401, "an unauthenticated caller learns nothing about the body");
    let (status, _) = http(port, "GET", "/v1/services/web/test", None, "");
    assert_eq!(status, 401, "reads need the token by default");
    let mut body: serde_json::Value = serde_json::from_str(&deploy_body("web")).unwrap();
    body["replicaz"] = 3.into();
    let (status, text) = http(port, "POST", "/v1/deploy", Some(&token), &body.to_string());
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("unknown field `replicaz`"), "{text}");
    let (status, text) = http(port, "GET", "/v1/rollouts/web.test.1/log?after=9223372036854775808", Some(&token), "");
    assert_eq!(status, 400, "{text}");
    let (status, text) = http(
        port,
        "POST",
        "/v1/deploy",
        Some(&token),
        &deploy_body("web").replace("\"replicas\":1", "\"replicas\":4294967295"),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("at most 1000"), "{text}");
    let (status, text) =
        http(port, "POST", "/v1/deploy", Some(&token), &deploy_body("web").replace("hunter2", "hun\\u0000ter2"));
    assert_eq!(status, 400, "an env value with NUL is refused, not retried: {text}");
    assert!(text.contains("`DB_PASSWORD` has an invalid value"), "{text}");
    let (status, text) = http(
        port,
        "POST",
        "/v1/deploy",
        Some(&token),
        &deploy_body("web").replace("\"command\":[", "\"router\":\"0.0.0.0:0\",\"command\":["),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("router-addresses"), "{text}");
}

#[test]
fn public_reads_are_redacted_and_state_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("registry.toml"), REGISTRY).unwrap();
    let mut plane = Plane::restart_with(dir.path(), &["--public-reads"]);
    let (port, token) = (port(dir.path()), token(dir.path()));
    let (status, text) = http(port, "POST", "/v1/deploy", Some(&token), &deploy_body("web"));
    assert_eq!(status, 201, "{text}");
    let (status, text) = http(port, "GET", "/v1/services/web/test/revisions", None, "");
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains("hunter2") && text.contains("DB_PASSWORD") && text.contains("redacted"), "{text}");
    let (_, text) = http(port, "GET", "/v1/services/web/test/revisions", Some(&token), "");
    assert!(text.contains("hunter2"), "the token reads values: {text}");

    let mode = |p: &str| std::fs::metadata(dir.path().join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("state"), 0o700);
    assert_eq!(mode("state/state.db"), 0o600);
    assert_eq!(mode("state/token"), 0o600);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("state/logs/web.test.r1.log").exists() {
        assert!(Instant::now() < deadline, "the instance's log appears");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(mode("state/logs"), 0o700);
    assert_eq!(mode("state/logs/web.test.r1.log"), 0o600);
    plane.stop_instances();
}

#[test]
fn a_flood_of_idle_connections_neither_exhausts_descriptors_nor_stays() {
    let dir = tempfile::tempdir().unwrap();
    let plane = Plane::start(dir.path(), REGISTRY);
    let port = port(dir.path());
    let idle: Vec<TcpStream> = (0..1000).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()).collect();
    std::thread::sleep(Duration::from_millis(500));
    let fds = std::fs::read_dir(format!("/proc/{}/fd", plane.pid())).unwrap().count();
    assert!(fds < 400, "the server holds {fds} descriptors for {} idle clients", idle.len());
    // Idle connections are dropped after the header timeout; the CLI works.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (ok, out) = plane.hoist(&["history", "web", "--env", "test"]);
        if out.contains("no service `web`") {
            assert!(!ok, "an unknown service is an error: {out}");
            break;
        }
        assert!(Instant::now() < deadline, "the API never answered again: {out}");
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(idle);
}

#[test]
fn a_lost_store_beside_running_instances_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("registry.toml"), REGISTRY).unwrap();
    std::fs::create_dir_all(dir.path().join("state/logs")).unwrap();
    std::fs::write(dir.path().join("state/logs/web.test.r1.log"), "hello\n").unwrap();
    std::fs::write(dir.path().join("state/state.db"), "").unwrap();
    let out = Command::new(HOIST)
        .args(["serve", "--registry"])
        .arg(dir.path().join("registry.toml"))
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("state.db is empty") && err.contains("hoist serve --init"), "{err}");

    std::fs::write(dir.path().join("state/processes.json"), "garbage").unwrap();
    std::fs::remove_file(dir.path().join("state/state.db")).unwrap();
    let out = Command::new(HOIST)
        .args(["serve", "--init", "--registry"])
        .arg(dir.path().join("registry.toml"))
        .arg("--state")
        .arg(dir.path().join("state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("processes.json: the process table cannot be read"),
        "a garbage table is not read as empty: {err}"
    );
}

#[test]
fn files_that_are_not_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("registry.toml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for (file, what) in
        [(fifo.to_str().unwrap(), "a FIFO"), ("/dev/zero", "a device"), ("/proc/self/environ", "kernel pseudo-file")]
    {
        for args in [vec!["registry", "check", file], vec!["plugins", "list", "--registry", file]] {
            let started = Instant::now();
            let out = Command::new(HOIST).args(&args).output().unwrap();
            assert!(started.elapsed() < Duration::from_secs(10), "{args:?} hung");
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(what) && err.contains("not a regular file"), "{args:?}: {err}");
        }
    }
    let compose = dir.path().join("compose.yml");
    std::fs::write(&compose, "services:\n  web:\n    image: x\n    env_file: /proc/self/environ\n").unwrap();
    let out = Command::new(HOIST).args(["stack", "import"]).arg(&compose).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a regular file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
