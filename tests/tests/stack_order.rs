//! The stack coordinator over generated dependency graphs, driven by the
//! real engine and plugins against the simulated platform in virtual time:
//! every service starts exactly when its own dependencies meet their
//! conditions (never before, never later: no lock-step waves), independent
//! services overlap, and a failure unwinds exactly the updated services,
//! dependents first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use hoist::engine::schedule::{Schedule, Stepped};
use hoist::engine::{Clock, Engine, EngineConfig, Platform};
use hoist::simulate::scenario::TrafficDecl;
use hoist::simulate::world::{VirtualClock, World};
use hoist::stack::{self, ServiceState, StackPhase, StackRollout};
use hoist_stack::{Condition, Graph, StackDef, StackService, Timing};
use hoist_tests::{Rng, runtime};

const CONDITIONS: [Condition; 3] = [Condition::Started, Condition::Healthy, Condition::CompletedSuccessfully];
/// A start-up this long never finishes within the rolling strategy's deadline.
const NEVER: u64 = 3_600_000;

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

struct Generated {
    def: StackDef,
    startup: BTreeMap<String, u64>,
}

/// A random DAG: each service may depend on any earlier one.
fn generate(rng: &mut Rng, fail: bool) -> Generated {
    let n = rng.range(5, 12) as usize;
    let names: Vec<String> = (0..n).map(|i| format!("s{i:02}")).collect();
    let mut services = BTreeMap::new();
    let mut startup = BTreeMap::new();
    let failing = rng.range(n as u64 / 2, n as u64 - 1) as usize;
    for (i, name) in names.iter().enumerate() {
        let mut depends_on = BTreeMap::new();
        for dep in &names[..i] {
            if rng.range(0, 99) < 30 {
                depends_on.insert(dep.clone(), *rng.pick(&CONDITIONS));
            }
        }
        services.insert(
            name.clone(),
            StackService { command: vec!["svc".into()], replicas: 1, depends_on, ..StackService::default() },
        );
        startup.insert(name.clone(), if fail && i == failing { NEVER } else { rng.range(100, 4_000) });
    }
    Generated { def: StackDef { version: 1, name: "gen".into(), services, networks: Default::default() }, startup }
}

fn registry(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("registry.toml");
    std::fs::write(
        &path,
        r#"version = 1
[plugins.rolling]
kind = "strategy"
source = "builtin:rolling"
config = { max-surge = 1, max-unavailable = 0, progress-deadline-ms = 20000 }

[plugins.local-process]
kind = "platform"
source = "builtin:local-process"
capabilities = ["process"]

[environments.test]
platform = "local-process"
strategy = "rolling"
"#,
    )
    .unwrap();
    path
}

/// An engine on the simulated platform in virtual time.
fn engine(
    rt: &hoist::runtime::Runtime,
    reg: &std::path::Path,
    startup: &BTreeMap<String, u64>,
) -> (Engine, Arc<VirtualClock>, Arc<World>) {
    let registry = hoist_registry::Registry::load(reg).unwrap();
    let clock = Arc::new(VirtualClock::default());
    clock.set(1_000);
    let world = Arc::new(World::new(clock.clone(), 500, TrafficDecl::default()));
    for (s, ms) in startup {
        world.set_startup(s, *ms);
    }
    let engine = Engine {
        store: Arc::new(hoist_store::Store::in_memory().unwrap()),
        clock: clock.clone(),
        platform: world.clone(),
        traffic: world.clone(),
        metrics: world.clone(),
        envs: BTreeMap::from([("test".to_string(), hoist::catalog::env_plugins(rt, &registry, "test").unwrap())]),
        config: EngineConfig::default(),
        stats: Default::default(),
        healing: Default::default(),
    };
    (engine, clock, world)
}

/// Deploys the stack and steps it and its services' rollouts in virtual
/// time until it ends; the stack rollout as it ended.
async fn run(
    rt: &hoist::runtime::Runtime,
    reg: &std::path::Path,
    g: &Generated,
) -> (StackRollout, Arc<World>, Vec<String>) {
    let (engine, clock, world) = engine(rt, reg, &g.startup);
    let started = stack::deploy(&engine, &g.def, "test", "prop", "generated").unwrap();
    let (ended, unwound) = drive(&engine, &clock, &started.id).await;
    (ended, world, unwound)
}

