//! One-shot jobs of a stack (`job = true`, Compose `restart: "no"`): run
//! once per stack rollout, straight through the platform (no strategy: a
//! job has no revision to keep, no probe and no traffic). Exit 0 meets
//! `completed-successfully`; any other exit fails the stack rollout. The
//! job's output (its last lines, as the platform reports them in the
//! instance's `output` extension) goes into the decision log, and its
//! finished instance is removed.

use hoist_stack::StackService;

use super::plan::service_spec;
use super::{StackError, StackRollout};
use crate::engine::{Engine, RevisionSpec};
use crate::runtime::bindings::base::hoist::plugin::types::InstanceState;

/// The revision a job runs as in stack rollout `id` (`stack.env.N` → `jN`).
pub fn revision(id: &str) -> String {
    format!("j{}", id.rsplit('.').next().unwrap_or("0"))
}

/// Starts job `name` of `r`: earlier runs are removed, then one instance of
/// this run is made to exist. `Err` says why it could not start.
pub async fn start(engine: &Engine, r: &StackRollout, name: &str, def: &StackService) -> Result<String, String> {
    let rev = revision(&r.id);
    let found = engine.platform.instances(name, &r.environment).await?;
    let mut old: Vec<&str> = found.iter().map(|i| i.revision.as_str()).filter(|v| *v != rev).collect();
    old.sort_unstable();
    old.dedup();
    for v in old {
        engine.platform.remove(name, &r.environment, v).await.map_err(|e| format!("removing run {v}: {e}"))?;
    }
    let spec = service_spec(&r.definition, def);
    let revision_spec = RevisionSpec {
        service: name.into(),
        environment: r.environment.clone(),
        revision: rev.clone(),
        version: r.services.get(name).map(|s| s.version.clone()).unwrap_or_default(),
        image: spec.image,
        command: spec.command,
        env: spec.env,
        port: spec.port,
        probe: None,
        stack: spec.stack,
        volumes: spec.volumes,
        extensions: spec.extensions,
    };
    engine.platform.ensure(&revision_spec, 1).await.map_err(|e| e.to_string())?;
    Ok(rev)
}

/// How a run ended: its exit (`exit code N`) and its output.
pub struct Ended {
    pub success: bool,
    pub how: String,
    pub output: String,
}

/// Whether run `rev` of job `name` has ended; its instance is removed once
/// it has.
pub async fn poll(engine: &Engine, r: &StackRollout, name: &str, rev: &str) -> Result<Option<Ended>, StackError> {
    let Ok(found) = engine.platform.instances(name, &r.environment).await else { return Ok(None) };
    let Some(instance) = found.iter().find(|i| i.revision == rev) else {
        return Ok(Some(Ended {
            success: false,
            how: format!("its instance ({rev}) is gone from the platform"),
            output: String::new(),
        }));
    };
    let InstanceState::Exited(how) = &instance.state else { return Ok(None) };
    let output = instance.extensions.iter().find(|(k, _)| k == "output").map(|(_, v)| v.clone()).unwrap_or_default();
    let ended = Ended { success: crate::exits::succeeded(how), how: how.clone(), output };
    if let Err(e) = engine.platform.remove(name, &r.environment, rev).await {
        tracing::warn!(job = name, revision = rev, error = %e, "could not remove a finished job's instance");
    }
    Ok(Some(ended))
}

/// Stops a run that is still going (the stack rollout failed elsewhere).
pub async fn stop(engine: &Engine, r: &StackRollout, name: &str, rev: &str) -> Result<(), String> {
    engine.platform.remove(name, &r.environment, rev).await
}
