//! Throughput and p99 latency: direct to a backend, through hoist-router, and
//! through nginx and HAProxy proxying to the same backend, all under the same
//! load (wrk if installed, else a built-in keep-alive load generator).
//! Everything listens on 127.0.0.1. Prints `name value unit` lines.
//!
//!     cargo run --release -p hoist-router --example bench
//!
//! Environment: BENCH_SECONDS (default 6 per target; 1 in quick mode,
//! `HOIST_BENCH_QUICK=1`), BENCH_CONNECTIONS (default 32),
//! BENCH_PROXY_THREADS (default 1: router worker threads, nginx worker
//! processes, HAProxy threads).

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hoist_router::{RevisionRoute, Router};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

struct Figures {
    req_per_s: f64,
    p99_ms: f64,
}

fn main() -> Result<()> {
    let quick = std::env::var_os("HOIST_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
    let seconds: u64 = env_or("BENCH_SECONDS", if quick { 1 } else { 6 });
    let connections: u64 = env_or("BENCH_CONNECTIONS", 32);
    let proxy_threads: usize = env_or("BENCH_PROXY_THREADS", 1);
    let tool = if on_path("wrk") { Tool::Wrk } else { Tool::Builtin };
    println!(
        "# load: {} with {connections} keep-alive connections, {seconds} s per target after a 1 s warm-up",
        tool.name()
    );
    println!("# proxies: {proxy_threads} thread(s)/worker(s) each; backend: hyper, 1 thread, 200 \"ok\"");

    let backend_rt = runtime(1)?;
    let backend = backend_rt.block_on(start_backend())?;
    let router_rt = runtime(proxy_threads)?;
    let router = router_rt.block_on(async {
        let router = Router::bind(SocketAddr::from(LOOPBACK))?;
        router.set_table(vec![RevisionRoute { revision: "r1".into(), weight: 100, backends: vec![backend] }])?;
        anyhow::Ok(router)
    })?;

    let mut results: Vec<(&str, Figures)> = Vec::new();
    let direct = tool.run(backend, connections, seconds)?;
    report("direct", &direct);
    results.push(("direct", direct));
    let through_router = tool.run(router.local_addr(), connections, seconds)?;
    report("router", &through_router);
    results.push(("router", through_router));

    let scratch = std::env::temp_dir().join(format!("hoist-router-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    for (name, start) in [("nginx", start_nginx as ProxyStart), ("haproxy", start_haproxy as ProxyStart)] {
        if !on_path(name) {
            println!("# {name}: comparison skipped: `{name}` is not installed (apt-get install -y {name})");
            continue;
        }
        let port = free_port()?;
        let mut child = match start(&scratch, port, backend, proxy_threads) {
            Ok(child) => child,
            Err(e) => {
                println!("# {name}: comparison skipped: could not start it: {e:#}");
                continue;
            }
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let figures = wait_listening(addr).and_then(|()| tool.run(addr, connections, seconds));
        let _ = child.kill();
        let _ = child.wait();
        match figures {
            Ok(f) => {
                report(name, &f);
                results.push((name, f));
            }
            Err(e) => println!("# {name}: comparison skipped: {e:#}"),
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);

    let find = |n: &str| results.iter().find(|(name, _)| *name == n).map(|(_, f)| f);
    if let Some(r) = find("router") {
        for other in ["nginx", "haproxy", "direct"] {
            if let Some(o) = find(other) {
                println!("router_over_{other}_throughput {:.2} ratio", r.req_per_s / o.req_per_s);
            }
        }
    }
    router_rt.block_on(router.shutdown());
    Ok(())
}

fn report(name: &str, f: &Figures) {
    println!("{name}_throughput {:.0} req/s", f.req_per_s);
    println!("{name}_p99 {:.3} ms", f.p99_ms);
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(threads.max(1)).enable_all().build()?)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]).any(|dir| dir.join(program).is_file())
    })
}

fn free_port() -> Result<u16> {
    Ok(StdListener::bind(SocketAddr::from(LOOPBACK))?.local_addr()?.port())
}

fn wait_listening(addr: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("nothing listening on {addr} after 5 s")
}

async fn start_backend() -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(LOOPBACK)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let service =
                service_fn(|_req| async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok")))) });
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    Ok(addr)
}

type ProxyStart = fn(&Path, u16, SocketAddr, usize) -> Result<Child>;

fn start_nginx(scratch: &Path, port: u16, backend: SocketAddr, workers: usize) -> Result<Child> {
    let dir = scratch.join("nginx");
    std::fs::create_dir_all(&dir)?;
    let d = dir.display();
    // One process per worker needs a master; with one worker, run it as the
    // only process so killing our child stops everything.
    let (master, workers_line) =
        if workers <= 1 { ("off", String::new()) } else { ("on", format!("worker_processes {workers};")) };
    let conf = format!(
        "daemon off; master_process {master}; {workers_line}
pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  upstream backend {{ server {backend}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
}}
"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf)?;
    Command::new("nginx")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("spawn nginx")
}

fn start_haproxy(scratch: &Path, port: u16, backend: SocketAddr, threads: usize) -> Result<Child> {
    let path = scratch.join("haproxy.cfg");
    let conf = format!(
        "global
  nbthread {threads}
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option forwardfor
  http-reuse always
frontend front
  bind 127.0.0.1:{port}
  default_backend back
backend back
  server s1 {backend}
",
        threads = threads.max(1)
    );
    std::fs::write(&path, conf)?;
    Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("spawn haproxy")
}

enum Tool {
    Wrk,
    Builtin,
}

impl Tool {
    fn name(&self) -> &'static str {
        match self {
            Tool::Wrk => "wrk -t1",
            Tool::Builtin => "built-in load generator (wrk not installed)",
        }
    }

    fn run(&self, addr: SocketAddr, connections: u64, seconds: u64) -> Result<Figures> {
        match self {
            Tool::Wrk => {
                wrk(addr, connections, 1)?;
                wrk(addr, connections, seconds)
            }
            Tool::Builtin => {
                let rt = runtime(1)?;
                rt.block_on(builtin(addr, connections, 1))?;
                rt.block_on(builtin(addr, connections, seconds))
            }
        }
    }
}

fn wrk(addr: SocketAddr, connections: u64, seconds: u64) -> Result<Figures> {
    let out = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", &format!("http://{addr}/")])
        .output()
        .context("run wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        bail!("wrk saw errors against {addr}:\n{text}");
    }
    let req_per_s = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no Requests/sec in wrk output:\n{text}"))?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .with_context(|| format!("no 99% line in wrk output:\n{text}"))?;
    Ok(Figures { req_per_s, p99_ms: wrk_duration_ms(p99).with_context(|| format!("bad duration `{p99}`"))? })
}

fn wrk_duration_ms(s: &str) -> Option<f64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1e3,
        "ms" => n,
        "s" => n * 1e3,
        "m" => n * 60e3,
        _ => return None,
    })
}

/// `connections` keep-alive connections, each sending GETs back to back.
async fn builtin(addr: SocketAddr, connections: u64, seconds: u64) -> Result<Figures> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                sender.ready().await?;
                let response = sender
                    .send_request(Request::get("/").header("host", "bench").body(Full::<Bytes>::default())?)
                    .await?;
                let ok = response.status().is_success();
                response.into_body().collect().await?;
                if !ok {
                    bail!("non-2xx from {addr}");
                }
                latencies.push(started.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    let p99 = all.get(all.len().saturating_mul(99) / 100).copied().unwrap_or_default();
    Ok(Figures { req_per_s: all.len() as f64 / seconds as f64, p99_ms: p99.as_secs_f64() * 1e3 })
}
