//! Command-line flags and their environment variables (a flag wins over its
//! variable, which wins over the default).

use std::time::Duration;

use clap::Parser;

/// Everything that shapes how the demo service behaves.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "hoist-demo",
    about = "Hoist's demo HTTP service: answers GET /, /healthz and /version (on 127.0.0.1 unless --host), \
             with injectable errors, latency, slow start and failing health",
    disable_version_flag = true
)]
pub struct Config {
    /// Port to listen on; 0 picks a free one, printed on stdout.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Address to listen on: 127.0.0.1 by default; 0.0.0.0 inside a container.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,

    /// Version label reported by `GET /` and `GET /version`.
    #[arg(long = "version", env = "DEMO_VERSION", default_value = "dev")]
    pub version: String,

    /// Fraction (0..=1) of `GET /` requests answered 500, spread evenly and
    /// deterministically: 0.1 fails exactly requests 10, 20, 30, …
    #[arg(long, env = "DEMO_ERROR_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub error_rate: f64,

    /// Delay added before answering `GET /` and `GET /version`.
    #[arg(long, env = "DEMO_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// `GET /healthz` answers 503 until this long after start.
    #[arg(long, env = "DEMO_STARTUP_MS", default_value_t = 0)]
    pub startup_ms: u64,

    /// `GET /healthz` answers 503 from this long after start onwards.
    #[arg(long, env = "DEMO_FAIL_HEALTH_AFTER_MS")]
    pub fail_health_after_ms: Option<u64>,

    /// Do not serve: ask the service on 127.0.0.1:PORT for `GET /healthz`
    /// and exit 0 if it answers 200, else 1. For a Docker HEALTHCHECK in an
    /// image with no shell or curl: `CMD ["/hoist-demo", "--check-health"]`.
    #[arg(long)]
    pub check_health: bool,

    /// Healthy only while a TCP connection to each HOST:PORT opens (by
    /// name, as a dependent service reaches its dependencies). Repeatable;
    /// the environment form is comma-separated.
    #[arg(long = "require", env = "DEMO_REQUIRE", value_delimiter = ',')]
    pub require: Vec<String>,

    /// A directory kept across restarts (a volume): each start adds one to
    /// the count in `DIR/starts`, reported by `GET /version`, so a test can
    /// tell that data outlived an instance.
    #[arg(long, env = "DEMO_DATA_DIR")]
    pub data_dir: Option<std::path::PathBuf>,

    /// On SIGTERM/SIGINT, wait at most this long for in-flight requests.
    #[arg(long, env = "DEMO_DRAIN_TIMEOUT_MS", default_value_t = 30_000)]
    pub drain_timeout_ms: u64,
}

impl Config {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }

    pub fn startup(&self) -> Duration {
        Duration::from_millis(self.startup_ms)
    }

    pub fn fail_health_after(&self) -> Option<Duration> {
        self.fail_health_after_ms.map(Duration::from_millis)
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.drain_timeout_ms)
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.trim().parse().map_err(|_| format!("`{text}` is not a number; use a fraction such as 0.1"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is outside 0..=1; use a fraction such as 0.1 for 10 %"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_rates_are_checked() {
        let c =
            Config::try_parse_from(["hoist-demo", "--port", "0", "--version", "v2", "--error-rate", "0.25"]).unwrap();
        assert_eq!((c.port, c.version.as_str(), c.error_rate), (0, "v2", 0.25));
        assert!(Config::try_parse_from(["hoist-demo", "--error-rate", "1.5"]).is_err());
        assert!(Config::try_parse_from(["hoist-demo", "--error-rate", "ten"]).is_err());
    }
}
