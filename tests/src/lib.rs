//! Shared helpers of the end-to-end tests: compiled plugin fixtures, a
//! runtime with an isolated cache, and realistic inputs.

pub mod native;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hoist::runtime::bindings::base::hoist::plugin::types::{Instance, InstanceState, Revision};
use hoist::runtime::bindings::strategy::exports::hoist::plugin::strategy::{Context, Observation};
use hoist::runtime::{CacheSetting, Capability, Limits, LoadError, Plugin, PluginKind, PluginSpec, Runtime};

/// Where the plugins workspace puts its components (built by the host's
/// build script, hostile fixtures included).
pub fn wasm_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/target/wasm32-wasip2/release")
}

/// The bytes of `plugins/target/.../NAME.wasm`.
pub fn wasm(name: &str) -> Arc<[u8]> {
    let path = wasm_dir().join(format!("{name}.wasm"));
    match std::fs::read(&path) {
        Ok(bytes) => bytes.into(),
        Err(err) => fail(&format!("fixture {} is missing ({err}); `cargo build -p hoist` builds it", path.display())),
    }
}

#[allow(clippy::panic)]
fn fail(message: &str) -> ! {
    panic!("{message}")
}

/// A runtime whose compile cache lives in a fresh temporary directory.
pub fn runtime(cache: &tempfile::TempDir) -> Runtime {
    match Runtime::new(CacheSetting::At(cache.path().to_path_buf())) {
        Ok(rt) => rt,
        Err(err) => fail(&format!("runtime: {err:#}")),
    }
}

/// A spec for a wasm file in the plugins workspace.
pub fn spec(name: &str, file: &str, kind: PluginKind, caps: &[Capability]) -> PluginSpec {
    PluginSpec {
        name: name.to_string(),
        kind,
        source_label: format!("{file}.wasm"),
        bytes: wasm(file),
        sha256: None,
        capabilities: caps.to_vec(),
        http: Default::default(),
        limits: Limits::default_for(kind),
        environment: None,
        registry: None,
    }
}

pub fn load(rt: &Runtime, spec: PluginSpec) -> Result<Plugin, LoadError> {
    rt.load(spec)
}

pub fn with_limits(mut spec: PluginSpec, memory: usize, time: Duration) -> PluginSpec {
    spec.limits = Limits { memory_bytes: memory as u64, time };
    spec
}

fn revision(id: &str, version: &str) -> Revision {
    Revision { id: id.into(), version: version.into(), extensions: vec![] }
}

/// A mid-rollout context: 10 replicas, the stable revision fully ready.
pub fn rolling_context(now_ms: u64) -> Context {
    Context {
        rollout_id: "web-r8".into(),
        service: "web".into(),
        environment: "production".into(),
        stable: Some(revision("r7", "web:1.4.2")),
        candidate: revision("r8", "web:1.5.0"),
        replicas: 10,
        config: r#"{"max-surge":"25%","max-unavailable":"25%","min-ready-ms":0}"#.into(),
        state: None,
        now_ms,
        started_at_ms: now_ms.saturating_sub(5_000),
        observed: Observation {
            instances: (0..10)
                .map(|i| Instance {
                    id: format!("web-r7-{i}"),
                    revision: "r7".into(),
                    address: Some(format!("127.0.0.1:{}", 9100 + i)),
                    state: InstanceState::Ready,
                    ready_for_ms: Some(60_000),
                    extensions: vec![],
                })
                .collect(),
            weights: vec![],
            analysis: None,
            command: None,
            extensions: vec![],
        },
        extensions: vec![],
    }
}

/// The repository's `examples/` directory.
pub fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A small deterministic generator for property tests (xorshift64*), so a
/// failing case is reproduced by its seed alone.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}
