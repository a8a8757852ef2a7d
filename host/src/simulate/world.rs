//! The simulated world the real engine runs against: a virtual clock, a
//! platform whose instances become ready after a start-up delay (and fail
//! when the script says), a traffic table, and metrics synthesised from the
//! scripted traffic characteristics. Deterministic: no wall clock, no
//! randomness.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::scenario::TrafficDecl;
use crate::engine::ports::{BoxFuture, Clock, Metrics, Platform, PlatformFault, RevisionSpec, Traffic};
use crate::runtime::bindings::base::hoist::plugin::types::{Instance, InstanceState, Weight};
use crate::runtime::bindings::health::exports::hoist::plugin::health::RevisionMetrics;

#[derive(Default)]
pub struct VirtualClock(AtomicU64);

impl VirtualClock {
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Debug)]
struct SimInstance {
    id: String,
    revision: String,
    ready_at_ms: u64,
    failed: bool,
    /// Ended, as a killed container does; listed until `ensure` clears it.
    exited: bool,
}

type Key = (String, String);

/// The simulated world; one per simulation.
pub struct World {
    clock: std::sync::Arc<VirtualClock>,
    startup_ms: u64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    instances: BTreeMap<Key, Vec<SimInstance>>,
    weights: BTreeMap<Key, Vec<Weight>>,
    /// Traffic characteristics per revision id.
    traffic: BTreeMap<String, TrafficDecl>,
    baseline: TrafficDecl,
    next_id: u64,
    /// Start-up time per service, where it differs from the world's.
    startup: BTreeMap<String, u64>,
    /// Revisions the platform fails to run, and how.
    ensure_faults: BTreeMap<String, PlatformFault>,
    /// Set while the platform cannot be observed at all (an engine down).
    unobservable: Option<String>,
}

impl World {
    pub fn new(clock: std::sync::Arc<VirtualClock>, startup_ms: u64, baseline: TrafficDecl) -> Self {
        Self { clock, startup_ms, inner: Mutex::new(Inner { baseline, ..Inner::default() }) }
    }

    /// Instances of `service` take `ms` to become ready.
    /// Makes every observation fail with `error` (`None`: answer again).
    pub fn set_unobservable(&self, error: Option<&str>) {
        self.lock().unobservable = error.map(str::to_string);
    }

    pub fn set_startup(&self, service: &str, ms: u64) {
        self.lock().startup.insert(service.to_string(), ms);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Instances of `revision` that are ready from t=0 (the stable revision).
    pub fn seed(&self, service: &str, environment: &str, revision: &str, replicas: u32) {
        let mut inner = self.lock();
        let key = (service.to_string(), environment.to_string());
        for _ in 0..replicas {
            inner.next_id += 1;
            let id = format!("{revision}-{}", inner.next_id);
            inner.instances.entry(key.clone()).or_default().push(SimInstance {
                id,
                revision: revision.into(),
                ready_at_ms: 0,
                failed: false,
                exited: false,
            });
        }
        inner.weights.insert(key, vec![Weight { revision: revision.into(), percent: 100 }]);
    }

    /// Changes a revision's traffic characteristics from now on.
    pub fn set_traffic(&self, revision: &str, change: &TrafficDecl) {
        let mut inner = self.lock();
        let base = inner.baseline.clone();
        let entry = inner.traffic.entry(revision.to_string()).or_insert(base);
        merge(entry, change);
    }

    /// The n-th instance of `revision` (creation order) fails its probe.
    pub fn fail_instance(&self, revision: &str, n: usize) -> Option<String> {
        let mut inner = self.lock();
        let mut seen = 0;
        for list in inner.instances.values_mut() {
            for i in list.iter_mut().filter(|i| i.revision == revision) {
                if seen == n {
                    i.failed = true;
                    return Some(i.id.clone());
                }
                seen += 1;
            }
        }
        None
    }

    /// The n-th instance of `revision` (creation order) exits.
    pub fn kill_instance(&self, revision: &str, n: usize) -> Option<String> {
        let mut inner = self.lock();
        let victim =
            inner.instances.values_mut().flat_map(|l| l.iter_mut()).filter(|i| i.revision == revision).nth(n)?;
        victim.exited = true;
        Some(victim.id.clone())
    }

    /// From now on `ensure` of `revision` fails with `fault` (or works again).
    pub fn fail_ensure(&self, revision: &str, fault: Option<PlatformFault>) {
        let mut inner = self.lock();
        match fault {
            Some(f) => inner.ensure_faults.insert(revision.to_string(), f),
            None => inner.ensure_faults.remove(revision),
        };
    }

    fn characteristics(&self, inner: &Inner, revision: &str) -> TrafficDecl {
        inner.traffic.get(revision).cloned().unwrap_or_else(|| inner.baseline.clone())
    }
}

fn merge(into: &mut TrafficDecl, change: &TrafficDecl) {
    if change.rps.is_some() {
        into.rps = change.rps;
    }
    if change.error_rate.is_some() {
        into.error_rate = change.error_rate;
    }
    if change.p50_ms.is_some() {
        into.p50_ms = change.p50_ms;
    }
    if change.p95_ms.is_some() {
        into.p95_ms = change.p95_ms;
    }
    if change.p99_ms.is_some() {
        into.p99_ms = change.p99_ms;
    }
}

impl Platform for World {
    fn ensure<'a>(&'a self, spec: &'a RevisionSpec, replicas: u32) -> BoxFuture<'a, Result<(), PlatformFault>> {
        Box::pin(async move {
            let now = self.clock.now_ms();
            let mut inner = self.lock();
            if let Some(fault) = inner.ensure_faults.get(&spec.revision) {
                return Err(fault.clone());
            }
            let key = (spec.service.clone(), spec.environment.clone());
            let mut next_id = inner.next_id;
            let startup = inner.startup.get(&spec.service).copied().unwrap_or(self.startup_ms);
            let list = inner.instances.entry(key).or_default();
            // Like the real platforms, ended instances are cleared and replaced.
            list.retain(|i| !(i.revision == spec.revision && i.exited));
            let have = list.iter().filter(|i| i.revision == spec.revision).count() as u32;
            if have < replicas {
                for _ in have..replicas {
                    next_id += 1;
                    list.push(SimInstance {
                        id: format!("{}-{next_id}", spec.revision),
                        revision: spec.revision.clone(),
                        ready_at_ms: now + startup,
                        failed: false,
                        exited: false,
                    });
                }
            } else {
                // Newest first, failed ones before healthy ones.
                let mut excess = have - replicas;
                while excess > 0 {
                    let pos = list
                        .iter()
                        .rposition(|i| i.revision == spec.revision && i.failed)
                        .or_else(|| list.iter().rposition(|i| i.revision == spec.revision));
                    match pos {
                        Some(p) => {
                            list.remove(p);
                        }
                        None => break,
                    }
                    excess -= 1;
                }
            }
            inner.next_id = next_id;
            Ok(())
        })
    }

