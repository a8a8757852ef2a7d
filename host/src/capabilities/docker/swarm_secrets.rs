//! Swarm secrets of a service: its `secret` extensions (`FILE:TARGET`, the
//! target under `/run/secrets/`), each file read by the host (a regular
//! file, at most 500 KiB, Swarm's limit) and created as a secret named by
//! its content's digest, `hoist-secret-<sha256, 16 hex>`: Swarm secrets are
//! immutable, so a changed file is a new secret for the new revision and
//! the old revision keeps its own. The value goes to the engine only: the
//! spec, the store and every message carry the path and the name.

use std::collections::HashMap;
use std::path::Path;

use bollard::errors::Error as EngineError;
use bollard::models::{SecretSpec, TaskSpecContainerSpecFile, TaskSpecContainerSpecSecrets};
use sha2::Digest;

use super::client::DockerClient;
use crate::runtime::bindings::platform::hoist::plugin::docker::DockerError;

const MAX_SECRET: u64 = 500 * 1024;
const UNDER: &str = "/run/secrets/";

impl DockerClient {
    /// The secret references for `extensions`, each secret created if new.
    pub(super) async fn secret_refs(
        &self,
        service: &str,
        extensions: &[(String, String)],
    ) -> Result<Option<Vec<TaskSpecContainerSpecSecrets>>, DockerError> {
        let mut refs = Vec::new();
        for (_, value) in extensions.iter().filter(|(k, _)| k == "secret") {
            let bad = |why: String| DockerError::Other(format!("service `{service}`: secret `{value}`: {why}"));
            let (file, target) = value.split_once(':').ok_or_else(|| bad("write FILE:TARGET".into()))?;
            let name = target
                .strip_prefix(UNDER)
                .filter(|n| !n.is_empty() && !n.contains('/'))
                .ok_or_else(|| bad(format!("on Swarm a secret is mounted under {UNDER}; give it a plain name")))?;
            let data = hoist_files::read_bytes(Path::new(file), MAX_SECRET).map_err(|e| bad(e.to_string()))?;
            let id = self.ensure_secret(&data).await?;
            refs.push(TaskSpecContainerSpecSecrets {
                file: Some(TaskSpecContainerSpecFile {
                    name: Some(name.to_string()),
                    uid: Some("0".into()),
                    gid: Some("0".into()),
                    mode: Some(0o444),
                }),
                secret_id: Some(id.0),
                secret_name: Some(id.1),
            });
        }
        Ok((!refs.is_empty()).then_some(refs))
    }

    /// (id, name) of the secret holding `data`, created unless it exists.
    async fn ensure_secret(&self, data: &[u8]) -> Result<(String, String), DockerError> {
        let name = format!("hoist-secret-{}", &hex::encode(sha2::Sha256::digest(data))[..16]);
        let docker = self.engine().await?;
        let spec = SecretSpec {
            name: Some(name.clone()),
            labels: Some(HashMap::from([("hoist.secret".to_string(), "true".to_string())])),
            data: Some(base64(data)),
            ..SecretSpec::default()
        };
        match docker.create_secret(spec).await {
            Ok(created) => Ok((created.id, name)),
            // The same content, created before (by another revision).
            Err(EngineError::DockerResponseServerError { status_code: 409, .. }) => {
                let found = docker
                    .inspect_secret(&name)
                    .await
                    .map_err(|err| self.map_swarm(err, &format!("secret `{name}`")))?;
                Ok((found.id.unwrap_or_default(), name))
            }
            Err(err) => Err(self.map_swarm(err, &format!("secret `{name}`"))),
        }
    }
}

/// Standard base64 with padding (the engine's encoding of secret data).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_as_the_engine_reads_it() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"hunter2"), "aHVudGVyMg==");
    }
}
