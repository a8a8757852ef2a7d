//! Which URLs and addresses a plugin may reach: its `allow-hosts` entries
//! (`host`, `host:port`, `*.domain[:port]`; no port means 80), and the
//! addresses a listed name may resolve to.
//!
//! A name is resolved once per hop and the checked address is the one
//! connected to, so a name cannot be re-resolved elsewhere (DNS rebinding).
//! A name may not resolve to an address of this machine or its link
//! (loopback, link-local — cloud metadata lives there —, unspecified,
//! multicast, broadcast) unless it is `localhost`; such an address is
//! reachable only when listed itself, as an IP literal.

use std::net::{IpAddr, SocketAddr};

use hyper::Uri;

/// The port of an entry or URL that names none.
const DEFAULT_PORT: u16 = 80;

/// One `allow-hosts` entry, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// As written in the registry, for messages and credentials.
    pub written: String,
    host: Pattern,
    port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    /// `*.example.com`: any name ending in `.example.com`, not the domain itself.
    Suffix(String),
}

impl Entry {
    /// Parses an entry the registry already validated.
    pub fn parse(written: &str) -> Option<Self> {
        let (host, port) = match written.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().ok()?),
            None => (written, DEFAULT_PORT),
        };
        let host = match host.strip_prefix("*.") {
            Some(domain) => Pattern::Suffix(format!(".{domain}")),
            None => Pattern::Exact(host.to_owned()),
        };
        Some(Self { written: written.to_owned(), host, port })
    }

    fn matches(&self, target: &Target) -> bool {
        if self.port != target.port {
            return false;
        }
        match &self.host {
            Pattern::Exact(host) => *host == target.host,
            // An IP literal is reachable only through an entry naming it.
            Pattern::Suffix(suffix) => target.ip.is_none() && target.host.ends_with(suffix.as_str()),
        }
    }
}

/// Where one request goes, read from its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Lowercase, brackets of an IPv6 literal removed.
    pub host: String,
    pub port: u16,
    /// `Some` when the host is an IP literal.
    pub ip: Option<IpAddr>,
    /// `host:port`, for messages and the `Host` header.
    pub authority: String,
}

impl Target {
    /// The target of an absolute `http://` URL.
    pub fn of(uri: &Uri) -> Result<Self, String> {
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "{uri}: this hoist speaks plain http only (it is built without TLS); use an http:// URL, e.g. through a local TLS-terminating proxy"
                ));
            }
            _ => return Err(format!("{uri:?} is not an absolute http:// URL")),
        }
        let Some(authority) = uri.authority() else { return Err(format!("{uri}: the URL has no host")) };
        if authority.as_str().contains('@') {
            return Err(format!("{uri}: credentials in URLs are refused; the registry's `credentials` add them"));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let host = host.strip_suffix('.').map(str::to_owned).unwrap_or(host);
        let port = authority.port_u16().unwrap_or(DEFAULT_PORT);
        let ip = host.parse::<IpAddr>().ok();
        let authority = match ip {
            Some(IpAddr::V6(_)) => format!("[{host}]:{port}"),
            _ => format!("{host}:{port}"),
        };
        Ok(Self { host, port, ip, authority })
    }
}

/// A plugin's allow-list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Entry>,
}

impl AllowList {
    pub fn new(hosts: &[String]) -> Self {
        Self { entries: hosts.iter().filter_map(|h| Entry::parse(h)).collect() }
    }

    /// The entry that lets `target` through.
    pub fn entry_for(&self, target: &Target) -> Option<&Entry> {
        self.entries.iter().find(|e| e.matches(target))
    }

    /// Whether a listed `target` may be reached at `addr`, one of the
    /// addresses its name resolved to.
    pub fn address_allowed(target: &Target, addr: IpAddr) -> bool {
        if target.ip.is_some() {
            return true;
        }
        !is_internal(addr) || (target.host == "localhost" && addr.is_loopback())
    }

    /// Picks the address to connect to among what `target`'s name resolved
    /// to; the error names what it resolved to.
    pub fn pick(target: &Target, resolved: &[SocketAddr]) -> Result<SocketAddr, String> {
        if let Some(addr) = resolved.iter().find(|a| Self::address_allowed(target, a.ip())) {
            return Ok(*addr);
        }
        let ips: Vec<String> = resolved.iter().map(|a| a.ip().to_string()).collect();
        Err(format!(
            "`{}` resolves to {}, an address of this machine or its link that a name may not reach; \
             if that is intended, list the address itself (e.g. \"{}:{}\") in `allow-hosts`",
            target.host,
            ips.join(", "),
            ips.first().map(String::as_str).unwrap_or("127.0.0.1"),
            target.port
        ))
    }
}

/// Addresses of this machine or its link.
fn is_internal(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || v6.is_unicast_link_local()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::of(&url.parse().unwrap()).unwrap()
    }

    #[test]
    fn entries_match_host_and_port() {
        let list = AllowList::new(&["prometheus.internal:9090".into(), "*.example.com".into(), "10.0.0.1:80".into()]);
        assert!(list.entry_for(&target("http://prometheus.internal:9090/api")).is_some());
        assert!(list.entry_for(&target("http://PROMETHEUS.internal.:9090/")).is_some());
        assert!(list.entry_for(&target("http://prometheus.internal/api")).is_none(), "port 80 is not 9090");
        assert!(list.entry_for(&target("http://a.example.com/")).is_some());
        assert!(list.entry_for(&target("http://example.com/")).is_none());
        assert!(list.entry_for(&target("http://a.example.com:8080/")).is_none());
        assert!(list.entry_for(&target("http://10.0.0.1/")).is_some());
        assert!(list.entry_for(&target("http://10.0.0.2/")).is_none());
    }

    #[test]
    fn urls_other_than_plain_http_are_refused() {
        assert!(Target::of(&"https://a.example.com/".parse().unwrap()).unwrap_err().contains("without TLS"));
        assert!(Target::of(&"/relative".parse().unwrap()).is_err());
        assert!(Target::of(&"http://user:pw@a.example.com/".parse().unwrap()).unwrap_err().contains("credentials"));
    }

    #[test]
    fn names_may_not_resolve_to_this_machine() {
        let name = target("http://metrics.example.com/");
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 80);
        assert!(AllowList::pick(&name, &[at("127.0.0.1")]).unwrap_err().contains("resolves to 127.0.0.1"));
        assert!(AllowList::pick(&name, &[at("169.254.169.254")]).is_err());
        assert!(AllowList::pick(&name, &[at("::ffff:127.0.0.1")]).is_err());
        assert_eq!(AllowList::pick(&name, &[at("::1"), at("10.1.2.3")]), Ok(at("10.1.2.3")));
        assert!(AllowList::pick(&target("http://localhost/"), &[at("127.0.0.1")]).is_ok());
        assert!(AllowList::pick(&target("http://127.0.0.1/"), &[at("127.0.0.1")]).is_ok());
    }
}
