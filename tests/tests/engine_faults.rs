//! The engine under faults, in virtual time, with the real plugins on the
//! simulated platform: a deploy lock that holds through a one-hour canary
//! step, an abort honoured while the platform cannot be observed, a
//! progress deadline that passes while it cannot, a stored intent that
//! does not parse, and heal records read back at start (one unreadable).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use hoist::catalog;
use hoist::engine::{Clock as _, DeployRequest, Engine, EngineConfig, EngineError, ServiceSpec, Tick};
use hoist::simulate::scenario::TrafficDecl;
use hoist::simulate::world::{VirtualClock, World};
use hoist_registry::Registry;
use hoist_store::{CommandKind, Lock, LockOutcome, NewRevision, Phase, Store};

const HOUR: u64 = 3_600_000;

const REGISTRY: &str = r#"version = 1
[plugins.canary]
kind = "strategy"
source = "builtin:canary"
[[plugins.canary.config.steps]]
set-weight = 20
[[plugins.canary.config.steps]]
pause = { duration-ms = 3600000 }
[[plugins.canary.config.steps]]
set-weight = 100

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]

[environments.prod]
platform = "local-process"
strategy = "canary"
"#;

struct Sim {
    clock: Arc<VirtualClock>,
    world: Arc<World>,
    engine: Engine,
    _dir: tempfile::TempDir,
}

fn sim(config: EngineConfig) -> Sim {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.toml");
    std::fs::write(&path, REGISTRY).unwrap();
    let registry = Registry::load(&path).unwrap();
    let runtime = hoist_tests::runtime(&dir);
    let plugins = catalog::env_plugins(&runtime, &registry, "prod").unwrap();
    let clock = Arc::new(VirtualClock::default());
    let world = Arc::new(World::new(clock.clone(), 1_000, TrafficDecl::default()));
    let store = Arc::new(Store::in_memory().unwrap());
    let stable = store
        .create_revision(&NewRevision {
            service: "web".into(),
            environment: "prod".into(),
            version: "v1".into(),
            spec: serde_json::to_value(ServiceSpec { replicas: 4, ..ServiceSpec::default() }).unwrap(),
            created_at_ms: 0,
            created_by: "test".into(),
        })
        .unwrap();
    store.set_current("web", "prod", &stable.id).unwrap();
    world.seed("web", "prod", &stable.id, 4);
    let engine = Engine {
        store,
        clock: clock.clone(),
        platform: world.clone(),
        traffic: world.clone(),
        metrics: world.clone(),
        envs: BTreeMap::from([("prod".to_string(), plugins)]),
        config,
        stats: Default::default(),
        healing: Default::default(),
    };
    Sim { clock, world, engine, _dir: dir }
}

fn deploy(engine: &Engine, version: &str) -> Result<hoist_store::Rollout, EngineError> {
    engine.deploy(&DeployRequest {
        service: "web".into(),
        environment: "prod".into(),
        version: version.into(),
        spec: ServiceSpec { replicas: 4, ..ServiceSpec::default() },
        strategy: None,
        requested_by: "alice".into(),
        reason: "test".into(),
    })
}

impl Sim {
    /// Steps rollout `id` in virtual time until it ends or `until` passes.
    async fn run(&self, id: &str, until: u64) -> Option<Phase> {
        let mut now = self.clock.now_ms();
        loop {
            self.clock.set(now);
            match self.engine.tick(id).await.unwrap() {
                Tick::Done(phase) => return Some(phase),
                Tick::At(at) => now = at.max(now + 1),
                Tick::Operator => now += 1_000,
            }
            if now > until {
                self.clock.set(until);
                return None;
            }
        }
    }

    fn rollout(&self, id: &str) -> hoist_store::Rollout {
        self.engine.store.rollout(id).unwrap().unwrap()
    }
}

