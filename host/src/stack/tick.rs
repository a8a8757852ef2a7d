//! One step of a stack rollout: collect what the services' rollouts did,
//! start the services whose dependencies now meet their conditions, or
//! unwind the updated ones in reverse order after a failure.

use hoist_stack::Condition;
use hoist_store::{CommandKind, Phase};

use super::job;
use super::plan::{StackError, record, service_spec};
use super::{ServiceState, StackPhase, StackRollout};
use crate::engine::{DeployRequest, Engine};
use crate::runtime::bindings::base::hoist::plugin::types::InstanceState;

/// Steps the stack rollout `id`; `true` once it has ended.
pub async fn tick(engine: &Engine, id: &str) -> Result<bool, StackError> {
    let row = engine.store.stack_rollout(id)?.ok_or_else(|| StackError::Unknown(id.into()))?;
    let mut r = StackRollout::from_row(&row).map_err(StackError::Corrupt)?;
    if r.phase.is_terminal() {
        return Ok(true);
    }
    let before = r.clone();
    if r.phase == StackPhase::Running {
        advance(engine, &mut r).await?;
    }
    if r.phase == StackPhase::RollingBack {
        unwind(engine, &mut r).await?;
    }
    if r != before {
        r.updated_at_ms = engine.clock.now_ms();
        engine.store.save_stack_rollout(&r.to_row())?;
    }
    Ok(r.phase.is_terminal())
}

/// The phase of a service's rollout once it has ended.
fn ended(engine: &Engine, rollout: Option<&String>) -> Result<Option<(Phase, String)>, StackError> {
    let Some(id) = rollout else { return Ok(Some((Phase::Failed, "no rollout recorded".into()))) };
    Ok(engine
        .store
        .rollout(id)?
        .filter(|o| o.phase.is_terminal())
        .map(|o| (o.phase, o.reason.unwrap_or_else(|| o.status.clone()))))
}

async fn advance(engine: &Engine, r: &mut StackRollout) -> Result<(), StackError> {
    let now = engine.clock.now_ms();
    for name in r.order.clone() {
        let Some(run) = r.services.get(&name) else { continue };
        if run.state != ServiceState::Deploying {
            continue;
        }
        if r.definition.services.get(&name).is_some_and(|d| d.job) {
            let rev = run.candidate.clone().unwrap_or_default();
            if let Some(end) = job::poll(engine, r, &name, &rev).await? {
                let reason = if end.success {
                    format!("job `{name}` ({rev}) completed: {}", end.how)
                } else {
                    format!("job `{name}` ({rev}) failed: {}", end.how)
                };
                let shown =
                    if end.output.is_empty() { reason.clone() } else { format!("{reason}; output:\n{}", end.output) };
                let input = serde_json::json!({ "job": name, "revision": rev, "exit": end.how, "output": end.output });
                record(engine, r, &name, input, &shown)?;
                let Some(run) = r.services.get_mut(&name) else { continue };
                if end.success {
                    run.state = ServiceState::Updated;
                    run.ready_at_ms = Some(now);
                } else {
                    run.state = ServiceState::Failed;
                }
                run.message = reason;
            }
            continue;
        }
        if let Some((phase, why)) = ended(engine, run.rollout.as_ref())? {
            let rollout = run.rollout.clone().unwrap_or_default();
            let Some(run) = r.services.get_mut(&name) else { continue };
            if phase == Phase::Completed {
                run.state = ServiceState::Updated;
                run.ready_at_ms = Some(now);
                run.message = format!("{rollout} completed");
            } else {
                run.state = ServiceState::Failed;
                run.message = format!("{rollout} {phase}: {why}");
            }
        }
    }
    start_ready(engine, r, now).await?;
    let failed: Vec<String> = r
        .services
        .iter()
        .filter(|(_, s)| s.state == ServiceState::Failed)
        .map(|(n, s)| format!("`{n}` ({})", s.message))
        .collect();
    if !failed.is_empty() {
        return fail(engine, r, &failed.join(", "));
    }
    if r.services.values().all(|s| matches!(s.state, ServiceState::Updated | ServiceState::Unchanged)) {
        let updated = r.services.values().filter(|s| s.state == ServiceState::Updated).count();
        r.phase = StackPhase::Completed;
        r.outcome = Some(format!("{} services healthy, {updated} updated", r.services.len()));
        record(
            engine,
            r,
            &format!("stack:{}", r.stack),
            serde_json::json!({ "phase": "completed" }),
            r.outcome.clone().unwrap_or_default().as_str(),
        )?;
    }
    Ok(())
}

