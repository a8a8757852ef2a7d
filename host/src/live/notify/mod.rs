//! Notifications: each environment's `[environments.ENV.notify.NAME]`
//! webhooks get its rollout events as the decision log records them.
//!
//! The notifier follows the log (polling the records after a cursor every
//! [`POLL`]), so nothing on the rollout's path waits for it. It starts at
//! the log's end: a restarted control plane does not send again what it
//! sent before (and what it had not sent yet when killed is lost: at most
//! once, never a flood). `event.rs` reads events from records, `body.rs`
//! shapes them, `deliver.rs` POSTs one with retries. Each subscription has
//! its own queue and task, so its events go in order and a slow or dead
//! receiver delays only itself; a notification that fails every attempt
//! (or finds the queue full) is a `notify` record in the log and a
//! `tracing` error, and the next one still goes.

pub mod body;
pub mod deliver;
pub mod event;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hoist_registry::{Registry, Subscription};
use hoist_store::{DecisionKind, DecisionRecord, LogFilter, Store};
use serde_json::json;
use tokio::sync::mpsc;

pub use body::Notification;
pub use deliver::Retry;
use event::{Dedupe, events_of};

/// How often the log is read for new records.
pub const POLL: Duration = Duration::from_millis(200);
/// Records read per poll; more wait for the next one.
const BATCH: usize = 512;
/// Notifications waiting per subscription; past this one is dropped (and recorded).
const QUEUE: usize = 256;
/// Rollouts whose candidate revision is remembered.
const KNOWN_ROLLOUTS: usize = 1024;

/// One subscription of one environment, with its queue.
struct Subscriber {
    environment: String,
    subscription: Subscription,
    queue: mpsc::Sender<Notification>,
}

/// Every environment's subscriptions; `None` when no environment has one.
pub fn subscriptions(registry: &Registry) -> Option<Vec<(String, Subscription)>> {
    let all: Vec<_> = registry
        .environments
        .iter()
        .flat_map(|(env, e)| e.notify.iter().map(move |s| (env.to_string(), s.clone())))
        .collect();
    (!all.is_empty()).then_some(all)
}

/// Follows `store`'s log from its end and notifies `subscriptions` until
/// `stop` resolves. A log that cannot be read is retried at the next poll.
pub async fn follow(
    store: Arc<Store>,
    subscriptions: Vec<(String, Subscription)>,
    retry: Retry,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut cursor = loop {
        match store.last_seq() {
            Ok(seq) => break seq,
            Err(err) => tracing::error!("notifications: cannot read the decision log, trying again: {err}"),
        }
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(POLL) => {}
        }
    };
    let mut workers = Vec::new();
    let subscribers: Vec<Subscriber> = subscriptions
        .into_iter()
        .map(|(environment, subscription)| {
            let (queue, rx) = mpsc::channel(QUEUE);
            let (s, e) = (subscription.clone(), environment.clone());
            workers.push(tokio::spawn(work(store.clone(), e, s, rx, retry)));
            Subscriber { environment, subscription, queue }
        })
        .collect();
    let mut dedupe = Dedupe::default();
    let mut revisions: BTreeMap<String, Option<String>> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            () = tokio::time::sleep(POLL) => {}
        }
        let filter = LogFilter { after_seq: Some(cursor), limit: Some(BATCH), ..LogFilter::default() };
        let records = match store.decision_log(&filter) {
            Ok(records) => records,
            Err(err) => {
                tracing::error!("notifications: cannot read the decision log, trying again: {err}");
                continue;
            }
        };
        for record in &records {
            cursor = record.seq;
            let wanted = |s: &&Subscriber| s.environment == record.environment;
            if !subscribers.iter().any(|s| wanted(&s)) {
                continue;
            }
            for ev in events_of(record) {
                if !dedupe.fresh(record, ev.event) {
                    continue;
                }
                let (revision, step) = facts_of(&store, record, &mut revisions);
                let notification = Notification {
                    event: ev.event,
                    service: record.service.clone(),
                    environment: record.environment.clone(),
                    rollout: record.rollout_id.clone(),
                    revision,
                    phase: ev.phase,
                    step,
                    reason: ev.reason,
                    at_ms: record.at_ms,
                    seq: record.seq,
                };
                for s in subscribers.iter().filter(wanted).filter(|s| s.subscription.events.contains(&ev.event)) {
                    if s.queue.try_send(notification.clone()).is_err() {
                        let why = format!("more than {QUEUE} notifications waiting; this one was dropped");
                        failed(&store, &s.environment, &s.subscription, &notification, &why);
                    }
                }
            }
        }
    }
    for worker in workers {
        worker.abort();
    }
}

