//! Spawns the real `hoist-demo` binary on a free loopback port and checks
//! each behaviour over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Demo {
    child: Child,
    addr: SocketAddr,
    spawned: Instant,
}

impl Demo {
    fn start(args: &[&str]) -> Demo {
        Demo::start_with_env(args, &[])
    }

    /// `--port 0`, then read the `listening on ADDR` line the service prints.
    fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Demo {
        let spawned = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hoist-demo"))
            .args(["--port", "0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Demo { addr: addr.parse().unwrap(), child, spawned }
    }

    fn get(&self, path: &str) -> (u16, String) {
        get(self.addr, path)
    }

    fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "hoist-demo did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A one-shot HTTP/1.1 GET with `Connection: close`.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status =
        response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("bad response {response:?}"));
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default();
    (status, body)
}

#[test]
fn root_reports_version_and_instance_and_version_route() {
    let demo = Demo::start(&["--version", "v42"]);
    let (status, body) = demo.get("/");
    assert_eq!(status, 200);
    assert_eq!(body, format!("{{\"version\":\"v42\",\"instance\":\"{}\"}}", demo.child.id()));
    assert_eq!(demo.get("/version"), (200, "{\"version\":\"v42\"}".to_string()));
    assert_eq!(demo.get("/healthz"), (200, "{\"status\":\"ready\"}".to_string()));
    assert_eq!(demo.get("/missing").0, 404);
}

#[test]
fn environment_configures_and_flags_win() {
    let env = [("DEMO_VERSION", "from-env"), ("PORT", "1"), ("DEMO_ERROR_RATE", "1")];
    let demo = Demo::start_with_env(&[], &env);
    assert_eq!(demo.get("/version").1, "{\"version\":\"from-env\"}");
    assert_eq!(demo.get("/").0, 500, "DEMO_ERROR_RATE=1 fails every request");
    let demo = Demo::start_with_env(&["--version", "from-flag", "--error-rate", "0"], &env);
    assert_eq!(demo.get("/version").1, "{\"version\":\"from-flag\"}");
    assert_eq!(demo.get("/").0, 200);
}

#[test]
fn error_rate_is_exact_over_100_requests() {
    let demo = Demo::start(&["--error-rate", "0.1"]);
    let failed: Vec<usize> = (1..=100).filter(|_| demo.get("/").0 == 500).collect();
    assert_eq!(failed, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    // Health and version requests do not advance the schedule.
    for _ in 0..5 {
        assert_eq!(demo.get("/healthz").0, 200);
        assert_eq!(demo.get("/version").0, 200);
    }
    let next: Vec<u16> = (0..10).map(|_| demo.get("/").0).collect();
    assert_eq!(next, [200, 200, 200, 200, 200, 200, 200, 200, 200, 500]);
}

#[test]
fn latency_delays_root_but_not_health() {
    let demo = Demo::start(&["--latency-ms", "300"]);
    let t = Instant::now();
    assert_eq!(demo.get("/").0, 200);
    assert!(t.elapsed() >= Duration::from_millis(300), "{:?}", t.elapsed());
    let t = Instant::now();
    assert_eq!(demo.get("/healthz").0, 200);
    assert!(t.elapsed() < Duration::from_millis(200), "{:?}", t.elapsed());
}

#[test]
fn not_ready_until_startup_then_failing_after() {
    let demo = Demo::start(&["--startup-ms", "600", "--fail-health-after-ms", "1200"]);
    assert_eq!(demo.get("/healthz"), (503, "{\"status\":\"starting\"}".to_string()));
    assert_eq!(demo.get("/").0, 200, "the app answers while health says starting");
    let ready_at = poll_until(&demo, 200);
    assert!(ready_at >= Duration::from_millis(600), "ready after only {ready_at:?}");
    let failing_at = poll_until(&demo, 503);
    assert!(failing_at >= Duration::from_millis(1200), "failing after only {failing_at:?}");
    assert_eq!(demo.get("/healthz").1, "{\"status\":\"failing\"}");
}

/// Poll `/healthz` every 10 ms until it answers `status`; time since spawn.
fn poll_until(demo: &Demo, status: u16) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(5);
    while demo.get("/healthz").0 != status {
        assert!(Instant::now() < deadline, "/healthz never answered {status}");
        std::thread::sleep(Duration::from_millis(10));
    }
    demo.spawned.elapsed()
}

#[test]
fn sigterm_stops_accepting_and_drains_an_in_flight_request() {
    let mut demo = Demo::start(&["--latency-ms", "1000"]);
    let addr = demo.addr;
    let in_flight = std::thread::spawn(move || get(addr, "/"));
    std::thread::sleep(Duration::from_millis(300));
    let term_sent = Instant::now();
    demo.terminate();

    // New connections are refused while the slow request is still running.
    let deadline = Instant::now() + Duration::from_millis(500);
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!in_flight.is_finished(), "the slow request should still be in flight");

    let (status, _) = in_flight.join().unwrap();
    assert_eq!(status, 200, "the in-flight request completes");
    let exit = demo.wait_exit(Duration::from_secs(5));
    assert!(exit.success(), "exit status {exit:?}");
    assert!(term_sent.elapsed() >= Duration::from_millis(500), "exited before the request could finish");
}

#[test]
fn sigterm_when_idle_exits_zero_at_once() {
    let mut demo = Demo::start(&[]);
    assert_eq!(demo.get("/").0, 200);
    demo.terminate();
    assert!(demo.wait_exit(Duration::from_secs(2)).success());
}

#[test]
fn check_health_exits_0_only_once_healthz_answers_200() {
    let demo = Demo::start(&["--startup-ms", "400"]);
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_hoist-demo"))
            .args(["--check-health", "--port", &demo.addr.port().to_string()])
            .output()
            .unwrap()
    };
    let starting = check();
    assert_eq!(starting.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&starting.stderr).contains("answered 503"));
    poll_until(&demo, 200);
    assert_eq!(check().status.code(), Some(0));
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(
        Command::new(env!("CARGO_BIN_EXE_hoist-demo"))
            .args(["--check-health", "--port", &nobody.to_string()])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn health_waits_for_every_required_dependency_by_name() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let target = format!("localhost:{port}");
    let demo = Demo::start(&["--require", &target]);
    std::thread::sleep(std::time::Duration::from_millis(600));
    let (status, body) = demo.get("/healthz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("waiting for a dependency") && body.contains(&target), "{body}");
    let _dependency = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (status, body) = demo.get("/healthz");
        if status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never healthy once the dependency listens: {body}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
