//! The registry's credentials, read for each request that needs one and
//! dropped with it: never kept, logged or shown to the plugin.

use hyper::header::{HeaderName, HeaderValue};

use hoist_registry::{Credential, SecretSource};

use crate::runtime::bindings::platform::hoist::plugin::http::HttpError;

/// A secret file is a token, not a document.
const SECRET_CAP: u64 = 64 << 10;

/// The header `credential` adds, with its secret read now. The error names
/// where the secret should be, never what it is.
pub fn header(plugin: &str, credential: &Credential) -> Result<(HeaderName, HeaderValue), HttpError> {
    let missing = |why: String| {
        HttpError::Other(format!(
            "plugin `{plugin}`: the credential for `{}` cannot be read: {why}; fix `credentials` in the registry or provide the secret",
            credential.host
        ))
    };
    let secret = match &credential.secret {
        SecretSource::Env(var) => {
            std::env::var(var).map_err(|_| missing(format!("environment variable `{var}` is not set")))?
        }
        SecretSource::File(path) => hoist_files::read_text(path, SECRET_CAP)
            .map_err(|e| missing(format!("{}: {e}", path.display())))?
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
    };
    let text = match &credential.scheme {
        Some(scheme) => format!("{scheme} {secret}"),
        None => secret,
    };
    let name = HeaderName::from_bytes(credential.header.as_bytes())
        .map_err(|_| missing(format!("invalid header name `{}`", credential.header)))?;
    let mut value =
        HeaderValue::from_str(&text).map_err(|_| missing("the secret is not a valid header value".into()))?;
    // Kept out of hyper's Debug output and compressed headers.
    value.set_sensitive(true);
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(secret: SecretSource) -> Credential {
        Credential { host: "prom:9090".into(), header: "authorization".into(), scheme: Some("Bearer".into()), secret }
    }

    #[test]
    fn reads_a_file_per_request_and_marks_it_sensitive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "t0k3n\r\n").unwrap();
        let (name, value) = header("p", &credential(SecretSource::File(path.clone()))).unwrap();
        assert_eq!((name.as_str(), value.to_str().unwrap()), ("authorization", "Bearer t0k3n"));
        assert!(value.is_sensitive());
        // Read again for the next request: a rotated secret is picked up.
        std::fs::write(&path, "n3w").unwrap();
        assert_eq!(header("p", &credential(SecretSource::File(path))).unwrap().1, "Bearer n3w");
    }

    #[test]
    fn a_missing_secret_names_where_it_should_be() {
        let err = header("p", &credential(SecretSource::Env("HOIST_TEST_NO_SUCH_SECRET_VAR".into()))).unwrap_err();
        let HttpError::Other(message) = err else { panic!("{err:?}") };
        assert!(
            message.contains("plugin `p`") && message.contains("`HOIST_TEST_NO_SUCH_SECRET_VAR` is not set"),
            "{message}"
        );
    }
}