/// Starts every pending service whose own dependencies meet their
/// conditions (no waves: each starts as soon as it may).
async fn start_ready(engine: &Engine, r: &mut StackRollout, now: u64) -> Result<(), StackError> {
    for name in r.order.clone() {
        if r.services.get(&name).is_none_or(|s| s.state != ServiceState::Pending) {
            continue;
        }
        let Some(def) = r.definition.services.get(&name).cloned() else { continue };
        let mut met = Vec::new();
        let mut all = true;
        for (dep, cond) in &def.depends_on {
            if meets(engine, r, dep, *cond).await {
                met.push(format!("{dep} {}", condition_name(*cond)));
            } else {
                all = false;
                break;
            }
        }
        if !all {
            continue;
        }
        let why = if met.is_empty() { "no dependencies".to_string() } else { met.join(", ") };
        if def.job {
            let started = job::start(engine, r, &name, &def).await;
            let Some(run) = r.services.get_mut(&name) else { continue };
            run.started_at_ms = Some(now);
            match started {
                Ok(rev) => {
                    run.state = ServiceState::Deploying;
                    run.message = format!("job started: {why}");
                    run.candidate = Some(rev.clone());
                    let input = serde_json::json!({ "start": name, "job": rev, "met": met });
                    record(engine, r, &name, input, &format!("starting job `{name}` ({rev}): {why}"))?;
                }
                Err(e) => {
                    run.state = ServiceState::Failed;
                    run.message = format!("job `{name}` could not start: {e}");
                }
            }
            continue;
        }
        let request = DeployRequest {
            service: name.clone(),
            environment: r.environment.clone(),
            version: r.services.get(&name).map(|s| s.version.clone()).unwrap_or_default(),
            spec: service_spec(&r.definition, &def),
            strategy: super::plan::strategy_of(&def),
            requested_by: format!("stack:{}", r.id),
            reason: format!("stack rollout {}: {why}", r.id),
        };
        // A control plane killed after starting the rollout but before
        // saving this document finds that rollout again instead of
        // starting a second one.
        let adopted = engine
            .store
            .history(&name, &r.environment, 1)?
            .into_iter()
            .find(|o| o.requested_by == request.requested_by);
        let result = match adopted {
            Some(rollout) => Ok(rollout),
            None => engine.deploy(&request),
        };
        let Some(run) = r.services.get_mut(&name) else { continue };
        run.started_at_ms = Some(now);
        match result {
            Ok(rollout) => {
                run.state = ServiceState::Deploying;
                run.message = format!("started: {why}");
                run.rollout = Some(rollout.id.clone());
                run.candidate = Some(rollout.candidate.clone());
                let input = serde_json::json!({ "start": name, "rollout": rollout.id, "met": met });
                record(engine, r, &name, input, &format!("starting `{name}`: {why}"))?;
            }
            Err(e) => {
                run.state = ServiceState::Failed;
                run.message = e.to_string();
            }
        }
    }
    Ok(())
}

/// Whether `name` is a one-shot job of the stack.
fn is_job(r: &StackRollout, name: &str) -> bool {
    r.definition.services.get(name).is_some_and(|d| d.job)
}

fn condition_name(c: Condition) -> &'static str {
    match c {
        Condition::Started => "started",
        Condition::Healthy => "healthy",
        Condition::CompletedSuccessfully => "completed successfully",
    }
}

/// Whether `dep` meets `cond` now. A dependency left unchanged or updated
/// in this rollout is healthy; `started` is met as soon as one instance of
/// its new revision runs.
async fn meets(engine: &Engine, r: &StackRollout, dep: &str, cond: Condition) -> bool {
    let Some(run) = r.services.get(dep) else { return false };
    match run.state {
        ServiceState::Unchanged | ServiceState::Updated => true,
        ServiceState::Deploying if cond == Condition::Started => {
            let Some(candidate) = &run.candidate else { return false };
            engine.platform.instances(dep, &r.environment).await.is_ok_and(|list| {
                list.iter().any(|i| {
                    &i.revision == candidate
                        && matches!(i.state, InstanceState::Starting | InstanceState::Ready | InstanceState::Unready)
                })
            })
        }
        _ => false,
    }
}

