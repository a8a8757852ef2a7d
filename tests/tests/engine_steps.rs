//! The engine's step, branch by branch, without wasm: the strategy is a
//! scripted port (each call answers what the test queued) or a builtin
//! compiled natively, the platform, traffic and metrics the simulator's, in
//! virtual time. Each test names the branch of `engine/step/` it drives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use hoist::engine::ports::BoxFuture;
use hoist::engine::{
    CallFailure, Called, Clock as _, Configured, DeployRequest, Engine, EngineConfig, EnvPlugins, HealthPolicy, Named,
    PlatformFault, ServiceSpec, Strategy, Tick,
};
use hoist::runtime::bindings::base::hoist::plugin::types::Weight;
use hoist::runtime::bindings::strategy::exports::hoist::plugin::strategy::{
    Action, AnalysisRequest, Context, Decision, OperatorCommand, ReadyTarget, ScaleTo, WaitFor,
};
use hoist::simulate::scenario::TrafficDecl;
use hoist::simulate::world::{VirtualClock, World};
use hoist_store::{CommandKind, NewRevision, Phase, Rollout, Store};
use hoist_tests::native::Native;

/// A strategy that answers each call with the next queued answer (and
/// `wait 1 s` once the queue is empty), keeping every context it saw.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<Decision, CallFailure>>>,
    seen: Mutex<Vec<Context>>,
}

impl Scripted {
    fn then(&self, actions: Vec<Action>) -> &Self {
        self.answers.lock().unwrap().push_back(Ok(Decision { state: vec![], actions, status: "scripted".into() }));
        self
    }
    fn fail(&self, failure: CallFailure) -> &Self {
        self.answers.lock().unwrap().push_back(Err(failure));
        self
    }
    fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    fn last(&self) -> Context {
        self.seen.lock().unwrap().last().cloned().expect("the strategy was called")
    }
}

impl Named for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn digest(&self) -> &str {
        "scripted"
    }
}

impl Strategy for Scripted {
    fn decide<'a>(&'a self, ctx: &'a Context) -> BoxFuture<'a, Called<Decision>> {
        self.seen.lock().unwrap().push(ctx.clone());
        let next = self.answers.lock().unwrap().pop_front();
        let outcome = next.unwrap_or_else(|| {
            Ok(Decision { state: vec![], actions: vec![Action::Wait(WaitFor::Duration(1_000))], status: "idle".into() })
        });
        Box::pin(async move { Called { outcome, printed: None, elapsed: None } })
    }
}

struct Bench {
    clock: Arc<VirtualClock>,
    world: Arc<World>,
    engine: Engine,
}

const SVC: &str = "web";
const ENV: &str = "prod";

fn bench(strategy: Arc<dyn Strategy>, health: Vec<Arc<dyn HealthPolicy>>, config: EngineConfig) -> Bench {
    let clock = Arc::new(VirtualClock::default());
    let world = Arc::new(World::new(clock.clone(), 1_000, TrafficDecl::default()));
    let store = Arc::new(Store::in_memory().unwrap());
    let plugins = EnvPlugins {
        strategy: Configured { plugin: strategy, config: "{}".into() },
        strategies: BTreeMap::new(),
        health: health.into_iter().map(|plugin| Configured { plugin, config: "{}".into() }).collect(),
        admission: vec![],
        analysis: vec![],
        labels: BTreeMap::new(),
        router_addresses: vec![],
    };
    let engine = Engine {
        store,
        clock: clock.clone(),
        platform: world.clone(),
        traffic: world.clone(),
        metrics: world.clone(),
        envs: BTreeMap::from([(ENV.to_string(), plugins)]),
        config,
        stats: Default::default(),
        healing: Default::default(),
    };
    Bench { clock, world, engine }
}