#[tokio::test]
async fn a_one_hour_canary_step_keeps_its_lock_and_a_second_deploy_is_refused() {
    let sim = sim(EngineConfig { progress_deadline_ms: 3 * HOUR, ..EngineConfig::default() });
    let first = deploy(&sim.engine, "v2").unwrap();
    // 50 minutes into the one-hour pause: far past the 5-minute lock TTL.
    assert_eq!(sim.run(&first.id, 50 * 60_000).await, None);
    assert_eq!(sim.rollout(&first.id).phase, Phase::Running);

    let lock = sim.engine.store.lock("web", "prod").unwrap().expect("the lock is held");
    assert_eq!(lock.owner, first.id);
    assert!(lock.expires_at_ms > sim.clock.now_ms(), "renewed with the rollout's writes: {lock:?}");

    let err = deploy(&sim.engine, "v3").expect_err("a second deploy of the same service is refused");
    assert!(
        matches!(&err, EngineError::Locked { owner, .. } if owner == &first.id),
        "refused, naming the owner: {err}"
    );
    assert!(err.to_string().contains(&first.id), "{err}");

    // Even once the lock has lapsed (an engine down for an hour), no one
    // else takes it while its rollout lives.
    let later = lock.expires_at_ms + HOUR;
    let outcome = sim
        .engine
        .store
        .acquire_lock(&Lock {
            service: "web".into(),
            environment: "prod".into(),
            owner: "web.prod.99".into(),
            reason: "intruder".into(),
            acquired_at_ms: later,
            expires_at_ms: later + 60_000,
        })
        .unwrap();
    assert!(matches!(outcome, LockOutcome::Held(ref l) if l.owner == first.id), "{outcome:?}");

    // And it completes, releasing the lock in the same write.
    assert_eq!(sim.run(&first.id, 3 * HOUR).await, Some(Phase::Completed));
    assert!(sim.engine.store.lock("web", "prod").unwrap().is_none());
    deploy(&sim.engine, "v3").expect("free again");
}

#[tokio::test]
async fn an_abort_while_the_platform_cannot_be_observed_is_recorded_and_the_rollout_ends() {
    let sim = sim(EngineConfig::default());
    let rollout = deploy(&sim.engine, "v2").unwrap();
    assert_eq!(sim.run(&rollout.id, 60_000).await, None);
    sim.world.set_unobservable(Some("engine unreachable at unix:///var/run/docker.sock"));
    sim.engine.command(&rollout.id, CommandKind::Abort, "bob", "bad canary").unwrap();
    let start = sim.clock.now_ms();
    assert_eq!(sim.run(&rollout.id, start + 30_000).await, None);
    let r = sim.rollout(&rollout.id);
    assert!(
        r.status.starts_with("rollback pending (aborted by bob: bad canary): cannot observe the platform"),
        "{}",
        r.status
    );
    assert!(sim.engine.store.pending_commands(&rollout.id).unwrap().is_empty(), "the abort was consumed with its step");
    let log = sim
        .engine
        .store
        .decision_log(&hoist_store::LogFilter { rollout_id: Some(rollout.id.clone()), ..Default::default() })
        .unwrap();
    assert!(
        log.iter().any(|rec| rec.kind == hoist_store::DecisionKind::Operator && rec.operator.as_deref() == Some("bob")),
        "the abort is in the log"
    );

    // The platform never answers: the rollout ends, failed, at the
    // rollback deadline instead of retrying forever.
    let phase = sim.run(&rollout.id, start + 10 * 60_000).await;
    assert_eq!(phase, Some(Phase::Failed));
    let r = sim.rollout(&rollout.id);
    assert!(r.status.contains("the rollback could not start: the platform has not answered"), "{}", r.status);
    assert!(sim.engine.store.lock("web", "prod").unwrap().is_none(), "an ended rollout holds no lock");
}

#[tokio::test]
async fn an_abort_while_blind_is_acted_on_once_the_platform_answers() {
    let sim = sim(EngineConfig::default());
    let rollout = deploy(&sim.engine, "v2").unwrap();
    assert_eq!(sim.run(&rollout.id, 60_000).await, None);
    sim.world.set_unobservable(Some("connection refused"));
    sim.engine.command(&rollout.id, CommandKind::Abort, "bob", "").unwrap();
    assert_eq!(sim.run(&rollout.id, 90_000).await, None);
    sim.world.set_unobservable(None);
    assert_eq!(sim.run(&rollout.id, 10 * 60_000).await, Some(Phase::Aborted));
}

