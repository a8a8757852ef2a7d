//! The per-installation key that seals compiled code in the cache: 32
//! random bytes in `<root>/key`, created once with mode 0600.

use std::fs::OpenOptions;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;

pub const KEY_LEN: usize = 32;

#[derive(Clone)]
pub struct CacheKey(pub(super) [u8; KEY_LEN]);

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(..)")
    }
}

impl CacheKey {
    /// Reads `<root>/key`, creating it (and `root`, 0700) when absent.
    /// Another process creating it at the same moment is fine: the key is
    /// written under a temporary name and linked into place, so readers see
    /// a whole key or none.
    pub fn load_or_create(root: &Path) -> std::io::Result<Self> {
        let path = root.join("key");
        match read_key(&path) {
            Ok(key) => return Ok(key),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(root)?;
        let mut bytes = [0u8; KEY_LEN];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        let tmp = root.join(format!(".key.{}.tmp", std::process::id()));
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Self(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path),
            Err(err) => Err(err),
        }
    }
}

fn read_key(path: &Path) -> std::io::Result<CacheKey> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_file() || meta.len() != KEY_LEN as u64 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not a {KEY_LEN}-byte regular file; remove it to make a new key", path.display()),
        ));
    }
    let mut bytes = [0u8; KEY_LEN];
    std::fs::File::open(path)?.read_exact(&mut bytes)?;
    Ok(CacheKey(bytes))
}