impl Bench {
    /// A current revision `v1` with `replicas` ready instances.
    fn stable(&self, replicas: u32) -> String {
        let rev = self
            .engine
            .store
            .create_revision(&NewRevision {
                service: SVC.into(),
                environment: ENV.into(),
                version: "v1".into(),
                spec: serde_json::to_value(ServiceSpec { replicas, ..ServiceSpec::default() }).unwrap(),
                created_at_ms: 0,
                created_by: "test".into(),
            })
            .unwrap();
        self.engine.store.set_current(SVC, ENV, &rev.id).unwrap();
        self.world.seed(SVC, ENV, &rev.id, replicas);
        rev.id
    }

    fn deploy(&self, replicas: u32) -> Rollout {
        self.engine
            .deploy(&DeployRequest {
                service: SVC.into(),
                environment: ENV.into(),
                version: "v2".into(),
                spec: ServiceSpec { replicas, ..ServiceSpec::default() },
                strategy: None,
                requested_by: "alice".into(),
                reason: "test".into(),
            })
            .unwrap()
    }

    fn at(&self, ms: u64) -> &Self {
        self.clock.set(ms);
        self
    }

    async fn tick(&self, id: &str) -> Tick {
        self.engine.tick(id).await.unwrap()
    }

    fn rollout(&self, id: &str) -> Rollout {
        self.engine.store.rollout(id).unwrap().unwrap()
    }

    fn kinds(&self, id: &str) -> Vec<String> {
        let filter = hoist_store::LogFilter { rollout_id: Some(id.into()), ..Default::default() };
        self.engine.store.decision_log(&filter).unwrap().into_iter().map(|r| r.kind.to_string()).collect()
    }

    async fn ready(&self, revision: &str) -> u32 {
        use hoist::engine::Platform as _;
        let instances = self.world.instances(SVC, ENV).await.unwrap();
        instances
            .iter()
            .filter(|i| {
                i.revision == revision
                    && matches!(i.state, hoist::runtime::bindings::base::hoist::plugin::types::InstanceState::Ready)
            })
            .count() as u32
    }

    async fn weights(&self) -> Vec<(String, u8)> {
        use hoist::engine::Traffic as _;
        self.world.weights(SVC, ENV).into_iter().map(|w| (w.revision, w.percent)).collect()
    }

    /// Steps `id` in virtual time until it ends or `until` passes.
    async fn run(&self, id: &str, until: u64) -> Option<Phase> {
        let mut now = self.clock.now_ms();
        while now <= until {
            self.clock.set(now);
            match self.tick(id).await {
                Tick::Done(phase) => return Some(phase),
                Tick::At(at) => now = at.max(now + 1),
                Tick::Operator => now += 1_000,
            }
        }
        None
    }
}

fn scale(revision: &str, replicas: u32) -> Action {
    Action::Scale(ScaleTo { revision: revision.into(), replicas })
}

fn weights(split: &[(&str, u8)]) -> Action {
    Action::SetWeights(split.iter().map(|(r, p)| Weight { revision: r.to_string(), percent: *p }).collect())
}

fn rt<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

#[test]
fn decide_applies_scale_and_weights_then_complete_removes_the_old_revision() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig::default());
        let v1 = b.stable(2);
        let r = b.deploy(2);
        let v2 = r.candidate.clone();
        s.then(vec![scale(&v2, 2), Action::Wait(WaitFor::Ready(ReadyTarget { revision: v2.clone(), count: 2 }))]);
        s.then(vec![weights(&[(&v1, 50), (&v2, 50)]), Action::Wait(WaitFor::Duration(10_000))]);
        s.then(vec![Action::Complete]);
        // Scale: instances of the candidate are started (ready after 1 s).
        assert!(matches!(b.at(0).tick(&r.id).await, Tick::At(_)));
        assert_eq!(s.calls(), 1);
        // The ready-wait is met once 2 candidate instances are ready.
        b.at(500).tick(&r.id).await;
        assert_eq!(s.calls(), 1, "not ready yet: no decision");
        b.at(1_500).tick(&r.id).await;
        assert_eq!(s.calls(), 2);
        assert_eq!(b.weights().await, [(v1.clone(), 50), (v2.clone(), 50)]);
        // A duration wait: not due before 10 s.
        b.at(5_000).tick(&r.id).await;
        assert_eq!(s.calls(), 2);
        assert_eq!(b.at(11_500).tick(&r.id).await, Tick::Done(Phase::Completed));
        assert_eq!(b.ready(&v1).await, 0, "the old revision is removed");
        assert_eq!(b.weights().await, [(v2.clone(), 100)]);
        assert_eq!(b.engine.store.current(SVC, ENV).unwrap().unwrap().id, v2);
        let kinds = b.kinds(&r.id);
        assert_eq!(kinds.iter().filter(|k| *k == "decide").count(), 3);
        assert!(kinds.contains(&"complete".to_string()), "{kinds:?}");
    });
}

