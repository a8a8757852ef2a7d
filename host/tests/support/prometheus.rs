//! A real Prometheus (Debian's `prometheus` package, or `HOIST_PROMETHEUS`)
//! on a free loopback port, scraping loopback targets every second; killed
//! and reaped on drop. It can be stopped and started again on the same
//! port and data, as a metrics server that goes away mid-analysis does.
//! Fails, never skips, when Prometheus cannot be started.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ports::free_port;

/// One scrape target: `127.0.0.1:port` at `path`, with static labels.
pub struct Target<'a> {
    pub port: u16,
    pub path: &'a str,
    pub labels: &'a [(&'a str, &'a str)],
}

pub struct Prometheus {
    child: Option<Child>,
    pub port: u16,
    config: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` every second; waits until it
    /// is ready.
    pub fn start(targets: &[Target<'_>]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        let mut yaml = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n");
        for (i, t) in targets.iter().enumerate() {
            // The first job is `hoist-test`, the others `hoist-test-N`.
            let job = if i == 0 { "hoist-test".to_string() } else { format!("hoist-test-{i}") };
            yaml.push_str(&format!(
                "  - job_name: {job}\n    metrics_path: {}\n    static_configs:\n      - targets: [\"127.0.0.1:{}\"]\n",
                t.path, t.port
            ));
            if !t.labels.is_empty() {
                yaml.push_str("        labels:\n");
                for (k, v) in t.labels {
                    yaml.push_str(&format!("          {k}: \"{v}\"\n"));
                }
            }
        }
        std::fs::write(&config, yaml).unwrap();
        let mut prometheus = Self { child: None, port: free_port(), config, dir };
        prometheus.restart();
        prometheus
    }

    /// The server's address, as a provider's config writes it.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and reaps it: the metrics system is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on its port and data; waits until ready.
    pub fn restart(&mut self) {
        self.stop();
        let binary = std::env::var("HOIST_PROMETHEUS").unwrap_or_else(|_| "prometheus".into());
        let log = self.dir.path().join("prometheus.log");
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", self.config.display()))
            .arg(format!("--storage.tsdb.path={}", self.dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{binary}` ({e}): these tests need a real Prometheus; \
                     install it (`apt-get install -y prometheus`, as .ci/run does) or set HOIST_PROMETHEUS to its path"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while super::http::get_path(self.port, "/-/ready").map(|(s, _)| s) != Ok(200) {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("prometheus exited at start ({status}):\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "prometheus on 127.0.0.1:{} was not ready within 30 s", self.port);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
