//! On-disk cache of compiled plugins, keyed by the plugin's sha256 and the
//! engine's compatibility hash, so a warm start compiles nothing.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Whether a load found the compiled code on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheState {
    /// Deserialized from the cache: nothing was compiled.
    Hit,
    /// Compiled now and written to the cache.
    Compiled,
    /// Compiled now; caching is off or the write failed.
    Uncached,
}

#[derive(Clone, Debug)]
pub struct CompileCache {
    /// `<root>/<engine-compat-hash>/`; `None` disables caching.
    dir: Option<PathBuf>,
}

impl CompileCache {
    pub fn disabled() -> Self {
        Self { dir: None }
    }

    /// A cache under `root`, partitioned by what the engine can load.
    pub fn at(root: &Path, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = root.join(format!("{:016x}", hasher.finish()));
        Self { dir: Some(dir) }
    }

    /// The default root: `$HOIST_CACHE_DIR`, else `$XDG_CACHE_HOME/hoist`,
    /// else `$HOME/.cache/hoist`.
    pub fn default_root() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("HOIST_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(dir).join("hoist"));
        }
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("hoist"))
    }

    pub fn path_for(&self, digest: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.join(format!("{digest}.cwasm")))
    }

    /// Whether compiled code for `digest` is on disk.
    pub fn contains(&self, digest: &str) -> bool {
        self.path_for(digest).is_some_and(|p| p.is_file())
    }

    /// The compiled component for `bytes` (whose sha256 is `digest`): from the
    /// cache when present and loadable, else compiled and stored.
    pub fn load(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> anyhow::Result<(Component, CacheState)> {
        let Some(path) = self.path_for(digest) else {
            return Ok((Component::new(engine, bytes)?, CacheState::Uncached));
        };
        if path.is_file() {
            // SAFETY: only files this cache wrote (atomically, under a name
            // derived from the source's digest and this engine's
            // compatibility hash) are deserialized, and they are never
            // modified in place.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, CacheState::Hit)),
                Err(err) => {
                    tracing::warn!(path = %path.display(), "ignoring unusable compiled plugin: {err:#}");
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        let state = match component.serialize().map_err(anyhow::Error::from).and_then(|code| write_atomic(&path, &code)) {
            Ok(()) => CacheState::Compiled,
            Err(err) => {
                tracing::warn!(path = %path.display(), "could not cache compiled plugin: {err:#}");
                CacheState::Uncached
            }
        };
        Ok((component, state))
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().ok_or_else(|| anyhow::anyhow!("cache path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), unique()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