/// Steps stack rollout `id` and its services' rollouts until it ends.
async fn drive(engine: &Engine, clock: &VirtualClock, id: &str) -> (StackRollout, Vec<String>) {
    let started = engine.store.stack_rollout(id).unwrap().map(|r| StackRollout::from_row(&r).unwrap()).unwrap();
    let mut schedule = Schedule::new(engine.config.watch_ms);
    for _ in 0..200_000 {
        let now = clock.now_ms();
        if stack::tick(engine, &started.id).await.unwrap() {
            let row = engine.store.stack_rollout(&started.id).unwrap().unwrap();
            // The services in the order the coordinator rolled them back.
            let filter = hoist_store::LogFilter { rollout_id: Some(started.id.clone()), ..Default::default() };
            let unwound = engine
                .store
                .decision_log(&filter)
                .unwrap()
                .into_iter()
                .filter(|d| d.reason.as_deref().is_some_and(|r| r.starts_with("rolling back `")))
                .map(|d| d.service)
                .collect();
            return (StackRollout::from_row(&row).unwrap(), unwound);
        }
        schedule.track(engine.active().unwrap().into_iter().map(|r| (r.id, (r.service, r.environment))), now);
        let ready = schedule.take_due(now, usize::MAX);
        if !ready.is_empty() {
            for id in ready {
                let tick = engine.tick(&id).await.unwrap();
                schedule.finished(&id, Stepped::Tick(tick), now);
            }
            continue; // the stack sees what its services did at this same instant
        }
        let next = schedule.next_due().unwrap_or(now + 1_000);
        clock.set(next.max(now + 1));
    }
    panic!("stack rollout did not end in 200000 steps");
}

fn started(r: &StackRollout, s: &str) -> u64 {
    r.services[s].started_at_ms.unwrap_or_else(|| panic!("{s} never started: {:#?}", r.services[s]))
}

#[test]
fn services_start_exactly_when_their_own_dependencies_meet_their_conditions() {
    let cache = tempfile::tempdir().unwrap();
    let rt = runtime(&cache);
    let reg = registry(cache.path());
    let mut rng = Rng::new(0x57AC);
    let mut overlapped = 0;
    for case in 0..25 {
        let g = generate(&mut rng, false);
        let (r, _, _) = block(run(&rt, &reg, &g));
        assert_eq!(r.phase, StackPhase::Completed, "case {case}: {:?}", r.outcome);
        let t0 = r.started_at_ms;
        // When each dependency met each condition, as observed.
        let meet = |d: &str, c: Condition| match c {
            Condition::Started => started(&r, d),
            Condition::Healthy | Condition::CompletedSuccessfully => r.services[d].ready_at_ms.unwrap(),
        };
        for (s, def) in &g.def.services {
            let required = def.depends_on.iter().map(|(d, c)| meet(d, *c)).max().unwrap_or(t0);
            assert_eq!(
                started(&r, s),
                required,
                "case {case}: `{s}` started at {} but its dependencies were met at {required}",
                started(&r, s)
            );
            assert!(
                r.services[s].ready_at_ms.unwrap() >= started(&r, s) + g.startup[s],
                "case {case}: `{s}` ready before its start-up"
            );
        }
        // The same as the graph's model of maximal parallelism, given the
        // measured time each service took to become healthy.
        let graph =
            Graph::new(g.def.services.iter().map(|(n, s)| (n.clone(), s.depends_on.clone())).collect()).unwrap();
        let timing: BTreeMap<String, Timing> = r
            .services
            .iter()
            .map(|(n, s)| {
                let healthy = s.ready_at_ms.unwrap() - s.started_at_ms.unwrap();
                (n.clone(), Timing { started_ms: 0, healthy_ms: healthy, completed_ms: healthy })
            })
            .collect();
        for (s, at) in graph.earliest_starts(&timing) {
            assert_eq!(started(&r, &s) - t0, at, "case {case}: `{s}`");
        }
        // A `started` dependency lets its dependent overlap with it.
        overlapped += g
            .def
            .services
            .values()
            .flat_map(|d| d.depends_on.iter())
            .filter(|(_, c)| **c == Condition::Started)
            .count();
        // Services without dependencies all start at once.
        let roots: Vec<&String> =
            g.def.services.iter().filter(|(_, s)| s.depends_on.is_empty()).map(|(n, _)| n).collect();
        assert!(roots.iter().all(|s| started(&r, s) == t0), "case {case}: roots {roots:?}");
    }
    assert!(overlapped > 0, "no generated `started` edge");
}

