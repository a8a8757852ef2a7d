//! The virtual-time driver: advances the clock to the next thing that
//! happens (a scripted event or the time the rollout asked to be woken),
//! applies scripted events, and steps the engine.

use std::collections::BTreeMap;
use std::sync::Arc;

use hoist_registry::Registry;
use hoist_store::{CommandKind, NewRevision, Phase, Store};

use super::metrics::{ScriptedMetrics, script_providers, unknown_metrics};
use super::scenario::{FailureKind, Scenario, Target, TrafficDecl};
use super::timeline::{self, Entry};
use super::world::{VirtualClock, World};
use crate::catalog;
use crate::engine::schedule::{Schedule, Stepped};
use crate::engine::{Clock as _, DeployRequest, Engine, EngineConfig, PlatformFault, ServiceSpec};
use crate::runtime::Runtime;

/// Most engine steps one simulation may take (a strategy that never waits
/// would otherwise spin forever).
const MAX_TICKS: usize = 100_000;

/// How a simulation ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub scenario: String,
    pub rollout: String,
    pub phase: String,
    pub reason: Option<String>,
    pub ended_at_ms: u64,
    pub decisions: u64,
    /// The service's stable revision at the end.
    pub stable: Option<String>,
    /// Instances/ready per revision and weights at the end.
    pub final_observed: serde_json::Value,
    pub timeline: Vec<Entry>,
}

/// Knobs for tests.
#[derive(Clone, Debug, Default)]
pub struct SimOptions {
    /// Kill the engine right after it persists this step (before acting),
    /// then start a fresh one on the same state store and platform.
    pub crash_after_step: Option<u64>,
}

/// Runs `scenario` to its end (or its `until`).
pub async fn simulate(runtime: &Runtime, scenario: &Scenario) -> anyhow::Result<Outcome> {
    simulate_with(runtime, scenario, &SimOptions::default()).await
}