#[test]
fn a_strategy_that_refuses_or_faults_is_retried_then_rolled_back() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig { max_faults: 2, ..EngineConfig::default() });
        let v1 = b.stable(2);
        let r = b.deploy(2);
        s.fail(CallFailure::Refused("InvalidConfig(\"x\")".into()));
        s.fail(CallFailure::Fault("plugin `scripted` trapped".into()));
        b.at(0).tick(&r.id).await;
        let after_one = b.rollout(&r.id);
        assert_eq!(after_one.phase, Phase::Running);
        assert!(
            after_one.status.contains("decision failed (1/2): strategy `scripted` refused: InvalidConfig"),
            "{}",
            after_one.status
        );
        // The stable revision still serves in full: the rollback ends at once.
        assert_eq!(b.at(10_000).tick(&r.id).await, Tick::Done(Phase::RolledBack));
        let rolled = b.rollout(&r.id);
        assert_eq!(rolled.reason.as_deref(), Some("strategy failed 2 times in a row, last: plugin `scripted` trapped"));
        assert_eq!(b.weights().await, [(v1.clone(), 100)]);
        assert_eq!(b.ready(&v1).await, 2);
    });
}

#[test]
fn a_strategy_rollback_action_restores_stable_and_removes_the_candidate() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig::default());
        let v1 = b.stable(3);
        let r = b.deploy(3);
        let v2 = r.candidate.clone();
        s.then(vec![scale(&v2, 1), weights(&[(&v1, 90), (&v2, 10)])]);
        s.then(vec![Action::Rollback("bad canary".into())]);
        b.at(0).tick(&r.id).await;
        b.at(1_000).tick(&r.id).await;
        assert_eq!(b.at(2_000).run(&r.id, 60_000).await, Some(Phase::RolledBack));
        let ended = b.rollout(&r.id);
        assert_eq!(ended.reason.as_deref(), Some("bad canary"));
        assert_eq!(b.ready(&v2).await, 0);
        assert_eq!(b.ready(&v1).await, 3);
        assert!(b.kinds(&r.id).contains(&"rollback".to_string()));
    });
}

#[test]
fn a_first_deployment_rolled_back_is_removed_and_ends_failed_free() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig::default());
        let r = b.deploy(2);
        let v1 = r.candidate.clone();
        s.then(vec![scale(&v1, 2)]);
        s.then(vec![Action::Rollback("never mind".into())]);
        b.at(0).tick(&r.id).await;
        assert_eq!(b.at(2_000).run(&r.id, 60_000).await, Some(Phase::RolledBack));
        assert_eq!(b.ready(&v1).await, 0, "nothing to return to: the candidate is removed");
    });
}