/// A service failed: abort the in-flight ones, skip the pending ones, and
/// unwind the updated ones in reverse dependency order.
fn fail(engine: &Engine, r: &mut StackRollout, failed: &str) -> Result<(), StackError> {
    let mut undo: Vec<String> = r
        .order
        .iter()
        .rev()
        .filter(|n| r.services.get(*n).is_some_and(|s| s.state == ServiceState::Updated))
        .filter(|n| !is_job(r, n))
        .cloned()
        .collect();
    for name in r.order.clone() {
        let Some(run) = r.services.get_mut(&name) else { continue };
        match run.state {
            ServiceState::Pending => {
                run.state = ServiceState::Skipped;
                run.message = "not started: the stack rollout failed".into();
            }
            ServiceState::Deploying => {
                run.state = ServiceState::Aborting;
                undo.push(name.clone());
                if r.definition.services.get(&name).is_some_and(|d| d.job) {
                    continue; // `unwind` stops it
                }
                if let Some(id) = &run.rollout {
                    // Ended between our read and now: `unwind` sees its end.
                    let _ = engine.command(
                        id,
                        CommandKind::Abort,
                        &format!("stack:{}", r.id),
                        &format!("stack rollout failed: {failed}"),
                    );
                }
            }
            _ => {}
        }
    }
    let outcome = if undo.is_empty() {
        format!("{failed} failed; nothing was updated, nothing to roll back")
    } else {
        format!("{failed} failed; rolling back in reverse order: {}", undo.join(", "))
    };
    r.phase = StackPhase::RollingBack;
    r.outcome = Some(outcome.clone());
    record(
        engine,
        r,
        &format!("stack:{}", r.stack),
        serde_json::json!({ "phase": "rolling-back", "undo": undo }),
        &outcome,
    )?;
    Ok(())
}

async fn unwind(engine: &Engine, r: &mut StackRollout) -> Result<(), StackError> {
    for name in r.order.clone() {
        let Some(run) = r.services.get(&name).cloned() else { continue };
        match run.state {
            ServiceState::Aborting if is_job(r, &name) => {
                let rev = run.candidate.clone().unwrap_or_default();
                let message = match job::stop(engine, r, &name, &rev).await {
                    Ok(()) => format!("job {rev} stopped: the stack rollout failed"),
                    Err(e) => format!("job {rev}: stopping it failed: {e}"),
                };
                let Some(entry) = r.services.get_mut(&name) else { continue };
                entry.state = ServiceState::Reverted;
                entry.message = message;
            }
            ServiceState::Aborting => {
                if let Some((phase, why)) = ended(engine, run.rollout.as_ref())? {
                    let Some(entry) = r.services.get_mut(&name) else { continue };
                    if phase == Phase::Completed {
                        // It completed before the abort reached it: undo it like the others.
                        entry.state = ServiceState::Updated;
                    } else {
                        entry.state = ServiceState::Reverted;
                        entry.message = format!("rollout {phase}: {why}");
                    }
                }
            }
            ServiceState::Reverting => {
                if let Some((phase, why)) = ended(engine, run.revert.as_ref())? {
                    let Some(entry) = r.services.get_mut(&name) else { continue };
                    if phase == Phase::Completed {
                        entry.state = ServiceState::Reverted;
                        entry.message = format!("back on {}", run.previous.as_deref().unwrap_or("?"));
                    } else {
                        entry.state = ServiceState::RevertFailed;
                        entry.message = format!("rollback {phase}: {why}");
                    }
                }
            }
            _ => {}
        }
    }
    // Dependents first: a service is rolled back once nothing that depends
    // on it is still on its new revision.
    for name in r.order.iter().rev().cloned().collect::<Vec<_>>() {
        if r.services.get(&name).is_none_or(|s| s.state != ServiceState::Updated) || is_job(r, &name) {
            continue;
        }
        let waiting = r.definition.services.iter().any(|(other, def)| {
            def.depends_on.contains_key(&name)
                && r.services.get(other).is_some_and(|s| {
                    matches!(
                        s.state,
                        ServiceState::Updated
                            | ServiceState::Reverting
                            | ServiceState::Aborting
                            | ServiceState::Deploying
                    )
                })
        });
        if waiting {
            continue;
        }
        revert(engine, r, &name).await?;
    }
    let busy = r.services.iter().any(|(n, s)| {
        matches!(s.state, ServiceState::Reverting | ServiceState::Aborting)
            || (s.state == ServiceState::Updated && !is_job(r, n))
    });
    if !busy {
        let broken: Vec<&String> =
            r.services.iter().filter(|(_, s)| s.state == ServiceState::RevertFailed).map(|(n, _)| n).collect();
        let teardown = r.kind == super::StackKind::Teardown;
        r.phase = match (broken.is_empty(), teardown) {
            (false, _) => StackPhase::Failed,
            (true, true) => StackPhase::Completed,
            (true, false) => StackPhase::RolledBack,
        };
        let note = if broken.is_empty() && teardown {
            "every service removed, dependents first".to_string()
        } else if broken.is_empty() {
            "every updated service is back on its previous revision".to_string()
        } else {
            format!("rollback failed for {broken:?}; see `hoist stack status {} --env {}`", r.stack, r.environment)
        };
        let input = serde_json::json!({ "phase": r.phase.as_str() });
        record(engine, r, &format!("stack:{}", r.stack), input, &note)?;
        r.outcome = Some(match r.outcome.take() {
            Some(o) => format!("{o}; {note}"),
            None => note,
        });
    }
    Ok(())
}

