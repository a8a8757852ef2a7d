//! Files written into a created container before it starts: the
//! `hoist.file` extensions of its spec (JSON `{"path", "content"}`, e.g. a
//! Compose config given by `content` or `environment`), uploaded as one
//! tar archive, read-only (0444) as Compose mounts configs.

use bollard::query_parameters::UploadToContainerOptionsBuilder;
use serde::Deserialize;

use super::client::DockerClient;
use crate::runtime::bindings::platform::hoist::plugin::docker::DockerError;

/// Most bytes of one file, and of all of one container's.
const MAX_FILE: usize = 1 << 20;
const MAX_FILES: usize = 8 << 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    path: String,
    content: String,
}

fn bad(why: impl std::fmt::Display) -> DockerError {
    DockerError::Other(format!("container extension `hoist.file`: {why}"))
}

/// The files of `extensions`, as a tar archive (`None` when there are none).
pub fn archive(extensions: &[(String, String)]) -> Result<Option<Vec<u8>>, DockerError> {
    let files: Vec<File> = extensions
        .iter()
        .filter(|(k, _)| k == "hoist.file")
        .map(|(_, v)| serde_json::from_str(v).map_err(bad))
        .collect::<Result<_, _>>()?;
    if files.is_empty() {
        return Ok(None);
    }
    if files.iter().map(|f| f.content.len()).sum::<usize>() > MAX_FILES {
        return Err(bad(format!("the files come to more than {MAX_FILES} bytes")));
    }
    // File entries only: the engine creates missing parents itself, and a
    // directory entry would reset an existing directory's mode (`/tmp`'s
    // sticky bit, say).
    let mut tar = Vec::new();
    for f in &files {
        let rel = f.path.strip_prefix('/').ok_or_else(|| bad(format!("`{}` is not an absolute path", f.path)))?;
        if rel.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
            return Err(bad(format!("`{}` is not a plain path", f.path)));
        }
        if f.content.len() > MAX_FILE {
            return Err(bad(format!("`{}` is over {MAX_FILE} bytes", f.path)));
        }
        tar.extend(header(rel, f.content.len(), 0o444)?);
        tar.extend(f.content.as_bytes());
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    // Two zero blocks end the archive.
    tar.resize(tar.len() + 1024, 0);
    Ok(Some(tar))
}

/// A ustar header block of a regular file.
fn header(name: &str, size: usize, mode: u32) -> Result<[u8; 512], DockerError> {
    if name.len() > 100 {
        return Err(bad(format!("`/{name}` is longer than 100 bytes")));
    }
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |h: &mut [u8; 512], at: usize, width: usize, value: u64| {
        let s = format!("{value:0w$o}", w = width - 1);
        h[at..at + width - 1].copy_from_slice(s.as_bytes());
    };
    octal(&mut h, 100, 8, u64::from(mode));
    octal(&mut h, 108, 8, 0);
    octal(&mut h, 116, 8, 0);
    octal(&mut h, 124, 12, size as u64);
    octal(&mut h, 136, 12, 0);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // The checksum is computed with its own field as spaces.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

impl DockerClient {
    /// Writes the spec's files into the created container `id`.
    pub async fn write_files(&self, id: &str, extensions: &[(String, String)]) -> Result<(), DockerError> {
        let Some(tar) = archive(extensions)? else { return Ok(()) };
        let docker = self.engine().await?;
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        docker
            .upload_to_container(id, Some(options), bollard::body_full(tar.into()))
            .await
            .map_err(|err| self.map(err, &format!("writing files into container `{id}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, content: &str) -> (String, String) {
        ("hoist.file".into(), serde_json::json!({ "path": path, "content": content }).to_string())
    }

    #[test]
    fn an_archive_holds_each_file_and_no_directory_entry() {
        let tar = archive(&[file("/etc/app/app.yml", "a: 1\n")]).unwrap().unwrap();
        assert_eq!(&tar[..15], b"etc/app/app.yml");
        assert_eq!(tar[156], b'0', "a regular file");
        assert_eq!(&tar[124..135], b"00000000005");
        assert_eq!(&tar[100..107], b"0000444");
        assert_eq!(&tar[512..517], b"a: 1\n");
        assert_eq!(tar.len(), 512 * 2 + 1024);
        assert!(archive(&[]).unwrap().is_none());
    }

    #[test]
    fn paths_that_escape_or_overflow_are_refused() {
        for bad in ["relative", "/a/../b", "/a//b", &format!("/{}", "x".repeat(120))] {
            assert!(archive(&[file(bad, "")]).is_err(), "{bad}");
        }
        assert!(archive(&[file("/big", &"x".repeat(MAX_FILE + 1))]).is_err());
    }
}