    fn instances<'a>(&'a self, service: &'a str, environment: &'a str) -> BoxFuture<'a, Result<Vec<Instance>, String>> {
        Box::pin(async move {
            let now = self.clock.now_ms();
            let inner = self.lock();
            if let Some(error) = &inner.unobservable {
                return Err(error.clone());
            }
            let key = (service.to_string(), environment.to_string());
            Ok(inner
                .instances
                .get(&key)
                .map(|list| {
                    list.iter()
                        .map(|i| {
                            let (state, ready_for) = if i.exited {
                                (InstanceState::Exited(crate::exits::killed_by(9)), None)
                            } else if i.failed {
                                (InstanceState::Unready, None)
                            } else if now >= i.ready_at_ms {
                                (InstanceState::Ready, Some(now - i.ready_at_ms))
                            } else {
                                (InstanceState::Starting, None)
                            };
                            Instance {
                                id: i.id.clone(),
                                revision: i.revision.clone(),
                                address: None,
                                state,
                                ready_for_ms: ready_for,
                                extensions: vec![],
                            }
                        })
                        .collect()
                })
                .unwrap_or_default())
        })
    }

    fn remove<'a>(
        &'a self,
        service: &'a str,
        environment: &'a str,
        revision: &'a str,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut inner = self.lock();
            if let Some(list) = inner.instances.get_mut(&(service.to_string(), environment.to_string())) {
                list.retain(|i| i.revision != revision);
            }
            Ok(())
        })
    }
}

impl Traffic for World {
    fn set_weights(&self, service: &str, environment: &str, weights: &[Weight]) -> Result<(), String> {
        self.lock().weights.insert((service.to_string(), environment.to_string()), weights.to_vec());
        Ok(())
    }

    fn weights(&self, service: &str, environment: &str) -> Vec<Weight> {
        self.lock().weights.get(&(service.to_string(), environment.to_string())).cloned().unwrap_or_default()
    }
}

impl Metrics for World {
    /// Requests = service rps × the revision's current traffic share × the
    /// window; errors and latencies from the revision's characteristics.
    fn window(&self, service: &str, environment: &str, revision: &str, from_ms: u64, to_ms: u64) -> RevisionMetrics {
        let inner = self.lock();
        let key = (service.to_string(), environment.to_string());
        let c = self.characteristics(&inner, revision);
        let share = inner
            .weights
            .get(&key)
            .and_then(|ws| ws.iter().find(|w| w.revision == revision))
            .map_or(0.0, |w| f64::from(w.percent) / 100.0);
        let instances = inner
            .instances
            .get(&key)
            .map(|l| l.iter().filter(|i| i.revision == revision).collect::<Vec<_>>())
            .unwrap_or_default();
        let ready = instances.iter().filter(|i| !i.failed && !i.exited && to_ms >= i.ready_at_ms).count() as u32;
        let failed = instances.iter().filter(|i| i.failed).count() as u32;
        let seconds = to_ms.saturating_sub(from_ms) as f64 / 1000.0;
        let requests = (c.rps.unwrap_or(0.0) * share * seconds).floor() as u64;
        let errors = (requests as f64 * c.error_rate.unwrap_or(0.0)).floor() as u64;
        RevisionMetrics {
            revision: revision.to_string(),
            requests,
            errors,
            connection_errors: 0,
            latency_p50_ms: (requests > 0).then_some(c.p50_ms).flatten(),
            latency_p95_ms: (requests > 0).then_some(c.p95_ms).flatten(),
            latency_p99_ms: (requests > 0).then_some(c.p99_ms).flatten(),
            ready_instances: ready,
            desired_instances: instances.len() as u32,
            probe_failures: failed,
            custom: vec![],
            extensions: vec![],
        }
    }
}