#[test]
fn operator_commands_pause_resume_promote_and_abort() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig::default());
        let v1 = b.stable(2);
        let r = b.deploy(2);
        let v2 = r.candidate.clone();
        s.then(vec![scale(&v2, 1), Action::Wait(WaitFor::Operator("promote me".into()))]);
        // Waiting for an operator, it still wakes to renew its lock.
        let lock_renewal = EngineConfig::default().lock_ttl_ms / 2;
        assert_eq!(b.at(0).tick(&r.id).await, Tick::At(lock_renewal));
        b.at(500).tick(&r.id).await;
        assert_eq!(s.calls(), 1, "no decision until an operator says so");
        // Pause holds the rollout; resume lets it go on.
        b.engine.command(&r.id, CommandKind::Pause, "bob", "look").unwrap();
        assert_eq!(b.at(1_000).tick(&r.id).await, Tick::Operator, "paused: only a command wakes it");
        assert_eq!(b.rollout(&r.id).phase, Phase::Paused);
        b.engine.command(&r.id, CommandKind::Resume, "bob", "go").unwrap();
        b.at(2_000).tick(&r.id).await;
        assert_eq!(b.rollout(&r.id).phase, Phase::Running);
        // Promote reaches the strategy with its next decision.
        b.engine.command(&r.id, CommandKind::Promote, "bob", "ok").unwrap();
        b.at(3_000).tick(&r.id).await;
        assert!(matches!(s.last().observed.command, Some(OperatorCommand::Promote)), "{:?}", s.last().observed.command);
        // Abort is the host's: it rolls back without asking the strategy.
        let calls = s.calls();
        b.engine.command(&r.id, CommandKind::Abort, "bob", "stop").unwrap();
        assert_eq!(b.at(4_000).run(&r.id, 60_000).await, Some(Phase::Aborted));
        assert_eq!(s.calls(), calls, "abort does not wait for the strategy");
        assert_eq!(b.rollout(&r.id).reason.as_deref(), Some("aborted by bob: stop"));
        assert_eq!(b.ready(&v1).await, 2);
        assert!(b.kinds(&r.id).iter().filter(|k| *k == "operator").count() >= 4);
    });
}

#[test]
fn the_progress_deadline_rolls_back_a_rollout_that_never_completes() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig { progress_deadline_ms: 30_000, ..EngineConfig::default() });
        let v1 = b.stable(2);
        let r = b.deploy(2);
        s.then(vec![scale(&r.candidate, 1)]);
        assert_eq!(b.at(0).run(&r.id, 120_000).await, Some(Phase::RolledBack));
        let ended = b.rollout(&r.id);
        assert!(ended.reason.as_deref().unwrap().starts_with("progress deadline exceeded"), "{ended:?}");
        assert_eq!(b.ready(&v1).await, 2);
    });
}

#[test]
fn an_unobservable_platform_blocks_decisions_until_the_deadline_then_fails() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let config =
            EngineConfig { progress_deadline_ms: 20_000, rollback_deadline_ms: 30_000, ..EngineConfig::default() };
        let b = bench(s.clone(), vec![], config);
        b.stable(2);
        let r = b.deploy(2);
        b.world.set_unobservable(Some("engine unreachable"));
        b.at(0).tick(&r.id).await;
        assert_eq!(s.calls(), 0, "nothing is decided blind");
        assert!(b.rollout(&r.id).status.starts_with("cannot observe the platform"), "{}", b.rollout(&r.id).status);
        b.at(25_000).tick(&r.id).await;
        assert!(b.rollout(&r.id).status.starts_with("rollback pending"), "{}", b.rollout(&r.id).status);
        assert_eq!(b.at(60_000).tick(&r.id).await, Tick::Done(Phase::Failed));
        assert!(b.rollout(&r.id).reason.unwrap().contains("the rollback could not start"));
    });
}

#[test]
fn a_permanent_platform_fault_rolls_back_at_once() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig::default());
        let v1 = b.stable(2);
        let r = b.deploy(2);
        b.world.fail_ensure(&r.candidate, Some(PlatformFault::Permanent("image not found".into())));
        s.then(vec![scale(&r.candidate, 2)]);
        assert_eq!(b.at(0).run(&r.id, 60_000).await, Some(Phase::RolledBack));
        assert!(b.rollout(&r.id).reason.unwrap().contains("image not found"));
        assert_eq!(b.ready(&v1).await, 2);
    });
}

