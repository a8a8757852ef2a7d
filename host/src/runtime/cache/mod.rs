//! On-disk cache of compiled plugins, keyed by the plugin's sha256 and the
//! engine's compatibility hash, so a warm start compiles nothing.
//!
//! Native code is executed as is, so the sha256 pin of the component does
//! not protect it: every entry is sealed with an HMAC under a key of this
//! installation ([`key`]) and checked before wasmtime sees it ([`sealed`]).
//! An entry that does not verify is discarded and recompiled.

mod key;
mod sealed;

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};

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

/// Largest cache file read back; compiled code is a few times the size of
/// the component, and components are capped at 64 MiB.
const MAX_ENTRY: u64 = 512 << 20;

#[derive(Clone, Debug)]
pub struct CompileCache {
    /// `<root>/<engine-compat-hash>/` and the key sealing its entries;
    /// `None` disables caching.
    dir: Option<(PathBuf, key::CacheKey)>,
}

impl CompileCache {
    pub fn disabled() -> Self {
        Self { dir: None }
    }

    /// A cache under `root`, partitioned by what the engine can load. Off
    /// (with a warning) when the installation key cannot be read or made:
    /// unsealed code is never loaded.
    pub fn at(root: &Path, engine: &Engine) -> Self {
        let key = match key::CacheKey::load_or_create(root) {
            Ok(key) => key,
            Err(err) => {
                tracing::warn!(root = %root.display(), "compiled-plugin cache off: cannot read or create its key: {err}");
                return Self::disabled();
            }
        };
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let dir = root.join(format!("{:016x}", hasher.finish()));
        Self { dir: Some((dir, key)) }
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
        self.dir.as_ref().map(|(dir, _)| dir.join(format!("{digest}.cwasm")))
    }

    /// Whether compiled code for `digest` is on disk.
    pub fn contains(&self, digest: &str) -> bool {
        self.path_for(digest).is_some_and(|p| p.is_file())
    }

    /// The compiled component for `bytes` (whose sha256 is `digest`): from the
    /// cache when present and loadable, else compiled and stored.
    pub fn load(&self, engine: &Engine, digest: &str, bytes: &[u8]) -> anyhow::Result<(Component, CacheState)> {
        let (Some((_, key)), Some(path)) = (&self.dir, self.path_for(digest)) else {
            return Ok((Component::new(engine, bytes)?, CacheState::Uncached));
        };
        if let Some(component) = self.cached(engine, key, digest, &path) {
            return Ok((component, CacheState::Hit));
        }
        let component = Component::new(engine, bytes)?;
        let sealed = component.serialize().map_err(anyhow::Error::from).and_then(|code| {
            sealed::seal(key, digest, &code).ok_or_else(|| anyhow::anyhow!("cannot seal compiled code"))
        });
        let state = match sealed.and_then(|file| write_atomic(&path, &file)) {
            Ok(()) => CacheState::Compiled,
            Err(err) => {
                tracing::warn!(path = %path.display(), "could not cache compiled plugin: {err:#}");
                CacheState::Uncached
            }
        };
        Ok((component, state))
    }
}

impl CompileCache {
    /// The entry at `path` when it is there, verifies and loads.
    fn cached(&self, engine: &Engine, key: &key::CacheKey, digest: &str, path: &Path) -> Option<Component> {
        let file = match read_entry(path) {
            Ok(Some(file)) => file,
            Ok(None) => return None,
            Err(err) => {
                tracing::warn!(path = %path.display(), "ignoring unreadable compiled plugin: {err}");
                return None;
            }
        };
        let Some(code) = sealed::open(key, digest, &file) else {
            tracing::warn!(
                path = %path.display(),
                "discarding compiled plugin that does not verify against this installation's key; recompiling"
            );
            let _ = std::fs::remove_file(path);
            return None;
        };
        // SAFETY: `code` carries this installation's HMAC, so it is exactly
        // what this cache serialized from a component with this digest for
        // an engine with this compatibility hash.
        match unsafe { Component::deserialize(engine, code) } {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), "ignoring unusable compiled plugin: {err:#}");
                None
            }
        }
    }
}

/// The whole entry, `None` when absent; anything but a regular file of
/// bounded size is an error.
fn read_entry(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_ENTRY {
        return Err(std::io::Error::other(format!("larger than {} MiB", MAX_ENTRY >> 20)));
    }
    let mut file = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?.take(MAX_ENTRY).read_to_end(&mut file)?;
    Ok(Some(file))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().ok_or_else(|| anyhow::anyhow!("cache path has no parent"))?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), unique()));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    file.write_all(bytes)?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
