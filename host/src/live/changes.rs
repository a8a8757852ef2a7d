//! What changed about a service's instances, and the wake-ups of those who
//! act on it: the driver (rollouts in flight) and the at-rest reconciler.
//!
//! Fed by Hoist's probes (a readiness change), the process table (a child
//! exited) and the Docker engine's event stream (a container died, was
//! OOM-killed, changed health, started or was destroyed), so neither waits
//! for its next poll; polling stays as a slow safety net.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tokio::sync::Notify;

/// The labels every platform puts on an instance (`hoist_sdk::platform::labels`).
pub const SERVICE_LABEL: &str = "hoist.service";
pub const ENVIRONMENT_LABEL: &str = "hoist.environment";

/// The (service, environment) pairs whose instances changed since the
/// driver's last [`take`](Self::take), and the two wake-ups.
#[derive(Default)]
pub struct InstanceChanges {
    changed: Mutex<BTreeSet<(String, String)>>,
    driver: Notify,
    at_rest: Notify,
}

impl InstanceChanges {
    /// Resolves after a change (at once if one came since the last call):
    /// the driver's wake-up.
    pub async fn changed(&self) {
        self.driver.notified().await;
    }

    /// The at-rest reconciler's wake-up, independent of the driver's.
    pub async fn changed_at_rest(&self) {
        self.at_rest.notified().await;
    }

    /// The services changed since the last call (for the driver).
    pub fn take(&self) -> BTreeSet<(String, String)> {
        std::mem::take(&mut *self.changed.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// An instance of `service` in `environment` changed.
    pub fn mark(&self, service: &str, environment: &str) {
        self.changed.lock().unwrap_or_else(|p| p.into_inner()).insert((service.into(), environment.into()));
        self.driver.notify_one();
        self.at_rest.notify_one();
    }

    /// An instance with these labels changed; one without Hoist's service
    /// and environment labels is not Hoist's, and ignored.
    pub fn mark_labelled<'a>(&self, labels: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let (mut service, mut environment) = (None, None);
        for (k, v) in labels {
            match k {
                SERVICE_LABEL => service = Some(v),
                ENVIRONMENT_LABEL => environment = Some(v),
                _ => {}
            }
        }
        if let (Some(service), Some(environment)) = (service, environment) {
            self.mark(service, environment);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_wakes_the_driver_and_the_reconciler_once_each() {
        let changes = InstanceChanges::default();
        changes.mark_labelled([("hoist.service", "web"), ("hoist.environment", "prod"), ("hoist.index", "0")]);
        changes.mark_labelled([("com.example", "x")]);
        changes.changed().await;
        changes.changed_at_rest().await;
        assert_eq!(changes.take(), BTreeSet::from([("web".to_string(), "prod".to_string())]));
        assert!(changes.take().is_empty());
    }
}