#[test]
fn an_analysis_is_judged_by_the_health_policies_and_shown_to_the_strategy() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let threshold: Arc<dyn HealthPolicy> = Arc::new(Native::<threshold::Threshold>::new("threshold"));
        let mut b = bench(s.clone(), vec![threshold], EngineConfig::default());
        if let Some(env) = b.engine.envs.get_mut(ENV) {
            env.health[0].config = r#"{"max-error-rate": 0.05, "min-requests": 20}"#.into();
        }
        b.stable(2);
        let r = b.deploy(2);
        let v2 = r.candidate.clone();
        b.world.set_traffic(&v2, &TrafficDecl { rps: Some(100.0), error_rate: Some(0.5), ..TrafficDecl::default() });
        s.then(vec![
            scale(&v2, 1),
            weights(&[(&v2, 50)]),
            Action::RunAnalysis(AnalysisRequest { name: "step-1".into(), duration: 30_000 }),
            Action::Wait(WaitFor::Duration(600_000)),
        ]);
        b.at(0).tick(&r.id).await;
        b.at(10_000).tick(&r.id).await;
        assert_eq!(s.calls(), 1, "the analysis is running");
        b.at(31_000).tick(&r.id).await;
        assert_eq!(s.calls(), 2, "its end wakes the strategy");
        let analysis = s.last().observed.analysis.expect("the verdict is shown");
        assert_eq!(analysis.name, "step-1");
        assert!(
            matches!(&analysis.verdict, hoist::runtime::bindings::base::hoist::plugin::types::Verdict::Fail(_)),
            "{:?}",
            analysis.verdict
        );
        assert!(b.kinds(&r.id).contains(&"evaluate".to_string()));
    });
}

#[test]
fn an_ended_instance_of_the_candidate_is_recorded_and_replaced() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig::default());
        b.stable(2);
        let r = b.deploy(2);
        let v2 = r.candidate.clone();
        s.then(vec![scale(&v2, 2), Action::Wait(WaitFor::Duration(600_000))]);
        b.at(0).tick(&r.id).await;
        b.at(2_000).tick(&r.id).await;
        assert_eq!(b.ready(&v2).await, 2);
        b.world.kill_instance(&v2, 0).unwrap();
        b.at(3_000).tick(&r.id).await;
        assert!(b.kinds(&r.id).contains(&"instance".to_string()));
        b.at(5_000).tick(&r.id).await;
        assert_eq!(b.ready(&v2).await, 2, "replaced");
    });
}

#[test]
fn rollback_to_a_kept_revision_is_fast_tracked_by_the_host() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig::default());
        let v1 = b.stable(2);
        let r = b.deploy(2);
        s.then(vec![scale(&r.candidate, 2)]);
        s.then(vec![Action::Complete]);
        assert_eq!(b.at(0).run(&r.id, 60_000).await, Some(Phase::Completed));
        let calls = s.calls();
        let back = b.engine.rollback_to(SVC, ENV, &v1, "bob", "revert").unwrap();
        assert_eq!(b.run(&back.id, 120_000).await, Some(Phase::Completed));
        assert_eq!(s.calls(), calls, "no strategy is asked");
        assert_eq!(b.engine.store.current(SVC, ENV).unwrap().unwrap().id, v1);
        assert_eq!(b.weights().await, [(v1.clone(), 100)]);
    });
}

#[test]
fn a_stored_intent_that_does_not_parse_fails_the_rollout_and_keeps_its_instances() {
    rt(async {
        let s = Arc::new(Scripted::default());
        let b = bench(s.clone(), vec![], EngineConfig::default());
        let v1 = b.stable(2);
        let r = b.deploy(2);
        s.then(vec![scale(&r.candidate, 1)]);
        b.at(0).tick(&r.id).await;
        let mut stored = b.rollout(&r.id);
        stored.intent = serde_json::json!({ "replicas": "many" });
        b.engine.store.save_rollout(&stored).unwrap();
        assert_eq!(b.at(1_000).tick(&r.id).await, Tick::Done(Phase::Failed));
        assert!(b.rollout(&r.id).status.contains("its instances were left as they are"));
        assert_eq!(b.ready(&v1).await, 2);
    });
}

