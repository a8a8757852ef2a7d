//! Starting a stack rollout: which services change, what each returns to.

use std::collections::BTreeMap;

use hoist_stack::{StackDef, StackService};
use hoist_store::{DecisionKind, DecisionRecord};

use super::{ServiceRun, ServiceState, StackKind, StackPhase, StackRollout};
use crate::engine::heal::RestartPolicy;
use crate::engine::{Engine, EngineError, ServiceSpec};

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("stack `{stack}`: {message}")]
    Invalid { stack: String, message: String },
    #[error(
        "stack `{stack}` in `{environment}` is being rolled out by `{owner}`; wait for it (`hoist stack status {stack} --env {environment}`)"
    )]
    Busy { stack: String, environment: String, owner: String },
    #[error("stack `{stack}` has no completed rollout in `{environment}` to roll back")]
    NothingToRollBack { stack: String, environment: String },
    #[error("no stack rollout `{0}`")]
    Unknown(String),
    #[error("{0}")]
    Corrupt(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("state store: {0}")]
    Store(#[from] hoist_store::StoreError),
}

/// The strategy a service with a volume is updated by unless it names one:
/// stop-first, so old and new never run on one volume.
pub const STATEFUL_STRATEGY: &str = "recreate";

/// The strategy a stack service is deployed with.
pub fn strategy_of(s: &StackService) -> Option<String> {
    s.strategy.clone().or_else(|| (!s.volumes.is_empty()).then(|| STATEFUL_STRATEGY.to_string()))
}

/// What the engine deploys for a service of the stack.
pub fn service_spec(stack: &StackDef, s: &StackService) -> ServiceSpec {
    ServiceSpec {
        image: s.image.clone(),
        command: s.command.clone(),
        env: s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        port: s.port,
        replicas: s.replicas,
        router: s.router.clone(),
        probe: s.readiness(),
        restart: match s.restart {
            hoist_stack::Restart::Always => RestartPolicy::Always,
            hoist_stack::Restart::OnFailure => RestartPolicy::OnFailure,
            hoist_stack::Restart::No => RestartPolicy::No,
        },
        stack: Some(stack.name.clone()),
        strategy_config: s.strategy_config.clone(),
        volumes: s.volumes.clone(),
        // A secret travels as the path of its file, never its value.
        extensions: s
            .runtime
            .extensions()
            .into_iter()
            .chain(s.secrets.iter().map(|(target, file)| {
                let at = if target.starts_with('/') { target.clone() } else { format!("/run/secrets/{target}") };
                ("hoist.secret".to_string(), format!("{file}:{at}"))
            }))
            // A config file travels as its path, a config's content as is.
            .chain(s.configs.iter().filter_map(|(target, c)| match (&c.file, &c.content) {
                (Some(file), _) => Some(("hoist.config-file".to_string(), format!("{file}:{target}"))),
                (None, Some(content)) => Some((
                    "hoist.config-content".to_string(),
                    serde_json::json!({ "path": target, "content": content }).to_string(),
                )),
                (None, None) => None,
            }))
            // Where each dependency listens, for the platform to say how an
            // instance reaches it (`HOIST_<NAME>_ADDR`, …).
            .chain(s.depends_on.keys().filter_map(|dep| {
                let d = stack.services.get(dep)?;
                let json = serde_json::json!({ "service": dep, "port": d.port, "router": d.router });
                Some(("hoist.dependency".to_string(), json.to_string()))
            }))
            // The stack networks it joins (none: the stack's default one).
            .chain(s.networks.iter().map(|(name, join)| {
                let internal = stack.networks.get(name).is_some_and(|n| n.internal);
                let json = serde_json::json!({ "name": name, "aliases": join.aliases, "internal": internal });
                ("hoist.network".to_string(), json.to_string())
            }))
            .collect(),
    }
}

/// The stack a service's current revision was deployed by, if any.
fn owner_of(engine: &Engine, service: &str, environment: &str) -> Result<Option<String>, StackError> {
    let Some(current) = engine.store.current(service, environment)? else { return Ok(None) };
    Ok(crate::engine::stored_spec(&current)?.stack)
}

fn busy(engine: &Engine, stack: &str, environment: &str) -> Result<(), StackError> {
    if let Some(active) =
        engine.store.active_stack_rollouts()?.into_iter().find(|r| r.stack == stack && r.environment == environment)
    {
        return Err(StackError::Busy { stack: stack.into(), environment: environment.into(), owner: active.id });
    }
    Ok(())
}

