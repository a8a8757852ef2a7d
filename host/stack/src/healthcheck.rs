//! A Compose healthcheck as a Hoist probe.
//!
//! Compose runs the check *inside* the container; Hoist probes from outside,
//! through the service's port. A check that is an HTTP GET of the service's
//! own port — `curl -f URL`, `wget URL`, `hoist-demo check` — becomes an
//! HTTP probe of the same path, which tests the same thing. Anything else
//! (`pg_isready`, `redis-cli ping`, a script) cannot be run from outside, so
//! it becomes a TCP probe of the port, and the note says that this is
//! weaker: it only shows that the port accepts connections (on Docker, the
//! engine's proxy may accept them before the service listens).
//!
//! Timings carry over: `interval`, `timeout`, `retries` (as the failure
//! threshold). `start_period` needs no counterpart: a Hoist probe starts not
//! ready and failures before the first success never count against it.

use std::num::NonZeroU32;
use std::time::Duration;

use hoist_probe::{ProbeSpec, StatusRange};

use crate::compose::Healthcheck;

/// The probe for a service whose healthcheck is `h` and whose port is
/// `port`, and a note for the user saying what it became.
pub fn translate(service: &str, h: &Healthcheck, port: u16) -> (ProbeSpec, String) {
    let shown = h.test.join(" ");
    let (mut probe, note) = match http_check(&h.test, port) {
        Some((path, expect)) => {
            let mut p = ProbeSpec::http(path.clone());
            if let hoist_probe::ProbeKind::Http { expect_status, .. } = &mut p.kind {
                *expect_status = expect;
            }
            (p, format!("service `{service}`: healthcheck `{shown}` becomes an HTTP probe of {path} on port {port}"))
        }
        None => (
            ProbeSpec::tcp(),
            format!(
                "service `{service}`: healthcheck `{shown}` runs inside the container, which Hoist does not do; it becomes a TCP probe of port {port}, \
                 which only shows the port accepts connections — for a real check give the service an HTTP health endpoint (`curl -f http://localhost:{port}/PATH`) or set `probe` in a stack TOML"
            ),
        ),
    };
    if h.interval_ms > 0 {
        probe.interval = Duration::from_millis(h.interval_ms);
    }
    if h.timeout_ms > 0 {
        probe.timeout = Duration::from_millis(h.timeout_ms);
    }
    if let Some(n) = NonZeroU32::new(h.retries) {
        probe.failure_threshold = n;
    }
    (probe, note)
}

/// The path (and accepted statuses) when `test` is an HTTP GET of
/// `http://localhost:PORT/...` on the service's own port.
fn http_check(test: &[String], port: u16) -> Option<(String, Option<StatusRange>)> {
    let words: Vec<String> = match test {
        [sh, c, script] if (sh == "sh" || sh == "/bin/sh") && c == "-c" => simple_shell(script)?,
        _ => test.to_vec(),
    };
    let program = words.first()?.rsplit('/').next()?.to_string();
    let args = &words[1..];
    match program.as_str() {
        "hoist-demo" => demo_check(args, port),
        "curl" => {
            let fails_on_error = args.iter().any(|a| {
                a == "--fail"
                    || a == "--fail-with-body"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('f'))
            });
            let not_get = args
                .iter()
                .any(|a| matches!(a.as_str(), "-X" | "--request" | "-d" | "--data" | "--data-raw" | "-F" | "--form"));
            if !fails_on_error || not_get {
                return None; // without -f, curl succeeds on a 500 too
            }
            Some((url_path(args, port)?, None))
        }
        // wget exits non-zero on 4xx and 5xx by default.
        "wget" => Some((url_path(args, port)?, None)),
        _ => None,
    }
}

/// `hoist-demo check [--port N] [--path P] [--host H]` (or `hoist-demo
/// --check-health`): 2xx only. Without
/// `--port` it checks `$PORT`, which Hoist's platforms set to the service's
/// port.
fn demo_check(args: &[String], port: u16) -> Option<(String, Option<StatusRange>)> {
    // `--check-health` is the same check as a flag: GET /healthz on $PORT.
    if args == ["--check-health"] {
        return Some(("/healthz".into(), StatusRange::new(200, 299).ok()));
    }
    if args.first().map(String::as_str) != Some("check") {
        return None;
    }
    let mut path = "/healthz".to_string();
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (flag.clone(), rest.next()?.clone()),
        };
        match name.as_str() {
            "--port" if value.parse::<u16>().ok()? == port => {}
            "--path" => path = value,
            "--host" if loopback(&value) => {}
            "--timeout-ms" => {}
            _ => return None,
        }
    }
    Some((path, StatusRange::new(200, 299).ok()))
}

