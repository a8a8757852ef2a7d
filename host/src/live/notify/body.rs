//! What a subscriber is sent: one notification as Hoist's JSON or as a
//! Slack-compatible incoming-webhook body, bounded in size.

use hoist_registry::{NotifyEvent, NotifyFormat};
use serde::Serialize;
use serde_json::json;

/// The longest `reason` sent; a longer one is cut at a character boundary and ends in `…`.
pub const MAX_REASON: usize = 2048;

/// One rollout event for one subscriber.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    #[serde(serialize_with = "event_name")]
    pub event: NotifyEvent,
    pub service: String,
    pub environment: String,
    /// The rollout, `None` for a service at rest (a heal).
    pub rollout: Option<String>,
    /// The candidate revision of the rollout, or the healed revision.
    pub revision: Option<String>,
    /// The phase the event left the rollout in, when it says.
    pub phase: Option<&'static str>,
    /// The rollout's step, when the record has one.
    pub step: Option<u64>,
    pub reason: Option<String>,
    /// When it was recorded, ms since the epoch.
    pub at_ms: u64,
    /// The decision record it was read from.
    #[serde(skip)]
    pub seq: u64,
}

fn event_name<S: serde::Serializer>(event: &NotifyEvent, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(event.as_str())
}

impl Notification {
    /// The request body in `format`.
    pub fn body(&self, format: NotifyFormat) -> Vec<u8> {
        let mut this = self.clone();
        this.reason = this.reason.map(|r| bounded(&r));
        let value = match format {
            NotifyFormat::Json => serde_json::to_value(&this).unwrap_or_default(),
            NotifyFormat::Slack => json!({ "text": this.text() }),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }

    /// One line for a chat: "✅ web (prod) rollout r-2 of rev-2: completed — all passed".
    pub fn text(&self) -> String {
        let icon = match self.event {
            NotifyEvent::Completed => "✅",
            NotifyEvent::RolledBack | NotifyEvent::AnalysisFailed => "❌",
            NotifyEvent::Paused | NotifyEvent::Inconclusive | NotifyEvent::ApprovalNeeded => "⏸️",
            NotifyEvent::Healed => "🩹",
            NotifyEvent::Started | NotifyEvent::Step => "🚀",
        };
        let mut text = format!("{icon} {} ({})", self.service, self.environment);
        if let Some(rollout) = &self.rollout {
            text.push_str(&format!(" rollout {rollout}"));
        }
        if let Some(revision) = &self.revision {
            text.push_str(&format!(" of {revision}"));
        }
        text.push_str(&format!(": {}", self.event));
        if let Some(step) = self.step.filter(|_| self.event == NotifyEvent::Step) {
            text.push_str(&format!(" {step}"));
        }
        if let Some(phase) = self.phase.filter(|p| *p != "running" && *p != self.event.as_str()) {
            text.push_str(&format!(" ({phase})"));
        }
        if let Some(reason) = &self.reason {
            text.push_str(&format!(" — {}", bounded(reason)));
        }
        text
    }
}

fn bounded(text: &str) -> String {
    if text.len() <= MAX_REASON {
        return text.to_owned();
    }
    let mut end = MAX_REASON;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn completed() -> Notification {
        Notification {
            event: NotifyEvent::Completed,
            service: "web".into(),
            environment: "prod".into(),
            rollout: Some("r-2".into()),
            revision: Some("rev-2".into()),
            phase: Some("completed"),
            step: Some(3),
            reason: None,
            at_ms: 42,
            seq: 7,
        }
    }

    #[test]
    fn json_has_every_field_and_slack_one_line_of_text() {
        let body: Value = serde_json::from_slice(&completed().body(NotifyFormat::Json)).unwrap();
        assert_eq!(
            body,
            json!({ "event": "completed", "service": "web", "environment": "prod", "rollout": "r-2",
                    "revision": "rev-2", "phase": "completed", "step": 3, "reason": null, "at_ms": 42 })
        );
        let slack: Value = serde_json::from_slice(&completed().body(NotifyFormat::Slack)).unwrap();
        assert_eq!(slack, json!({ "text": "✅ web (prod) rollout r-2 of rev-2: completed" }));
        let rolled = Notification {
            event: NotifyEvent::RolledBack,
            phase: Some("aborted"),
            reason: Some("aborted by ana".into()),
            ..completed()
        };
        assert_eq!(rolled.text(), "❌ web (prod) rollout r-2 of rev-2: rolled-back (aborted) — aborted by ana");
    }

    #[test]
    fn a_long_reason_is_cut() {
        let long = Notification { reason: Some("é".repeat(MAX_REASON)), ..completed() };
        let body: Value = serde_json::from_slice(&long.body(NotifyFormat::Json)).unwrap();
        let reason = body["reason"].as_str().unwrap();
        assert!(reason.len() <= MAX_REASON + 3 && reason.ends_with('…'));
        assert!(long.body(NotifyFormat::Slack).len() < MAX_REASON + 200);
    }
}
