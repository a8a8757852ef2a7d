//! The cache file format: a magic, an HMAC-SHA256 under the installation's
//! key of the component's digest and its compiled code, then the code. The
//! digest is in the tag so another entry's sealed file renamed to this
//! digest does not verify either. Code whose tag does not
//! verify was not written by this installation (or was changed since) and
//! is never handed to wasmtime.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::key::CacheKey;

const MAGIC: &[u8; 8] = b"HOISTCW\x01";
const TAG_LEN: usize = 32;
pub const HEADER_LEN: usize = MAGIC.len() + TAG_LEN;

/// HMAC takes keys of any length, so this is always `Some`.
fn mac(key: &CacheKey) -> Option<Hmac<Sha256>> {
    Hmac::<Sha256>::new_from_slice(&key.0).ok()
}

/// `code` with its header.
pub fn seal(key: &CacheKey, digest: &str, code: &[u8]) -> Option<Vec<u8>> {
    let mut m = mac(key)?;
    m.update(digest.as_bytes());
    m.update(code);
    let tag = m.finalize().into_bytes();
    let mut out = Vec::with_capacity(HEADER_LEN + code.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&tag);
    out.extend_from_slice(code);
    Some(out)
}

/// The code inside `file`, or `None` when the header is missing or the tag
/// does not verify.
pub fn open<'a>(key: &CacheKey, digest: &str, file: &'a [u8]) -> Option<&'a [u8]> {
    let (magic, rest) = file.split_at_checked(MAGIC.len())?;
    if magic != MAGIC {
        return None;
    }
    let (tag, code) = rest.split_at_checked(TAG_LEN)?;
    let mut m = mac(key)?;
    m.update(digest.as_bytes());
    m.update(code);
    m.verify_slice(tag).ok()?;
    Some(code)
}
