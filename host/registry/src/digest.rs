//! SHA-256 digests that pin plugin binaries.

use std::fmt;
use std::io;
use std::path::Path;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A SHA-256 digest, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);

/// Why a string is not a valid sha256 digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DigestError(String);

impl Digest {
    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The digest of the file at `path`, read in full.
    pub fn of_file(path: &Path) -> io::Result<Self> {
        hoist_files::wasm(path).map(|bytes| Self::of_bytes(&bytes))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    /// Accepts exactly 64 lowercase hex digits (an optional `sha256:` prefix
    /// is allowed, as printed by OCI tools).
    fn from_str(s: &str) -> Result<Self, DigestError> {
        let hex_part = s.strip_prefix("sha256:").unwrap_or(s);
        if hex_part.len() != 64 {
            return Err(DigestError(format!(
                "sha256 must be 64 hex digits, found {}; compute it with `sha256sum FILE`",
                hex_part.len()
            )));
        }
        if hex_part.chars().all(|c| c.is_ascii_hexdigit()) && hex_part != hex_part.to_ascii_lowercase() {
            return Err(DigestError(format!(
                "sha256 must be lowercase hex; write {:?}",
                hex_part.to_ascii_lowercase()
            )));
        }
        if let Some(bad) = hex_part.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
            return Err(DigestError(format!("sha256 may contain only hex digits (0-9, a-f), found {bad:?}")));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|e| DigestError(format!("invalid sha256: {e}")))?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digest_of_bytes_round_trips() {
        let d = Digest::of_bytes(b"");
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(EMPTY.parse::<Digest>().unwrap(), d);
        assert_eq!(format!("sha256:{EMPTY}").parse::<Digest>().unwrap(), d);
    }

    #[test]
    fn digest_of_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.wasm");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(Digest::of_file(&path).unwrap().to_string(), EMPTY);
    }

    #[test]
    fn rejects_malformed_digests() {
        assert!("abc".parse::<Digest>().unwrap_err().0.contains("64 hex digits, found 3"));
        let upper = EMPTY.to_uppercase();
        assert!(upper.parse::<Digest>().unwrap_err().0.contains(&format!("write {EMPTY:?}")));
        let bad = format!("{}g", &EMPTY[..63]);
        assert!(bad.parse::<Digest>().is_err());
    }
}
