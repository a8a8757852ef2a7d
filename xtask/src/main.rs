//! Project tasks: `cargo xtask test` (every test tier), `cargo xtask bench`
//! (the figures the README quotes; `--quick` runs each benchmark once,
//! small, so CI proves they still run), `cargo xtask plugins` (build the wasm
//! plugins alone), `cargo xtask images` (the demo service's container image).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    let root = root()?;
    match task.as_str() {
        "test" => test(&root),
        "bench" => bench(&root, std::env::args().skip(2).any(|a| a == "--quick")),
        "images" => images(&root),
        "plugins" => {
            cargo(&root, &["build", "--release", "--target", "wasm32-wasip2", "--manifest-path", "plugins/Cargo.toml"])
        }
        _ => bail!(
            "usage: cargo xtask <task>\n  test     run every test: host, registry, SDK, plugins (native), hostile suite, end-to-end\n  bench    build in release and print the benchmark figures; --quick: each once, small, in debug (CI)\n  plugins  build the wasm plugins (plugins/target/wasm32-wasip2/release)\n  images   build the demo service statically and `docker build` hoist-demo:e2e (no registry needed)"
        ),
    }
}

fn root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).context("xtask/ has no parent")
}

fn cargo(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("+ cargo {}", args.join(" "));
    let status = Command::new(cargo).args(args).current_dir(root).status()?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn test(root: &Path) -> anyhow::Result<()> {
    // Plugin logic, natively, with the SDK's harness (no wasm needed).
    cargo(root, &["test", "--manifest-path", "plugins/Cargo.toml"])?;
    // Every other tier in one build: host, registry, SDK, compiled plugins,
    // end to end on processes, and the Docker and Swarm tiers, which a
    // plain `cargo test` leaves `#[ignore]`d. Here they run, never skipped:
    // without a reachable engine they fail, saying so.
    cargo(root, &["test", "--workspace", "--", "--include-ignored"])
}

/// Every benchmark, in release. `quick`: each once at a small size, in the
/// debug profile (the test build's artifacts), so CI proves none has
/// rotted in minutes; its figures are printed, not goals. Every benchmark
/// runs even when one fails; any failure fails the task.
fn bench(root: &Path, quick: bool) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut build = vec!["build", "-p", "hoist", "-p", "hoist-bench", "-p", "hoist-router", "--examples", "--bins"];
    if !quick {
        build.insert(1, "--release");
    }
    cargo(root, &build)?;
    let bench = Bench { root, bin: root.join("target").join(if quick { "debug" } else { "release" }), quick };
    let mut failed = Vec::new();
    let mut check = |name: &str, result: anyhow::Result<()>| {
        if let Err(e) = result {
            eprintln!("error: {name}: {e:#}");
            failed.push(name.to_string());
        }
    };
    // Plugins and the engine.
    check("hoist-bench", bench.run("hoist-bench", &[]));
    // What an idle `hoist serve` costs, with 0 and 20 services at rest.
    check("serve-idle", bench.run("serve-idle", &[]));
    // The router against a direct connection, nginx and HAProxy (skipped
    // with a note when they are not installed).
    check("router-bench", bench.run("examples/router-bench", &[]));
    // A failing verdict to all traffic on the stable revision, live.
    check("hoist demo", bench.demo());
    // Rolling update and rollback of 10 replicas: Hoist on containers vs
    // `docker service update` on Swarm, on the local engine.
    let demo = static_demo(root).map(|path| path.display().to_string());
    check("docker-rollout", demo.and_then(|demo| bench.run("docker-rollout", &[demo.as_str()])));
    // The users' 9-service stack and a 30-service one on the same engine:
    // Hoist against its critical path and against Compose, from one
    // Compose file (the image needs `hoist-demo check`, so it is rebuilt
    // from this tree).
    let images = images(root);
    let built = || images.as_ref().copied().map_err(|e| anyhow::anyhow!("{e:#}"));
    check("stack-bench", built().and_then(|()| bench.run("stack-bench", &[])));
    // From an instance's death to a healthy replacement: Hoist against the
    // engine's `restart: always` and Swarm.
    check("heal-bench", built().and_then(|()| bench.run("heal-bench", &[])));
    eprintln!("benchmarks took {:.0} s", started.elapsed().as_secs_f64());
    if !failed.is_empty() {
        bail!("benchmarks failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Where the benchmark binaries are, and whether they run quick.
struct Bench<'a> {
    root: &'a Path,
    bin: PathBuf,
    quick: bool,
}

impl Bench<'_> {
    fn command(&self, name: &str) -> Command {
        let mut command = Command::new(self.bin.join(name));
        command.current_dir(self.root);
        if self.quick {
            command.env("HOIST_BENCH_QUICK", "1");
        }
        command
    }

    /// Runs benchmark `name` (a path under the profile's directory).
    fn run(&self, name: &str, args: &[&str]) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        eprintln!("+ {} {}", self.bin.join(name).display(), args.join(" "));
        let status = self.command(name).args(args).status().with_context(|| format!("running {name}"))?;
        eprintln!("  ({name}: {:.1} s)", started.elapsed().as_secs_f64());
        if !status.success() {
            bail!("{name} failed ({status})");
        }
        Ok(())
    }

    /// `hoist demo`, printing its verdict line.
    fn demo(&self) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        eprintln!("+ {} demo", self.bin.join("hoist").display());
        let out = self.command("hoist").arg("demo").output().context("running hoist demo")?;
        eprintln!("  (hoist demo: {:.1} s)", started.elapsed().as_secs_f64());
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!("hoist demo failed:\n{text}{}", String::from_utf8_lossy(&out.stderr));
        }
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("verdict_to_stable_traffic")).collect();
        if lines.is_empty() {
            bail!("hoist demo printed no `verdict_to_stable_traffic` line:\n{text}");
        }
        for line in lines {
            println!("{line}");
        }
        Ok(())
    }
}

/// The demo service as a static binary in a `FROM scratch` image tagged
/// `hoist-demo:e2e`, built locally: no registry is involved.
fn images(root: &Path) -> anyhow::Result<()> {
    let binary = static_demo(root)?;
    let context = root.join("target").join("docker-context");
    std::fs::create_dir_all(&context)?;
    std::fs::copy(&binary, context.join("hoist-demo")).with_context(|| format!("copying {}", binary.display()))?;
    let dockerfile = root.join("tests").join("docker").join("Dockerfile");
    eprintln!("+ docker build -t hoist-demo:e2e -f {} {}", dockerfile.display(), context.display());
    let status = Command::new("docker")
        .args(["build", "-q", "-t", "hoist-demo:e2e", "-f"])
        .arg(&dockerfile)
        .arg(&context)
        .status()
        .context("running `docker build` (is the docker CLI installed?)")?;
    if !status.success() {
        bail!("docker build failed ({status}); is the engine reachable?");
    }
    Ok(())
}

/// The demo service linked statically (it runs in `FROM scratch` images).
fn static_demo(root: &Path) -> anyhow::Result<PathBuf> {
    let target = "x86_64-unknown-linux-gnu";
    let cargo_bin = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "+ RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p hoist-demo-service --target {target}"
    );
    let status = Command::new(cargo_bin)
        .args(["build", "--release", "-p", "hoist-demo-service", "--target", target])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("building the static demo service failed ({status})");
    }
    Ok(root.join("target").join(target).join("release").join("hoist-demo"))
}