#[test]
fn a_failure_unwinds_exactly_the_updated_services_dependents_first() {
    let cache = tempfile::tempdir().unwrap();
    let rt = runtime(&cache);
    let reg = registry(cache.path());
    let mut rng = Rng::new(0xFA11);
    let (mut total_removed, mut total_skipped) = (0, 0);
    for case in 0..15 {
        let g = generate(&mut rng, true);
        let (r, world, unwound) = block(run(&rt, &reg, &g));
        assert_eq!(r.phase, StackPhase::RolledBack, "case {case}: {:?}", r.outcome);
        for (s, run) in &r.services {
            // Nothing is left half-way, and nothing new is left running.
            assert!(
                matches!(
                    run.state,
                    ServiceState::Failed | ServiceState::Skipped | ServiceState::Removed | ServiceState::Reverted
                ),
                "case {case}: `{s}` ended {:?}",
                run.state
            );
            let left = block(world.instances(s, "test")).unwrap();
            assert!(left.is_empty(), "case {case}: `{s}` still has {left:?}");
            // Skipped services never started; started ones were unwound.
            assert_eq!(run.state == ServiceState::Skipped, run.started_at_ms.is_none(), "case {case}: `{s}`");
        }
        total_removed += removed_count(&r);
        total_skipped += r.services.values().filter(|s| s.state == ServiceState::Skipped).count();
        // Exactly the updated services were unwound, once each...
        let removed: Vec<&String> =
            r.services.iter().filter(|(_, s)| s.state == ServiceState::Removed).map(|(n, _)| n).collect();
        let mut sorted = unwound.clone();
        sorted.sort();
        assert_eq!(sorted.iter().collect::<Vec<_>>(), removed, "case {case}");
        // ...dependents before their dependencies.
        let at = |s: &str| unwound.iter().position(|u| u == s);
        for (s, def) in &g.def.services {
            for d in def.depends_on.keys() {
                if let (Some(si), Some(di)) = (at(s), at(d)) {
                    assert!(si < di, "case {case}: `{s}` depends on `{d}` but was unwound after it: {unwound:?}");
                }
            }
        }
    }
    // The generated cases exercise both: some services had been updated
    // (and were unwound) and some had not started yet.
    assert!(total_removed > 0 && total_skipped > 0, "removed {total_removed}, skipped {total_skipped}");
}

fn removed_count(r: &StackRollout) -> usize {
    r.services.values().filter(|s| s.state == ServiceState::Removed).count()
}

fn one_service_stack(name: &str) -> StackDef {
    let db = StackService { command: vec!["svc".into()], replicas: 1, ..StackService::default() };
    StackDef {
        version: 1,
        name: name.into(),
        services: BTreeMap::from([("db".to_string(), db)]),
        networks: Default::default(),
    }
}

#[test]
fn a_service_belongs_to_its_stack_and_another_stack_cannot_take_it() {
    let dir = tempfile::tempdir().unwrap();
    let rt = hoist_tests::runtime(&dir);
    let reg = registry(dir.path());
    block(async {
        let (engine, clock, _world) = engine(&rt, &reg, &BTreeMap::new());
        let shop = stack::deploy(&engine, &one_service_stack("shop"), "test", "alice", "").unwrap();
        let (ended, _) = drive(&engine, &clock, &shop.id).await;
        assert_eq!(ended.phase, StackPhase::Completed);
        let err = stack::deploy(&engine, &one_service_stack("blog"), "test", "bob", "").expect_err("db is shop's");
        let text = err.to_string();
        assert!(text.contains("`db`") && text.contains("stack `shop`"), "the owner is named: {text}");
        assert!(engine.store.current("db", "test").unwrap().is_some(), "shop's db is still there");

        // Once shop is down, blog may have a db of its own; tearing shop
        // down again never touches it.
        let down = stack::teardown(&engine, "shop", "test", "alice", "").unwrap();
        assert_eq!(drive(&engine, &clock, &down.id).await.0.phase, StackPhase::Completed);
        assert!(engine.store.current("db", "test").unwrap().is_none());
        let blog = stack::deploy(&engine, &one_service_stack("blog"), "test", "bob", "").unwrap();
        assert_eq!(drive(&engine, &clock, &blog.id).await.0.phase, StackPhase::Completed);
        let again = stack::teardown(&engine, "shop", "test", "alice", "").unwrap();
        drive(&engine, &clock, &again.id).await;
        let current = engine.store.current("db", "test").unwrap().expect("blog's db survives shop's teardown");
        assert_eq!(hoist::engine::stored_spec(&current).unwrap().stack.as_deref(), Some("blog"));
    });
}