#[test]
fn the_builtin_canary_natively_promotes_a_healthy_candidate() {
    rt(async {
        let canary: Arc<dyn Strategy> = Arc::new(Native::<canary::Canary>::new("canary"));
        let b = bench(canary, vec![], EngineConfig::default());
        let v1 = b.stable(4);
        let r = b.deploy(4);
        assert_eq!(b.at(0).run(&r.id, 3_600_000).await, Some(Phase::Completed));
        assert_eq!(b.weights().await, [(r.candidate.clone(), 100)]);
        assert_eq!(b.ready(&v1).await, 0);
        assert_eq!(b.ready(&r.candidate).await, 4);
        assert!(b.clock.now_ms() > 0);
    });
}

/// The actions of every decision a strategy made, as the contract's JSON,
/// with the revisions named by role.
fn actions_as_json(actions: impl IntoIterator<Item = serde_json::Value>, stable: &str, candidate: &str) -> Vec<String> {
    actions
        .into_iter()
        .map(|a| {
            a.to_string()
                .replace(&format!("\"{stable}\""), "\"STABLE\"")
                .replace(&format!("\"{candidate}\""), "\"CANDIDATE\"")
        })
        .collect()
}

/// A strategy tested with `hoist_sdk::testing` makes the same decisions
/// under the engine: a rollout of 3 (or a first deployment) whose instances
/// are ready `ready_ms` after they start.
fn harness_and_engine_agree<S: hoist_sdk::strategy::Strategy + 'static>(name: &str, ready_ms: u64, first: bool) {
    use hoist_sdk::testing::StrategyHarness;
    let label = format!("{name}, ready after {ready_ms} ms{}", if first { ", first deployment" } else { "" });
    let harness = StrategyHarness::new(3).ready_after_ms(ready_ms);
    let run = if first { harness.first_deployment() } else { harness }.run::<S>();
    let by_harness = actions_as_json(run.steps.iter().map(|s| serde_json::to_value(&s.actions).unwrap()), "r1", "r2");
    let by_engine = rt(async {
        let b = bench(Arc::new(Native::<S>::new(name)), vec![], EngineConfig::default());
        b.world.set_startup(SVC, ready_ms);
        let v1 = if first { "r0".to_string() } else { b.stable(3) };
        let r = b.deploy(3);
        assert_eq!(b.at(0).run(&r.id, 3_600_000).await, Some(Phase::Completed), "{label}: under the engine");
        let filter = hoist_store::LogFilter { rollout_id: Some(r.id.clone()), ..Default::default() };
        let records = b.engine.store.decision_log(&filter).unwrap();
        let decided = records.into_iter().filter(|d| d.kind == hoist_store::DecisionKind::Decide);
        actions_as_json(decided.map(|d| d.output["actions"].clone()), &v1, &r.candidate)
    });
    assert!(by_engine.len() >= 2 && by_engine.iter().all(|a| a.starts_with('[')), "{label}: {by_engine:?}");
    assert_eq!(by_harness, by_engine, "{label}: the harness and the engine disagree");
}

#[test]
fn every_builtin_strategy_decides_alike_under_the_sdk_harness_and_the_engine() {
    assert_eq!(EngineConfig::default().ready_recheck_ms, hoist_sdk::testing::READY_RECHECK_MS);
    for (ready_ms, first) in [(1_000, false), (45_000, false), (1_000, true)] {
        harness_and_engine_agree::<rolling::Rolling>("rolling", ready_ms, first);
        harness_and_engine_agree::<recreate::Recreate>("recreate", ready_ms, first);
        harness_and_engine_agree::<blue_green::BlueGreen>("blue-green", ready_ms, first);
        harness_and_engine_agree::<canary::Canary>("canary", ready_ms, first);
    }
}
