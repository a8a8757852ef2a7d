//! What an idle `hoist serve` costs: CPU (percent of one core) and resident
//! memory, with no service and with 20 services at rest (each one local
//! process of the demo service behind nothing), measured from
//! `/proc/PID/stat` and `/proc/PID/status` of the serving process alone
//! over `WINDOW` each.
//!
//! Usage: `serve-idle [WINDOW-SECS]` (default 60); `cargo xtask bench`
//! builds `hoist` in release first and runs it. Prints `name value unit`.
//! Quick mode (`HOIST_BENCH_QUICK=1`): 3 services, a 2 s window.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hoist_bench::{figure, sized};

fn main() -> anyhow::Result<()> {
    let services = sized(20, 3);
    let window = Duration::from_secs(std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(sized(60, 2)));
    // Start-up work (plugin compilation, first ticks) and deploys settle first.
    let settle = Duration::from_secs(sized(3, 1));
    let hoist = std::env::current_exe()?.with_file_name("hoist");
    if !hoist.is_file() {
        bail!("{} is missing; build it with `cargo build --release -p hoist`", hoist.display());
    }
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("registry.toml"), REGISTRY)?;
    let server = Server::start(&hoist, dir.path())?;
    std::thread::sleep(settle);
    let (cpu, rss) = measure(server.pid(), window)?;
    figure("serve_idle_cpu_percent_0_services", cpu, "%");
    figure("serve_idle_rss_mb_0_services", rss, "MB");

    for n in 0..services {
        let service = format!("idle-{n}");
        let out = Command::new(&hoist)
            .args(server.common())
            .args(["deploy", &service, "--env", "bench", "--version", "v1", "--replicas", "1", "--wait"])
            .args(["--", hoist.to_str().unwrap_or("hoist"), "demo-service", "--version", &service])
            .output()?;
        if !out.status.success() {
            bail!("deploy {service}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        }
    }
    std::thread::sleep(settle);
    let (cpu, rss) = measure(server.pid(), window)?;
    figure(&format!("serve_idle_cpu_percent_{services}_services"), cpu, "%");
    figure(&format!("serve_idle_rss_mb_{services}_services"), rss, "MB");
    Ok(())
}

const REGISTRY: &str = r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]

[environments.bench]
platform = "local-process"
strategy = "rolling"
"#;

/// CPU use of `pid` over `window` in percent of one core, and its RSS at
/// the end in MB.
fn measure(pid: u32, window: Duration) -> anyhow::Result<(f64, f64)> {
    let ticks = clock_ticks();
    let before = cpu_ticks(pid)?;
    let started = Instant::now();
    std::thread::sleep(window);
    let used = cpu_ticks(pid)?.saturating_sub(before) as f64 / ticks;
    let cpu = 100.0 * used / started.elapsed().as_secs_f64();
    Ok((cpu, rss_kb(pid)? as f64 / 1024.0))
}

/// `sysconf(_SC_CLK_TCK)`; 100 on every Linux this runs on.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// utime + stime of `pid` (and its threads), in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("malformed /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| -> anyhow::Result<u64> { Ok(fields.get(i).context("short /proc stat")?.parse()?) };
    Ok(field(11)? + field(12)?)
}

fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("malformed VmRSS")?.parse()?)
}

struct Server {
    child: Child,
    dir: PathBuf,
}

impl Server {
    fn start(hoist: &Path, dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        let child = Command::new(hoist)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(common(dir))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("serve.log"))?)
            .spawn()?;
        let server = Self { child, dir: dir.to_path_buf() };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dir.join("state/serve.addr").exists() {
            if Instant::now() > deadline {
                bail!(
                    "hoist serve did not start: {}",
                    std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn common(&self) -> Vec<String> {
        common(&self.dir)
    }
}

fn common(dir: &Path) -> Vec<String> {
    let d = |p: &str| dir.join(p).display().to_string();
    vec!["--registry".into(), d("registry.toml"), "--state".into(), d("state"), "--cache-dir".into(), d("cache")]
}

impl Drop for Server {
    fn drop(&mut self) {
        // `hoist serve` leaves the instances it runs when it stops (by
        // design: they keep serving); kill them, they are this run's alone.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(table) = std::fs::read_to_string(self.dir.join("state/processes.json"))
            && let Ok(serde_json::Value::Array(rows)) = serde_json::from_str(&table)
        {
            for row in rows {
                if let Some(pid) = row.get("pid").and_then(serde_json::Value::as_i64) {
                    // SAFETY: kill has no memory preconditions.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                }
            }
        }
    }
}
