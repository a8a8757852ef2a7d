//! What the benchmark binaries share: the `name value unit` figure line,
//! quick mode, and a `hoist serve` deploying stacks (`stack_serve`).
//!
//! Quick mode (`HOIST_BENCH_QUICK=1`, set by `cargo xtask bench --quick`)
//! runs each benchmark once at a small size — few samples, replicas and
//! rounds, short windows — so CI proves every benchmark still runs. Its
//! figures are printed but mean little, and no benchmark asserts a goal.

pub mod stack_serve;

/// Whether `HOIST_BENCH_QUICK` asks for quick mode (set and not `0`).
pub fn quick() -> bool {
    std::env::var_os("HOIST_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `full` normally, `quick` in quick mode.
pub fn sized<T>(full: T, quick: T) -> T {
    if self::quick() { quick } else { full }
}

/// One figure, as the README quotes it.
pub fn figure(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.2} {unit}");
}