#[tokio::test]
async fn the_progress_deadline_passes_while_the_platform_cannot_be_observed() {
    let sim = sim(EngineConfig { progress_deadline_ms: 10 * 60_000, ..EngineConfig::default() });
    let rollout = deploy(&sim.engine, "v2").unwrap();
    assert_eq!(sim.run(&rollout.id, 30_000).await, None);
    sim.world.set_unobservable(Some("config refused: unknown field `stop-grace-mss`"));
    let phase = sim.run(&rollout.id, 40 * 60_000).await;
    assert_eq!(phase, Some(Phase::Failed), "it ends: {}", sim.rollout(&rollout.id).status);
    let r = sim.rollout(&rollout.id);
    assert!(
        r.updated_at_ms <= 10 * 60_000 + 5 * 60_000 + 1_000,
        "within deadline + rollback deadline: {}",
        r.updated_at_ms
    );
    assert!(r.status.contains("progress deadline exceeded"), "{}", r.status);
}

#[tokio::test]
async fn a_stored_intent_that_does_not_parse_stops_the_rollout_visibly() {
    let sim = sim(EngineConfig::default());
    let rollout = deploy(&sim.engine, "v2").unwrap();
    assert_eq!(sim.run(&rollout.id, 20_000).await, None);
    let mut r = sim.rollout(&rollout.id);
    r.intent = serde_json::json!({ "replicas": "not a map" });
    sim.engine.store.save_rollout(&r).unwrap();
    assert_eq!(sim.run(&rollout.id, 40_000).await, Some(Phase::Failed));
    let r = sim.rollout(&rollout.id);
    assert!(r.status.contains("the stored intent of rollout") && r.status.contains("cannot be read"), "{}", r.status);
    assert_eq!(r.intent, serde_json::json!({ "replicas": "not a map" }), "the bad document is kept for inspection");
}

#[tokio::test]
async fn heal_records_rebuild_the_backoff_and_an_unreadable_one_holds_its_service() {
    use hoist::engine::heal::{BACKOFF_MAX_MS, STABLE_AFTER_MS};
    use hoist_store::{DecisionKind, DecisionRecord, LogFilter};
    let sim = sim(EngineConfig::default());
    let heal = |service: &str, at: u64, input: serde_json::Value| {
        let record = DecisionRecord { input, ..DecisionRecord::new(service, "prod", at, DecisionKind::Heal) };
        sim.engine.store.append_record(&record).unwrap()
    };
    let looping = |attempts: u32| serde_json::json!({ "revision": "r1", "missing": 1, "last_exit": "exit code 3", "restarts": 7, "attempts": attempts });
    heal("web", 100_000, looping(3));
    heal("web", 103_000, looping(4)); // the last one counts: next at 103 s + 8 s
    heal("old", 10_000, looping(3)); // a minute past its backoff: stable since
    let bad = heal("db", 104_000, serde_json::json!({ "restarts": "many" }));
    sim.clock.set(105_000);
    sim.engine.restore_healing().unwrap();

    let web = sim.engine.healing.of("web", "prod").unwrap();
    assert_eq!((web.restarts, web.attempts, web.next_at_ms), (7, 4, 111_000), "{web:?}");
    assert_eq!(web.last_exit.as_deref(), Some("exit code 3"));
    let old = sim.engine.healing.of("old", "prod").unwrap();
    assert!(old.next_at_ms + STABLE_AFTER_MS <= 105_000 && old.attempts == 0, "{old:?}");
    let db = sim.engine.healing.of("db", "prod").unwrap();
    assert_eq!(db.next_at_ms, 105_000 + BACKOFF_MAX_MS, "held the longest backoff: {db:?}");
    let errors = sim
        .engine
        .store
        .decision_log(&LogFilter { service: Some("db".into()), kind: Some(DecisionKind::Error), ..Default::default() })
        .unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let message = errors[0].error.as_deref().unwrap_or_default();
    assert!(message.contains(&format!("(seq {bad}) cannot be read")) && message.contains("`db`"), "{message}");
    assert_eq!(sim.engine.healing.next_due(105_000), Some(111_000), "the at-rest watcher wakes for web's backoff");
}
