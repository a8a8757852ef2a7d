//! `hoist-demo check` against the real service: exit 1 while it starts,
//! 0 once `/healthz` answers 200, 1 fast when nothing listens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const DEMO: &str = env!("CARGO_BIN_EXE_hoist-demo");

fn check(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(DEMO).arg("check").args(args).envs(env.iter().copied()).output().unwrap()
}

#[test]
fn check_fails_while_starting_then_passes() {
    let mut child = Command::new(DEMO)
        .args(["--port", "0", "--startup-ms", "700"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().rsplit(':').next().unwrap().to_string();

    let out = check(&["--port", &port], &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("answered 503"), "{out:?}");

    let deadline = Instant::now() + Duration::from_secs(5);
    // `PORT` is read like the service reads it.
    while !check(&[], &[("PORT", &port)]).status.success() {
        assert!(Instant::now() < deadline, "check never passed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = check(&["--port", &port, "--path", "/missing"], &[]);
    assert_eq!(out.status.code(), Some(1), "a 404 is not healthy: {out:?}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn check_with_nothing_listening_fails_fast() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let out = check(&["--port", &port.to_string()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(check(&["--bogus"], &[]).status.code(), Some(2), "a bad flag is a usage error");
}