/// The path of the first `http://` URL among `args`, if it names the
/// container itself on `port`.
fn url_path(args: &[String], port: u16) -> Option<String> {
    let url = args.iter().find(|a| a.starts_with("http://"))?;
    let rest = url.trim_start_matches("http://");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, url_port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') => (h, p.parse::<u16>().ok()?),
        _ => (authority, 80),
    };
    (loopback(host) && url_port == port).then_some(path)
}

fn loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0" | "[::1]" | "::1")
}

/// A `CMD-SHELL` line that is one command, optionally followed by
/// `|| exit 1`; anything more (pipes, `&&`, variables) is not translated.
fn simple_shell(script: &str) -> Option<Vec<String>> {
    let mut line = script.trim();
    for tail in ["|| exit 1", "||exit 1", "|| exit", "|| false"] {
        if let Some(head) = line.strip_suffix(tail) {
            line = head.trim_end();
            break;
        }
    }
    if line.contains(['|', '&', ';', '$', '`', '>', '<', '"', '\'']) {
        return None;
    }
    Some(line.split_whitespace().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hc(test: &[&str]) -> Healthcheck {
        Healthcheck {
            test: test.iter().map(|s| s.to_string()).collect(),
            interval_ms: 200,
            timeout_ms: 1_000,
            retries: 5,
            start_period_ms: 0,
        }
    }

    fn kind(test: &[&str], port: u16) -> String {
        let (p, _) = translate("api", &hc(test), port);
        match p.kind {
            hoist_probe::ProbeKind::Http { path, expect_status } => {
                format!("http {path}{}", expect_status.map(|e| format!(" {e}")).unwrap_or_default())
            }
            hoist_probe::ProbeKind::Tcp => "tcp".into(),
            hoist_probe::ProbeKind::Exec { .. } => "exec".into(),
        }
    }

    #[test]
    fn http_checks_of_the_own_port_become_http_probes() {
        assert_eq!(kind(&["/hoist-demo", "check"], 8080), "http /healthz 200-299");
        assert_eq!(kind(&["/hoist-demo", "--check-health"], 8080), "http /healthz 200-299");
        assert_eq!(kind(&["/hoist-demo", "check", "--port", "9000", "--path=/ready"], 9000), "http /ready 200-299");
        assert_eq!(kind(&["curl", "-f", "http://localhost:8080/healthz"], 8080), "http /healthz");
        assert_eq!(kind(&["curl", "-fsS", "http://127.0.0.1:8080/"], 8080), "http /");
        assert_eq!(kind(&["sh", "-c", "curl --fail http://localhost:3000/health || exit 1"], 3000), "http /health");
        assert_eq!(kind(&["wget", "-q", "--spider", "http://localhost/status"], 80), "http /status");
    }

    #[test]
    fn anything_else_is_a_tcp_probe_and_says_so() {
        // curl without -f succeeds on a 500; another port; another host; a pipeline.
        assert_eq!(kind(&["curl", "http://localhost:8080/healthz"], 8080), "tcp");
        assert_eq!(kind(&["curl", "-f", "http://localhost:9090/healthz"], 8080), "tcp");
        assert_eq!(kind(&["curl", "-f", "http://db:8080/healthz"], 8080), "tcp");
        assert_eq!(kind(&["curl", "-f", "-X", "POST", "http://localhost:8080/"], 8080), "tcp");
        assert_eq!(kind(&["sh", "-c", "curl -f http://localhost:8080/ | grep ok"], 8080), "tcp");
        assert_eq!(kind(&["/hoist-demo", "check", "--port", "1"], 8080), "tcp");
        let (_, note) = translate("db", &hc(&["pg_isready", "-U", "postgres"]), 5432);
        assert!(
            note.contains("TCP probe of port 5432") && note.contains("only shows the port accepts connections"),
            "{note}"
        );
    }

    #[test]
    fn timings_carry_over() {
        let (p, _) = translate("api", &hc(&["/hoist-demo", "check"]), 8080);
        assert_eq!(
            (p.interval, p.timeout, p.failure_threshold.get()),
            (Duration::from_millis(200), Duration::from_secs(1), 5)
        );
        assert!(p.validate().is_ok());
    }
}