fn check(engine: &Engine, def: &StackDef, environment: &str) -> Result<Vec<String>, StackError> {
    let invalid = |message: String| StackError::Invalid { stack: def.name.clone(), message };
    def.check().map_err(invalid)?;
    def.check_runnable().map_err(invalid)?;
    let graph = def.graph().map_err(|e| invalid(e.to_string()))?;
    let env = engine.envs.get(environment).ok_or_else(|| EngineError::UnknownEnvironment(environment.into()))?;
    for name in def.services.keys() {
        if let Some(owner) = owner_of(engine, name, environment)?
            && owner != def.name
        {
            return Err(invalid(format!(
                "service `{name}` in `{environment}` belongs to stack `{owner}`; rename it in this stack, or \
                 tear `{owner}` down first (`hoist stack down {owner} --env {environment}`)"
            )));
        }
    }
    for (name, s) in &def.services {
        if s.strategy.is_none() && !s.volumes.is_empty() && !env.strategies.contains_key(STATEFUL_STRATEGY) {
            return Err(invalid(format!(
                "service `{name}` mounts a volume, so it is updated stop-first by the `{STATEFUL_STRATEGY}` strategy; \
                 declare it in the registry ([plugins.{STATEFUL_STRATEGY}] source = \"builtin:recreate\") or give the \
                 service a `strategy`"
            )));
        }
        if let Some(strategy) = &s.strategy
            && env.strategy.plugin.name() != strategy.as_str()
            && !env.strategies.contains_key(strategy)
        {
            return Err(invalid(format!(
                "service `{name}`: strategy `{strategy}` is not a strategy plugin of the registry (environment `{environment}`)"
            )));
        }
    }
    Ok(graph.start_order())
}

/// Starts a stack rollout: every service whose version or spec differs
/// from what runs is updated, in dependency order, by the coordinator.
pub fn deploy(
    engine: &Engine,
    def: &StackDef,
    environment: &str,
    operator: &str,
    reason: &str,
) -> Result<StackRollout, StackError> {
    let order = check(engine, def, environment)?;
    busy(engine, &def.name, environment)?;
    let now = engine.clock.now_ms();
    let active = engine.store.active_rollouts()?;
    let mut services = BTreeMap::new();
    for (name, s) in &def.services {
        let version = s.version_label();
        let current = engine.store.current(name, environment)?;
        let same = current.as_ref().is_some_and(|c| {
            c.version == version
                && serde_json::from_value::<ServiceSpec>(c.spec.clone()).is_ok_and(|spec| spec == service_spec(def, s))
        });
        let in_flight = active.iter().any(|r| &r.service == name && r.environment == environment);
        let unchanged = same && !in_flight;
        services.insert(
            name.clone(),
            ServiceRun {
                ready_at_ms: unchanged.then_some(now),
                message: if unchanged { "unchanged".into() } else { String::new() },
                ..ServiceRun::planned(
                    if unchanged { ServiceState::Unchanged } else { ServiceState::Pending },
                    version,
                    current.map(|c| c.id),
                    None,
                )
            },
        );
    }
    let rollout = StackRollout {
        id: String::new(),
        stack: def.name.clone(),
        environment: environment.into(),
        kind: StackKind::Deploy,
        phase: StackPhase::Running,
        definition: def.clone(),
        order,
        services,
        requested_by: operator.into(),
        reason: reason.into(),
        outcome: None,
        started_at_ms: now,
        updated_at_ms: now,
    };
    let changed: Vec<&String> =
        rollout.services.iter().filter(|(_, r)| r.state == ServiceState::Pending).map(|(n, _)| n).collect();
    let input = serde_json::json!({ "verb": "stack-deploy", "changed": changed, "order": rollout.order });
    create(engine, rollout, input)
}