pub async fn simulate_with(runtime: &Runtime, scenario: &Scenario, options: &SimOptions) -> anyhow::Result<Outcome> {
    let registry = Registry::load(&scenario.registry)?;
    let clock = Arc::new(VirtualClock::default());
    let world = Arc::new(World::new(clock.clone(), scenario.startup, scenario.traffic.clone()));
    let store = Arc::new(Store::in_memory()?);
    // A fresh engine, as a restarted process would build it: plugins loaded
    // anew, nothing kept but the state store and the platform.
    let script_metrics = Arc::new(ScriptedMetrics::default());
    for (metric, answer) in &scenario.metrics {
        script_metrics.set(metric, answer.clone());
    }
    let start_engine = |halt_after_step: Option<u64>| -> anyhow::Result<Engine> {
        let mut plugins = catalog::env_plugins(runtime, &registry, &scenario.environment)?;
        let scripted = scenario.metrics.keys().chain(scenario.events.iter().flat_map(|e| e.metrics.keys()));
        let unknown = unknown_metrics(&plugins, scripted);
        if !unknown.is_empty() {
            anyhow::bail!(
                "scenario `{}` scripts metrics {} that no analysis template of environment `{}` measures; declare [environments.{}.analysis.NAME] in {} or remove them",
                scenario.name,
                unknown.join(", "),
                scenario.environment,
                scenario.environment,
                scenario.registry.display()
            );
        }
        script_providers(&mut plugins, &script_metrics);
        Ok(Engine {
            store: store.clone(),
            clock: clock.clone(),
            platform: world.clone(),
            traffic: world.clone(),
            metrics: world.clone(),
            envs: BTreeMap::from([(scenario.environment.clone(), plugins)]),
            config: EngineConfig { halt_after_step, ..EngineConfig::default() },
            stats: Default::default(),
            healing: Default::default(),
        })
    };
    let mut engine = start_engine(options.crash_after_step)?;

    let svc = &scenario.service;
    let env = &scenario.environment;
    let spec = ServiceSpec { replicas: svc.replicas, ..ServiceSpec::default() };
    let mut script = Vec::new();
    if let Some(version) = &svc.stable {
        let stable = store.create_revision(&NewRevision {
            service: svc.name.clone(),
            environment: env.clone(),
            version: version.clone(),
            spec: serde_json::to_value(&spec)?,
            created_at_ms: 0,
            created_by: svc.requested_by.clone(),
        })?;
        store.set_current(&svc.name, env, &stable.id)?;
        world.seed(&svc.name, env, &stable.id, svc.replicas);
        world.set_traffic(&stable.id, &TrafficDecl::default());
        script.push(Entry::note(0, format!("{} ({version}) serves with {} ready instances", stable.id, svc.replicas)));
    }
    for (metric, answer) in &scenario.metrics {
        script.push(Entry::note(0, format!("metric `{metric}` answers {answer}")));
    }
    let rollout = engine.deploy(&DeployRequest {
        service: svc.name.clone(),
        environment: env.clone(),
        version: svc.version.clone(),
        spec,
        strategy: svc.strategy.clone(),
        requested_by: svc.requested_by.clone(),
        reason: scenario.name.clone(),
    })?;
    let stable_id = rollout.stable.clone();
    let candidate_id = rollout.candidate.clone();
    world.set_traffic(&candidate_id, &TrafficDecl::default());
    script.push(Entry::note(
        0,
        format!("deploy {} ({}) with strategy `{}`", candidate_id, svc.version, rollout.strategy),
    ));

    let mut events = scenario.events.iter().peekable();
    // The live driver's schedule, in virtual time: every active rollout
    // (a scripted `rollback --to` too) is stepped when it asks.
    let mut schedule = Schedule::new(engine.config.watch_ms);
    schedule.track([(rollout.id.clone(), (svc.name.clone(), env.clone()))], 0);
    let mut ticks = 0usize;
    loop {
        let next_event = events.peek().map(|e| e.time);
        let wake = schedule.next_due().map(|t| t.max(clock.now_ms()));
        let now = match (wake, next_event) {
            (Some(w), Some(e)) => w.min(e),
            (Some(w), None) => w,
            (None, Some(e)) => e,
            (None, None) => break,
        };
        if now > scenario.until {
            break;
        }
        clock.set(now);
        while let Some(event) = events.next_if(|e| e.time <= now) {
            let revision = match event.revision {
                Some(Target::Stable) => stable_id.clone(),
                _ => Some(candidate_id.clone()),
            };
            let change = TrafficDecl {
                rps: None,
                error_rate: event.error_rate,
                p50_ms: event.p50_ms,
                p95_ms: event.p95_ms,
                p99_ms: event.p99_ms,
            };
            if let Some(rev) = &revision
                && change != TrafficDecl::default()
            {
                world.set_traffic(rev, &change);
                script.push(Entry::note(now, format!("{rev} traffic now {}", timeline::describe_traffic(&change))));
            }
            if let (Some(n), Some(rev)) = (event.fail_instance, &revision) {
                let which = world.fail_instance(rev, n).unwrap_or_else(|| format!("{rev} instance #{n} (absent)"));
                script.push(Entry::note(now, format!("instance {which} fails its readiness probe")));
            }
            if let (Some(n), Some(rev)) = (event.kill_instance, &revision) {
                let which = world.kill_instance(rev, n).unwrap_or_else(|| format!("{rev} instance #{n} (absent)"));
                script.push(Entry::note(now, format!("instance {which} is killed")));
            }
            if let (Some(failure), Some(rev)) = (&event.ensure_fails, &revision) {
                let message = failure.message.clone();
                let fault = match failure.kind {
                    FailureKind::Permanent => PlatformFault::Permanent(message),
                    FailureKind::Unreachable => PlatformFault::Unreachable(message),
                    FailureKind::Failed => PlatformFault::Failed(message),
                };
                script.push(Entry::note(now, format!("the platform fails to run {rev}: {fault}")));
                world.fail_ensure(rev, Some(fault));
            }
            if let (true, Some(rev)) = (event.ensure_recovers, &revision) {
                world.fail_ensure(rev, None);
                script.push(Entry::note(now, format!("the platform runs {rev} again")));
            }
            for (metric, answer) in &event.metrics {
                script_metrics.set(metric, answer.clone());
                script.push(Entry::note(now, format!("metric `{metric}` now answers {answer}")));
            }
            if let Some(verb) = &event.operator {
                let kind = CommandKind::parse(verb)
                    .ok_or_else(|| anyhow::anyhow!("scenario `{}`: unknown operator verb `{verb}`", scenario.name))?;
                let reason = event.reason.clone().unwrap_or_else(|| "scripted".into());
                if let CommandKind::RollbackTo(rev) = &kind {
                    engine.rollback_to(&svc.name, env, rev, &svc.requested_by, &reason)?;
                } else if let Err(err) = engine.command(&rollout.id, kind.clone(), "operator", &reason) {
                    script.push(Entry::note(now, format!("operator `{verb}` refused: {err}")));
                }
                schedule.poke(now);
            }
        }
        let active = store.active_rollouts()?;
        schedule.track(active.into_iter().map(|r| (r.id, (r.service, r.environment))), now);
        for id in schedule.take_due(now, usize::MAX) {
            ticks += 1;
            if ticks > MAX_TICKS {
                anyhow::bail!(
                    "scenario `{}` took over {MAX_TICKS} engine steps; does a strategy never wait?",
                    scenario.name
                );
            }
            let tick = match engine.tick(&id).await {
                Err(crate::engine::EngineError::Halted(step)) => {
                    script.push(Entry::note(now, format!("engine killed after persisting step {step}; restarted")));
                    engine = start_engine(None)?;
                    engine.tick(&id).await?
                }
                other => other?,
            };
            schedule.finished(&id, Stepped::Tick(tick), now);
        }
    }

    let ended = store.rollout(&rollout.id)?.ok_or_else(|| anyhow::anyhow!("rollout vanished"))?;
    let timeline = timeline::build(&store, script)?;
    let final_observed = {
        use crate::engine::{Platform, Traffic};
        let instances = world.instances(&svc.name, env).await.map_err(|e| anyhow::anyhow!(e))?;
        crate::engine::observe_summary(instances, world.weights(&svc.name, env))
    };
    Ok(Outcome {
        scenario: scenario.name.clone(),
        rollout: ended.id.clone(),
        phase: ended.phase.as_str().to_string(),
        reason: ended.reason.clone(),
        ended_at_ms: if ended.phase == Phase::Running { scenario.until } else { ended.updated_at_ms },
        decisions: ended.step,
        stable: store.current(&svc.name, env)?.map(|r| r.id),
        final_observed,
        timeline,
    })
}
