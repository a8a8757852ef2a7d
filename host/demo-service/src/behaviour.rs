//! What the service answers, decided without any I/O: routes, the
//! deterministic error schedule, the health timeline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::requires::Requires;

/// Parts per million: the error rate as an integer, so the schedule is exact.
const PPM: u128 = 1_000_000;

/// The health the service reports at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    /// Started, but a required dependency cannot be reached.
    Waiting,
    Ready,
    Failing,
}

impl Health {
    fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Waiting => "waiting for a dependency",
            Health::Ready => "ready",
            Health::Failing => "failing",
        }
    }
}

/// One answer: status, JSON body, and how long to wait before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

/// The service's state: its configuration, start time and request counter.
#[derive(Debug)]
pub struct Behaviour {
    version: String,
    instance: String,
    error_ppm: u128,
    latency: Duration,
    startup: Duration,
    fail_health_after: Option<Duration>,
    started: Instant,
    root_requests: AtomicU64,
    requires: Requires,
    /// Starts counted in the data directory, when there is one.
    pub starts: Option<u64>,
}

impl Behaviour {
    #[cfg(test)]
    pub fn new(config: &Config, started: Instant) -> Self {
        Self::with_requires(config, started, Requires::default())
    }

    /// A service whose health also depends on what `requires` finds.
    pub fn with_requires(config: &Config, started: Instant, requires: Requires) -> Self {
        Behaviour {
            version: config.version.clone(),
            instance: std::process::id().to_string(),
            // The rate is checked to be within 0..=1, so this fits.
            error_ppm: (config.error_rate * PPM as f64).round() as u128,
            latency: config.latency(),
            startup: config.startup(),
            fail_health_after: config.fail_health_after(),
            started,
            root_requests: AtomicU64::new(0),
            requires,
            starts: None,
        }
    }

    /// The answer to `method path` at `now`. Only `GET /` counts towards the
    /// error schedule; `/healthz` is never delayed so probes see the truth.
    pub fn reply(&self, method: &str, path: &str, now: Instant) -> Reply {
        if method != "GET" && method != "HEAD" {
            return Reply { status: 405, body: error_body("use GET"), delay: Duration::ZERO };
        }
        match path {
            "/" => {
                let n = self.root_requests.fetch_add(1, Ordering::Relaxed) + 1;
                let status = if fails(n, self.error_ppm) { 500 } else { 200 };
                let body = format!(
                    "{{\"version\":{},\"instance\":\"{}\"{}}}",
                    json_string(&self.version),
                    self.instance,
                    if status == 500 { ",\"error\":\"injected failure\"" } else { "" }
                );
                Reply { status, body, delay: self.latency }
            }
            "/version" => Reply {
                status: 200,
                body: match self.starts {
                    Some(n) => format!("{{\"version\":{},\"starts\":{n}}}", json_string(&self.version)),
                    None => format!("{{\"version\":{}}}", json_string(&self.version)),
                },
                delay: self.latency,
            },
            "/healthz" => {
                let health = self.health(now);
                let status = if health == Health::Ready { 200 } else { 503 };
                let unmet = match (health, self.requires.unmet()) {
                    (Health::Waiting, Some(why)) => format!(",\"unmet\":{}", json_string(&why)),
                    _ => String::new(),
                };
                Reply { status, body: format!("{{\"status\":\"{}\"{unmet}}}", health.as_str()), delay: Duration::ZERO }
            }
            _ => {
                Reply { status: 404, body: error_body("not found; try /, /healthz or /version"), delay: Duration::ZERO }
            }
        }
    }

    /// Starting until `startup` has passed, failing from `fail_health_after`.
    pub fn health(&self, now: Instant) -> Health {
        let age = now.saturating_duration_since(self.started);
        if self.fail_health_after.is_some_and(|after| age >= after) {
            Health::Failing
        } else if age < self.startup {
            Health::Starting
        } else if self.requires.unmet().is_some() {
            Health::Waiting
        } else {
            Health::Ready
        }
    }
}

/// Request `n` (1-based) fails when it carries the running count of failures
/// past a whole number: exactly ⌊n·rate⌋ of the first n requests fail.
fn fails(n: u64, ppm: u128) -> bool {
    let n = u128::from(n);
    n * ppm / PPM > (n - 1) * ppm / PPM
}

fn error_body(message: &str) -> String {
    format!("{{\"error\":{}}}", json_string(message))
}

/// A JSON string literal, escaped by hand to keep the binary small.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn behaviour(args: &[&str]) -> (Behaviour, Instant) {
        let mut argv = vec!["hoist-demo"];
        argv.extend_from_slice(args);
        let now = Instant::now();
        (Behaviour::new(&Config::try_parse_from(argv).unwrap(), now), now)
    }

    #[test]
    fn error_schedule_is_exact_and_even() {
        for (rate, ppm) in [(0.0, 0), (0.1, 100_000), (0.25, 250_000), (1.0, 1_000_000)] {
            let failed: Vec<u64> = (1..=100).filter(|&n| fails(n, ppm)).collect();
            assert_eq!(failed.len() as f64, (100.0_f64 * rate).round(), "rate {rate}");
        }
        let tenth: Vec<u64> = (1..=30).filter(|&n| fails(n, 100_000)).collect();
        assert_eq!(tenth, [10, 20, 30]);
        assert_eq!((1..=3000).filter(|&n| fails(n, 333_333)).count(), 999);
    }

    #[test]
    fn health_follows_the_timeline() {
        let (b, t0) = behaviour(&["--startup-ms", "100", "--fail-health-after-ms", "300"]);
        assert_eq!(b.health(t0), Health::Starting);
        assert_eq!(b.health(t0 + Duration::from_millis(100)), Health::Ready);
        assert_eq!(b.health(t0 + Duration::from_millis(300)), Health::Failing);
        assert_eq!(b.reply("GET", "/healthz", t0).status, 503);
        assert_eq!(b.reply("GET", "/healthz", t0 + Duration::from_millis(150)).status, 200);
    }

    #[test]
    fn routes_and_escaping() {
        let (b, t0) = behaviour(&["--version", "v\"2", "--latency-ms", "7"]);
        let root = b.reply("GET", "/", t0);
        assert_eq!(root.status, 200);
        assert!(root.body.starts_with("{\"version\":\"v\\\"2\",\"instance\":\""), "{}", root.body);
        assert_eq!(root.delay, Duration::from_millis(7));
        assert_eq!(b.reply("GET", "/version", t0).body, "{\"version\":\"v\\\"2\"}");
        assert_eq!(b.reply("GET", "/healthz", t0).delay, Duration::ZERO);
        assert_eq!(b.reply("GET", "/nope", t0).status, 404);
        assert_eq!(b.reply("POST", "/", t0).status, 405);
    }
}