async fn revert(engine: &Engine, r: &mut StackRollout, name: &str) -> Result<(), StackError> {
    let Some(run) = r.services.get(name).cloned() else { return Ok(()) };
    let operator = format!("stack:{}", r.id);
    let reason = format!("stack rollout {}: {}", r.id, r.outcome.as_deref().unwrap_or("rollback"));
    let (state, revert_id, message) = match (&run.previous, &run.candidate) {
        (Some(previous), _) => match engine.rollback_to(name, &r.environment, previous, &operator, &reason) {
            Ok(rollout) => (ServiceState::Reverting, Some(rollout.id), format!("rolling back to {previous}")),
            Err(e) => (ServiceState::RevertFailed, None, e.to_string()),
        },
        // New in this stack rollout: nothing to return to, so it is removed.
        // It stops being current first: a service at rest with missing
        // instances is healed, which would start new ones while (or after)
        // these are removed and leave them orphaned.
        (None, Some(candidate)) => match remove_new(engine, name, &r.environment, candidate).await? {
            Ok(()) => {
                engine.traffic.detach(name, &r.environment);
                let why = if r.kind == super::StackKind::Teardown { "torn down" } else { "new in this stack rollout" };
                (ServiceState::Removed, None, format!("{why}: {candidate} removed"))
            }
            Err(e) => {
                // Still running: it is current again, held and healed.
                engine.store.set_current(name, &r.environment, candidate)?;
                (ServiceState::RevertFailed, None, format!("removing {candidate}: {e}"))
            }
        },
        (None, None) => (ServiceState::Reverted, None, "nothing ran".into()),
    };
    let input = serde_json::json!({ "revert": name, "to": run.previous, "rollout": revert_id });
    let verb = if r.kind == super::StackKind::Teardown { "removing" } else { "rolling back" };
    record(engine, r, name, input, &format!("{verb} `{name}`: {message}"))?;
    if let Some(entry) = r.services.get_mut(name) {
        entry.state = state;
        entry.revert = revert_id;
        entry.message = message;
    }
    Ok(())
}

/// Removes a service new in this stack rollout, having made it not current.
async fn remove_new(
    engine: &Engine,
    name: &str,
    environment: &str,
    candidate: &str,
) -> Result<Result<(), String>, StackError> {
    engine.store.clear_current(name, environment)?;
    Ok(engine.platform.remove(name, environment, candidate).await)
}
