//! `credentials = [...]` of a plugin: secrets the `http` capability adds to
//! requests to one allow-listed host. Only where the secret lives is
//! written here (an env var or a file), never the secret itself.

use serde_spanned::Spanned;

use super::Checker;
use crate::model::{Credential, SecretSource};
use crate::schema::CredentialToml;

impl Checker<'_> {
    /// `None` after reporting an error.
    pub(super) fn credentials(
        &mut self,
        list: &[Spanned<CredentialToml>],
        hosts: &[String],
        here: &str,
    ) -> Option<Vec<Credential>> {
        let mut out = Vec::new();
        let mut ok = true;
        for entry in list {
            match self.credential(entry, hosts, here) {
                Some(c) if out.iter().any(|o: &Credential| o.host == c.host && o.header == c.header) => {
                    self.error(
                        entry.span(),
                        format!("host {:?} has two credentials for header `{}`; remove one", c.host, c.header),
                    );
                    ok = false;
                }
                Some(c) => out.push(c),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn credential(&mut self, entry: &Spanned<CredentialToml>, hosts: &[String], here: &str) -> Option<Credential> {
        let raw = entry.get_ref();
        let host = raw.host.get_ref();
        let mut ok = true;
        if !hosts.iter().any(|h| h == host) {
            self.error(
                raw.host.span(),
                format!("credential host {host:?} is not in `allow-hosts` of {here}; add it there, or fix the name"),
            );
            ok = false;
        }
        let header = match &raw.header {
            None => "authorization".to_owned(),
            Some(h) if valid_header_name(h.get_ref()) => h.get_ref().to_ascii_lowercase(),
            Some(h) => {
                self.error(
                    h.span(),
                    format!(
                        "invalid header name {:?}; write a token such as \"authorization\" or \"x-api-key\"",
                        h.get_ref()
                    ),
                );
                ok = false;
                String::new()
            }
        };
        let scheme = match &raw.scheme {
            Some(s)
                if s.get_ref().is_empty() || !s.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
            {
                self.error(s.span(), format!("invalid scheme {:?}; write one word such as \"Bearer\"", s.get_ref()));
                ok = false;
                None
            }
            other => other.as_ref().map(|s| s.get_ref().clone()),
        };
        let secret = match (&raw.env, &raw.file) {
            (Some(env), None) if valid_env_name(env.get_ref()) => SecretSource::Env(env.get_ref().clone()),
            (Some(env), None) => {
                self.error(env.span(), format!("invalid environment variable name {:?}", env.get_ref()));
                return None;
            }
            (None, Some(file)) if !file.get_ref().is_empty() => SecretSource::File(self.dir.join(file.get_ref())),
            (None, Some(file)) => {
                self.error(file.span(), "`file` is empty; give the path of the file holding the secret");
                return None;
            }
            (Some(_), Some(file)) => {
                self.error(
                    file.span(),
                    "a credential reads its secret from `env` or from `file`, not both; remove one",
                );
                return None;
            }
            (None, None) => {
                self.error(
                    entry.span(),
                    format!(
                        "credential for {host:?} says nowhere to read the secret; add `env = \"VAR\"` or `file = \"path\"` (never the secret itself)"
                    ),
                );
                return None;
            }
        };
        ok.then(|| Credential { host: host.clone(), header, scheme, secret })
    }
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub(super) fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
