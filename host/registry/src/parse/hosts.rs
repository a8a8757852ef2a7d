//! `allow-hosts` entries, and their pairing with the `http` capability.

use std::collections::BTreeSet;

use serde_spanned::Spanned;

use super::Checker;
use crate::capability::Capability;

impl Checker<'_> {
    pub(super) fn allow_hosts(&mut self, hosts: Option<&Spanned<Vec<Spanned<String>>>>) -> Option<Vec<String>> {
        let Some(hosts) = hosts else {
            return Some(Vec::new());
        };
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for host in hosts.get_ref() {
            if let Err(message) = validate_host(host.get_ref()) {
                self.error(host.span(), message);
                ok = false;
            } else if !seen.insert(host.get_ref().as_str()) {
                self.error(host.span(), format!("host {:?} is listed twice; remove one", host.get_ref()));
                ok = false;
            }
        }
        ok.then(|| hosts.get_ref().iter().map(|h| h.get_ref().clone()).collect())
    }

    /// `allow-hosts` only with `http`, and `http` only with some hosts.
    pub(super) fn check_http(
        &mut self,
        caps: &BTreeSet<Capability>,
        hosts: &[String],
        hosts_span: Option<&Spanned<Vec<Spanned<String>>>>,
        caps_list: &Option<Vec<Spanned<String>>>,
        here: &str,
    ) -> bool {
        let http = caps.contains(&Capability::Http);
        if let (false, Some(span)) = (http, hosts_span) {
            self.error(
                span.span(),
                format!(
                    "`allow-hosts` is set but `http` is not granted; add \"http\" to `capabilities` in {here}, or remove `allow-hosts`"
                ),
            );
            return false;
        }
        if http && hosts.is_empty() {
            let span = caps_list
                .iter()
                .flatten()
                .find(|c| c.get_ref() == "http")
                .map(|c| c.span())
                .or(hosts_span.map(|h| h.span()))
                .unwrap_or(0..0);
            self.error(
                span,
                format!(
                    "`http` is granted but `allow-hosts` is empty, so no request could succeed; list the hosts in {here}, e.g. `allow-hosts = [\"prometheus.internal:9090\"]`"
                ),
            );
            return false;
        }
        true
    }
}

/// Checks an `allow-hosts` entry: `host`, `host:port` or `*.domain[:port]`.
fn validate_host(entry: &str) -> Result<(), String> {
    let hint = "write a host name such as \"prometheus.internal\", \"api.example.com:443\" or \"*.example.com\"";
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (entry, None),
    };
    if let Some(port) = port
        && !matches!(port.parse::<u16>(), Ok(p) if p > 0)
    {
        return Err(format!("invalid port in host {entry:?}; {hint}"));
    }
    if host.contains("://") || host.contains('/') {
        return Err(format!("host {entry:?} must be a host name, not a URL; {hint}"));
    }
    if host.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!("host {entry:?} must be lowercase; write {:?}", entry.to_ascii_lowercase()));
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    let valid_label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if name.is_empty() || !name.split('.').all(valid_label) {
        return Err(format!("invalid host {entry:?}; {hint}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in ["prometheus.internal", "api.example.com:443", "*.example.com", "10.0.0.1:9090"] {
            assert!(validate_host(ok).is_ok(), "{ok}");
        }
        for bad in ["", "http://x", "x:0", "x:99999", "-a.com", "a..b", "Api.com", "*.", "a b"] {
            assert!(validate_host(bad).is_err(), "{bad:?}");
        }
    }
}
