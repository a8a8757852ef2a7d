//! Reading a file a user pointed Hoist at — a registry, scenario, stack or
//! Compose file, an `env_file`, a plugin, a state file — so that no path
//! can make Hoist hang or grow without bound: it must be a regular file
//! (a FIFO, a device such as `/dev/zero`, a directory or a `/proc` file is
//! refused), it is opened without blocking, and it is read with a cap.

use std::fmt;
use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// The cap for text files: registries, scenarios, stacks, env files, state.
pub const TEXT_CAP: u64 = 16 << 20;
/// The cap for WebAssembly components.
pub const WASM_CAP: u64 = 64 << 20;

/// Why a file was not read; its `Display` names the file.
#[derive(Debug)]
pub struct FileError {
    pub path: PathBuf,
    pub kind: FileErrorKind,
}

#[derive(Debug)]
pub enum FileErrorKind {
    Io(std::io::Error),
    /// Not a regular file: what it is instead.
    NotRegular(&'static str),
    TooLarge {
        cap: u64,
    },
    NotUtf8,
}

impl FileError {
    /// The error without the path, as an `io::Error`, for callers whose
    /// own messages name the file.
    pub fn into_io(self) -> std::io::Error {
        match self.kind {
            FileErrorKind::Io(e) => e,
            FileErrorKind::NotRegular(what) => std::io::Error::other(format!("it is {what}, not a regular file")),
            FileErrorKind::TooLarge { cap } => {
                std::io::Error::other(format!("it is larger than {} MiB, the most Hoist reads", cap >> 20))
            }
            FileErrorKind::NotUtf8 => std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(&self.kind, FileErrorKind::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            FileErrorKind::Io(e) => write!(f, "{path}: {e}"),
            FileErrorKind::NotRegular(what) => write!(f, "{path}: is {what}, not a regular file; point at a file"),
            FileErrorKind::TooLarge { cap } => write!(f, "{path}: larger than {} MiB, the most Hoist reads", cap >> 20),
            FileErrorKind::NotUtf8 => write!(f, "{path}: is not UTF-8 text"),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            FileErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// The bytes of `path`, at most `cap` of them.
pub fn read_bytes(path: &Path, cap: u64) -> Result<Vec<u8>, FileError> {
    let fail = |kind| FileError { path: path.to_path_buf(), kind };
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
    // writer. Regular files ignore the flag.
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| fail(FileErrorKind::Io(e)))?;
    let meta = file.metadata().map_err(|e| fail(FileErrorKind::Io(e)))?;
    let ft = meta.file_type();
    if !ft.is_file() {
        use std::os::unix::fs::FileTypeExt as _;
        let what = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_char_device() || ft.is_block_device() {
            "a device"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        return Err(fail(FileErrorKind::NotRegular(what)));
    }
    // `/proc` and `/sys` files claim size 0 and produce content on read;
    // they are refused too: nothing a user configures lives there.
    if meta.len() == 0 && is_pseudo(path) {
        return Err(fail(FileErrorKind::NotRegular("a kernel pseudo-file")));
    }
    if meta.len() > cap {
        return Err(fail(FileErrorKind::TooLarge { cap }));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes).map_err(|e| fail(FileErrorKind::Io(e)))?;
    if bytes.len() as u64 > cap {
        return Err(fail(FileErrorKind::TooLarge { cap }));
    }
    Ok(bytes)
}

/// [`read_text`] with the [`TEXT_CAP`], as an `io::Result` without the path.
pub fn text(path: &Path) -> std::io::Result<String> {
    read_text(path, TEXT_CAP).map_err(FileError::into_io)
}

/// [`read_bytes`] with the [`WASM_CAP`], as an `io::Result` without the path.
pub fn wasm(path: &Path) -> std::io::Result<Vec<u8>> {
    read_bytes(path, WASM_CAP).map_err(FileError::into_io)
}

/// The UTF-8 text of `path`, at most `cap` bytes.
pub fn read_text(path: &Path, cap: u64) -> Result<String, FileError> {
    let bytes = read_bytes(path, cap)?;
    String::from_utf8(bytes).map_err(|_| FileError { path: path.to_path_buf(), kind: FileErrorKind::NotUtf8 })
}

fn is_pseudo(path: &Path) -> bool {
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    resolved.starts_with("/proc") || resolved.starts_with("/sys")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn refuses_what_is_not_a_bounded_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_text(Path::new("/dev/zero"), TEXT_CAP).unwrap_err();
        assert!(err.to_string().contains("/dev/zero: is a device, not a regular file"), "{err}");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_text(&fifo, TEXT_CAP).unwrap_err();
        assert!(err.to_string().ends_with("is a FIFO, not a regular file; point at a file"), "{err}");
        assert!(read_text(dir.path(), TEXT_CAP).unwrap_err().to_string().contains("a directory"));
        let err = read_text(Path::new("/proc/self/environ"), TEXT_CAP).unwrap_err();
        assert!(err.to_string().contains("kernel pseudo-file"), "{err}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        assert!(read_text(&big, 1024).unwrap_err().to_string().contains("larger than"));
        assert_eq!(read_text(&big, 4096).unwrap().len(), 2048);
        assert!(read_text(&dir.path().join("none"), 10).unwrap_err().is_not_found());
    }
}