/// The candidate of the record's rollout (or the revision a heal
/// replaced) and its step: the record's, else the rollout's latest (an
/// ending is recorded outside a step).
fn facts_of(
    store: &Store,
    record: &DecisionRecord,
    known: &mut BTreeMap<String, Option<String>>,
) -> (Option<String>, Option<u64>) {
    let Some(id) = &record.rollout_id else {
        let healed = record.input.get("revision").and_then(|r| r.as_str()).map(str::to_owned);
        return (healed, record.step);
    };
    if let (Some(revision), Some(step)) = (known.get(id), record.step) {
        return (revision.clone(), Some(step));
    }
    let rollout = match store.rollout(id) {
        Ok(rollout) => rollout,
        Err(err) => {
            tracing::warn!(rollout = %id, "notifications: cannot read the rollout: {err}");
            return (known.get(id).cloned().flatten(), record.step);
        }
    };
    if known.len() >= KNOWN_ROLLOUTS {
        known.clear();
    }
    let revision = rollout.as_ref().map(|r| r.candidate.clone());
    known.insert(id.clone(), revision.clone());
    (revision, record.step.or(rollout.map(|r| r.step)))
}

/// Delivers one subscription's notifications, in order.
async fn work(
    store: Arc<Store>,
    environment: String,
    subscription: Subscription,
    mut queue: mpsc::Receiver<Notification>,
    retry: Retry,
) {
    while let Some(notification) = queue.recv().await {
        let body = notification.body(subscription.format);
        match deliver::deliver(&subscription.url, &body, retry).await {
            Ok(attempts) => tracing::debug!(
                subscription = %subscription.name,
                event = %notification.event,
                attempts,
                "notification delivered"
            ),
            Err(why) => failed(&store, &environment, &subscription, &notification, &why),
        }
    }
}

fn now_ms() -> Option<u64> {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(since.as_millis()).ok()
}

/// A notification that will not arrive: a `tracing` error and a `notify`
/// record (shown by `hoist log`), never silence.
fn failed(store: &Store, environment: &str, subscription: &Subscription, n: &Notification, why: &str) {
    let reason = format!(
        "notification `{}` of {} (record {}) to subscription `{}` ({}) failed: {why}; check the receiver, or [environments.{environment}.notify.{}] in the registry",
        n.event, n.service, n.seq, subscription.name, subscription.url, subscription.name
    );
    tracing::error!(service = %n.service, environment, "{reason}");
    let record = DecisionRecord {
        rollout_id: n.rollout.clone(),
        input: json!({ "subscription": subscription.name, "event": n.event.as_str(), "record": n.seq }),
        error: Some(why.to_owned()),
        reason: Some(reason),
        ..DecisionRecord::new(&n.service, environment, now_ms().unwrap_or(n.at_ms), DecisionKind::Notify)
    };
    if let Err(err) = store.append_record(&record) {
        tracing::error!(service = %n.service, "cannot record a failed notification: {err}");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use hoist_registry::{Location, NotifyEvent, NotifyFormat, WebhookUrl};
    use serde_json::Value;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A loopback receiver answering 200; each body on the channel.
    async fn receiver() -> (String, mpsc::UnboundedReceiver<Value>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0; 4096];
                let body = loop {
                    let n = stream.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break body.to_owned();
                        }
                    }
                };
                stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.unwrap();
                tx.send(serde_json::from_str(&body).unwrap()).unwrap();
            }
        });
        (url, rx)
    }

    fn completed(rollout: &str) -> DecisionRecord {
        DecisionRecord {
            rollout_id: Some(rollout.into()),
            ..DecisionRecord::new("web", "prod", 1, DecisionKind::Complete)
        }
    }

    #[tokio::test]
    async fn the_follower_starts_at_the_log_end_and_skips_other_environments() {
        let store = Arc::new(Store::in_memory().unwrap());
        store.append_record(&completed("before")).unwrap();
        let (url, mut bodies) = receiver().await;
        let subscription = Subscription {
            name: "ops".into(),
            url: WebhookUrl::Inline(url),
            events: BTreeSet::from([NotifyEvent::Completed]),
            format: NotifyFormat::Json,
            location: Location { file: "registry.toml".into(), line: 1, column: 1 },
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(follow(store.clone(), vec![("prod".into(), subscription)], Retry::default(), async {
            let _ = stop_rx.await;
        }));
        tokio::time::sleep(POLL * 2).await;
        store.append_record(&DecisionRecord { environment: "dev".into(), ..completed("elsewhere") }).unwrap();
        store.append_record(&completed("after-1")).unwrap();
        store.append_record(&completed("after-2")).unwrap();
        for expected in ["after-1", "after-2"] {
            let body = tokio::time::timeout(Duration::from_secs(5), bodies.recv()).await.unwrap().unwrap();
            assert_eq!((body["event"].as_str(), body["rollout"].as_str()), (Some("completed"), Some(expected)));
        }
        let _ = stop_tx.send(());
        task.await.unwrap();
        assert!(bodies.try_recv().is_err(), "nothing from before the start or from another environment");
    }
}
