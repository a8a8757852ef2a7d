//! Notification subscriptions: `[environments.ENV.notify.NAME]`, a webhook
//! that gets the environment's rollout events as they are recorded.

use std::collections::BTreeSet;
use std::fmt;

use crate::diagnostic::Location;
use crate::model::SecretSource;

/// The longest webhook URL a subscription may name (inline or from a secret).
pub const MAX_URL: usize = 2048;
/// The most subscriptions one environment may declare.
pub const MAX_SUBSCRIPTIONS: usize = 16;

/// One rollout event a subscription may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotifyEvent {
    /// The strategy took the rollout's first step.
    Started,
    /// The strategy took a step (any, the first included).
    Step,
    /// The rollout paused: an operator's `pause`, or an inconclusive analysis held it.
    Paused,
    /// An analysis (a health policy or the metrics) failed the candidate.
    AnalysisFailed,
    /// An analysis could not judge the candidate.
    Inconclusive,
    /// An admission policy or the strategy waits for an operator's approval.
    ApprovalNeeded,
    /// The rollout ended rolled back, aborted or failed.
    RolledBack,
    /// The candidate became the stable revision.
    Completed,
    /// Self-healing replaced an instance of a service at rest.
    Healed,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 9] = [
        Self::Started,
        Self::Step,
        Self::Paused,
        Self::AnalysisFailed,
        Self::Inconclusive,
        Self::ApprovalNeeded,
        Self::RolledBack,
        Self::Completed,
        Self::Healed,
    ];

    /// What a subscription without `events` gets: all but `step`.
    pub fn defaults() -> BTreeSet<NotifyEvent> {
        Self::ALL.into_iter().filter(|e| *e != Self::Step).collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Step => "step",
            Self::Paused => "paused",
            Self::AnalysisFailed => "analysis-failed",
            Self::Inconclusive => "inconclusive",
            Self::ApprovalNeeded => "approval-needed",
            Self::RolledBack => "rolled-back",
            Self::Completed => "completed",
            Self::Healed => "healed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body a subscription is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotifyFormat {
    /// `{"event", "service", "environment", "rollout", "revision", "phase", "step", "reason", "at_ms"}`.
    #[default]
    Json,
    /// A Slack-compatible incoming-webhook body: `{"text": "…"}`.
    Slack,
}

impl NotifyFormat {
    pub const ALL: [NotifyFormat; 2] = [Self::Json, Self::Slack];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Slack => "slack",
        }
    }
}

/// Where a subscription's webhook URL is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookUrl {
    /// Written in the registry (`url = "http://…"`), checked at load.
    Inline(String),
    /// Read from an env var or a file when a notification is sent
    /// (`url-from = { env = "SLACK_URL" }`), so a secret URL is never
    /// written in the registry; checked then.
    Secret(SecretSource),
}

impl fmt::Display for WebhookUrl {
    /// The URL if inline, else where it is read from (never the secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline(url) => f.write_str(url),
            Self::Secret(SecretSource::Env(var)) => write!(f, "the URL in env var {var}"),
            Self::Secret(SecretSource::File(path)) => write!(f, "the URL in file {}", path.display()),
        }
    }
}

/// One `[environments.ENV.notify.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// The table's name, in records and messages.
    pub name: String,
    /// Where notifications are POSTed.
    pub url: WebhookUrl,
    /// The events it gets.
    pub events: BTreeSet<NotifyEvent>,
    /// The body's shape.
    pub format: NotifyFormat,
    /// Where the table is declared.
    pub location: Location,
}

/// Checks a webhook URL: absolute `http://` with a host, no userinfo, at
/// most [`MAX_URL`] bytes. Any host is allowed (a chat service is remote);
/// `https://` is refused, since this hoist is built without TLS.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_URL {
        return Err(format!("the URL is longer than {MAX_URL} bytes"));
    }
    if url.starts_with("https://") {
        return Err(format!(
            "{url:?} is https; this hoist speaks plain http only (it is built without TLS), so point it at a local TLS-terminating proxy, e.g. \"http://127.0.0.1:8080/hook\""
        ));
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!(
            "{url:?} is not an absolute http:// URL; write one such as \"http://hooks.example.com/hoist\""
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!("{url:?} has credentials in it; put a secret URL in an env var or a file with `url-from`"));
    }
    if authority.is_empty() || authority.starts_with(':') {
        return Err(format!("{url:?} has no host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url:?} contains whitespace or control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip_and_step_is_not_a_default() {
        for event in NotifyEvent::ALL {
            assert_eq!(NotifyEvent::parse(event.as_str()), Some(event));
        }
        assert!(!NotifyEvent::defaults().contains(&NotifyEvent::Step));
        assert_eq!(NotifyEvent::defaults().len(), NotifyEvent::ALL.len() - 1);
    }

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("http://hooks.example.com/x?y=1").is_ok());
        assert!(check_url("https://hooks.slack.com/x").unwrap_err().contains("TLS"));
        assert!(check_url("ftp://x").unwrap_err().contains("http://"));
        assert!(check_url("http://u:p@x/").unwrap_err().contains("url-from"));
        assert!(check_url("http:///x").unwrap_err().contains("no host"));
        assert!(check_url(&format!("http://x/{}", "a".repeat(MAX_URL))).unwrap_err().contains("longer"));
    }
}