/// Rolls back what the stack's latest completed rollout updated, in
/// reverse dependency order, to the revisions that ran before it.
pub fn rollback(
    engine: &Engine,
    stack: &str,
    environment: &str,
    operator: &str,
    reason: &str,
) -> Result<StackRollout, StackError> {
    busy(engine, stack, environment)?;
    let last = engine
        .store
        .stack_history(stack, environment, 50)?
        .iter()
        .map(StackRollout::from_row)
        .collect::<Result<Vec<_>, _>>()
        .map_err(StackError::Corrupt)?
        .into_iter()
        .find(|r| r.kind == StackKind::Deploy && r.phase == StackPhase::Completed)
        .ok_or_else(|| StackError::NothingToRollBack { stack: stack.into(), environment: environment.into() })?;
    let now = engine.clock.now_ms();
    let mut services = BTreeMap::new();
    for (name, run) in &last.services {
        let current = engine.store.current(name, environment)?.map(|c| c.id);
        let revert = run.state == ServiceState::Updated && !last.definition.services.get(name).is_some_and(|s| s.job);
        if revert && current != run.candidate {
            return Err(StackError::Invalid {
                stack: stack.into(),
                message: format!(
                    "service `{name}` was deployed again since `{}` (now on {}); roll it back with `hoist rollback {name} --env {environment}`",
                    last.id,
                    current.as_deref().unwrap_or("nothing")
                ),
            });
        }
        services.insert(
            name.clone(),
            ServiceRun::planned(
                if revert { ServiceState::Updated } else { ServiceState::Unchanged },
                run.version.clone(),
                run.previous.clone(),
                run.candidate.clone(),
            ),
        );
    }
    let rollout = StackRollout {
        id: String::new(),
        stack: stack.into(),
        environment: environment.into(),
        kind: StackKind::Rollback { of: last.id.clone() },
        phase: StackPhase::RollingBack,
        definition: last.definition.clone(),
        order: last.order.clone(),
        services,
        requested_by: operator.into(),
        reason: reason.into(),
        outcome: Some(format!("rollback of {} requested by {operator}", last.id)),
        started_at_ms: now,
        updated_at_ms: now,
    };
    let input = serde_json::json!({ "verb": "stack-rollback", "of": last.id });
    create(engine, rollout, input)
}

/// Removes every running service of the stack in reverse dependency order
/// (dependents first), as the stack's latest rollout defined it.
pub fn teardown(
    engine: &Engine,
    stack: &str,
    environment: &str,
    operator: &str,
    reason: &str,
) -> Result<StackRollout, StackError> {
    busy(engine, stack, environment)?;
    let last = engine
        .store
        .stack_history(stack, environment, 1)?
        .first()
        .map(StackRollout::from_row)
        .transpose()
        .map_err(StackError::Corrupt)?
        .ok_or_else(|| StackError::Invalid {
            stack: stack.into(),
            message: format!("no rollout in `{environment}`; nothing to tear down"),
        })?;
    let active = engine.store.active_rollouts()?;
    let now = engine.clock.now_ms();
    let mut services = BTreeMap::new();
    for name in last.definition.services.keys() {
        if let Some(busy) = active.iter().find(|r| &r.service == name && r.environment == environment) {
            return Err(StackError::Invalid {
                stack: stack.into(),
                message: format!(
                    "service `{name}` is being deployed by rollout `{}`; abort it first (`hoist abort {}`)",
                    busy.id, busy.id
                ),
            });
        }
        // A service another stack has claimed since is that stack's: left alone.
        let theirs = owner_of(engine, name, environment)?.is_some_and(|owner| owner != stack);
        let current = if theirs { None } else { engine.store.current(name, environment)? };
        services.insert(
            name.clone(),
            ServiceRun::planned(
                if current.is_some() { ServiceState::Updated } else { ServiceState::Unchanged },
                current.as_ref().map(|c| c.version.clone()).unwrap_or_default(),
                None,
                current.map(|c| c.id),
            ),
        );
    }
    let rollout = StackRollout {
        id: String::new(),
        stack: stack.into(),
        environment: environment.into(),
        kind: StackKind::Teardown,
        phase: StackPhase::RollingBack,
        definition: last.definition.clone(),
        order: last.order.clone(),
        services,
        requested_by: operator.into(),
        reason: reason.into(),
        outcome: Some(format!("teardown requested by {operator}")),
        started_at_ms: now,
        updated_at_ms: now,
    };
    create(engine, rollout, serde_json::json!({ "verb": "stack-down" }))
}

fn create(engine: &Engine, mut rollout: StackRollout, input: serde_json::Value) -> Result<StackRollout, StackError> {
    let row = engine.store.create_stack_rollout(
        &rollout.stack,
        &rollout.environment,
        rollout.phase.as_str(),
        &serde_json::Value::Null,
        rollout.started_at_ms,
    )?;
    rollout.id = row.id;
    engine.store.save_stack_rollout(&rollout.to_row())?;
    record(engine, &rollout, &format!("stack:{}", rollout.stack), input, &rollout.reason.clone())?;
    Ok(rollout)
}

/// Appends a stack decision to the audit log (under the stack rollout's id).
pub(super) fn record(
    engine: &Engine,
    rollout: &StackRollout,
    service: &str,
    input: serde_json::Value,
    reason: &str,
) -> Result<(), StackError> {
    engine.store.append_record(&DecisionRecord {
        rollout_id: Some(rollout.id.clone()),
        input,
        operator: Some(rollout.requested_by.clone()),
        reason: Some(reason.into()),
        ..DecisionRecord::new(service, &rollout.environment, engine.clock.now_ms(), DecisionKind::Stack)
    })?;
    Ok(())
}
