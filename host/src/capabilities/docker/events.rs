//! The engine's event stream, for the live control plane: the container
//! events that change what a platform observes (die, oom, health_status,
//! start, destroy) of containers carrying Hoist's service label. A listener
//! hears each at once, so the rollout or the at-rest reconciler looks now
//! instead of at its next poll.
//!
//! The stream is reopened after an error or its end (an engine restart, the
//! client's request timeout) with a capped backoff, from the time of the
//! last event seen, so none is lost in between.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;

use super::client::DockerClient;

/// The actions a platform's observation depends on.
const ACTIONS: [&str; 5] = ["die", "oom", "health_status", "start", "destroy"];
/// The label every Hoist container carries.
const SERVICE_LABEL: &str = "hoist.service";
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// One container event, as a listener sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerEvent {
    pub container: String,
    /// `die`, `oom`, `start`, `destroy`, or `health_status: healthy` (the
    /// engine's wording).
    pub action: String,
    /// The container's labels and the engine's attributes (`name`, `image`,
    /// `exitCode` on `die`).
    pub attributes: HashMap<String, String>,
}

impl ContainerEvent {
    /// The exit code of a `die`.
    pub fn exit_code(&self) -> Option<i64> {
        self.attributes.get("exitCode").and_then(|c| c.parse().ok())
    }

    fn of(message: EventMessage) -> Option<Self> {
        let actor = message.actor?;
        Some(Self {
            container: actor.id.unwrap_or_default(),
            action: message.action.unwrap_or_default(),
            attributes: actor.attributes.unwrap_or_default(),
        })
    }
}

impl DockerClient {
    /// Calls `listener` with every event of a Hoist container until `stop`
    /// resolves, reconnecting as needed; an engine that cannot be reached is
    /// retried quietly after the first warning.
    pub async fn watch_events(&self, listener: impl Fn(ContainerEvent), stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut since: Option<i64> = None;
        let mut retry = FIRST_RETRY;
        let mut warned = false;
        loop {
            let watched = async {
                let docker = self.engine().await.map_err(|e| format!("{e:?}"))?;
                let filters = HashMap::from([
                    ("type".to_string(), vec!["container".to_string()]),
                    ("label".to_string(), vec![SERVICE_LABEL.to_string()]),
                    ("event".to_string(), ACTIONS.iter().map(|a| a.to_string()).collect()),
                ]);
                let options =
                    EventsOptions { since: since.map(|s| s.to_string()), until: None, filters: Some(filters) };
                let mut stream = docker.events(Some(options));
                while let Some(message) = stream.next().await {
                    let message = message.map_err(|e| e.to_string())?;
                    since = message.time.or(since);
                    retry = FIRST_RETRY;
                    warned = false;
                    if let Some(event) = ContainerEvent::of(message) {
                        listener(event);
                    }
                }
                Ok::<(), String>(())
            };
            let ended = tokio::select! {
                () = &mut stop => return,
                ended = watched => ended,
            };
            match ended {
                Err(err) if !warned => {
                    tracing::warn!(
                        engine = %self.address(),
                        "the engine's event stream broke ({err}); polling alone observes containers until it is back"
                    );
                    warned = true;
                }
                _ => tracing::debug!(engine = %self.address(), "reopening the engine's event stream"),
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(MAX_RETRY);
        }
    }
}
