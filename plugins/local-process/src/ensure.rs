//! `ensure`: make a revision have exactly N running processes.

use std::collections::BTreeSet;

use hoist_sdk::platform::{PlatformError, RevisionSpec};
use hoist_sdk::process::{self, ProcessError, ProcessInfo, ProcessState, SpawnRequest};
use hoist_sdk::types::Instance;

use crate::config::Config;
use crate::labels;

pub fn ensure(spec: &RevisionSpec, replicas: u32) -> Result<Vec<Instance>, PlatformError> {
    let config = Config::parse(&spec.config)?;
    let Some((program, args)) = spec.command.split_first() else {
        return Err(PlatformError::InvalidSpec(format!(
            "service `{}` has no command to run; set `command` in its definition",
            spec.service
        )));
    };
    let selector = labels::selector(&spec.service, &spec.environment, Some(&spec.revision));
    let mut found = process::find(&selector);
    found.sort_by_key(|p| (labels::index(p), p.started_at_ms));

    // Keep the lowest-indexed running processes, one per index.
    let mut keep: Vec<ProcessInfo> = Vec::new();
    let mut stop_list: Vec<ProcessInfo> = Vec::new();
    let mut seen = BTreeSet::new();
    for p in found {
        let fresh = seen.insert(labels::index(&p));
        if p.state == ProcessState::Running && fresh && keep.len() < replicas as usize {
            keep.push(p);
        } else {
            stop_list.push(p);
        }
    }
    stop_list.sort_by_key(|p| std::cmp::Reverse(labels::index(p)));
    for p in &stop_list {
        stop(&p.id, config.stop_grace_ms)?;
    }

    let used: BTreeSet<u32> = keep.iter().map(labels::index).collect();
    let mut free = (0u32..).filter(|i| !used.contains(i));
    while keep.len() < replicas as usize {
        let Some(index) = free.next() else { break };
        keep.push(spawn(spec, program, args, index)?);
    }
    keep.sort_by_key(labels::index);
    Ok(keep.iter().map(labels::to_instance).collect())
}

fn spawn(spec: &RevisionSpec, program: &str, args: &[String], index: u32) -> Result<ProcessInfo, PlatformError> {
    let mut env = spec.env.clone();
    env.push(("HOIST_SERVICE".to_owned(), spec.service.clone()));
    env.push(("HOIST_REVISION".to_owned(), spec.revision.clone()));
    env.push(("HOIST_INSTANCE".to_owned(), index.to_string()));
    env.extend(dependency_env(spec));
    let mut labels = labels::selector(&spec.service, &spec.environment, Some(&spec.revision));
    labels.push((labels::INDEX.to_owned(), index.to_string()));
    let request = SpawnRequest {
        program: program.to_owned(),
        args: args.to_vec(),
        env,
        labels,
        assign_port: true,
        extensions: Vec::new(),
    };
    process::spawn(&request).map_err(|e| match e {
        ProcessError::NotFound(what) => PlatformError::InvalidSpec(format!(
            "service `{}` revision {}: program `{what}` not found or not executable",
            spec.service, spec.revision
        )),
        other => PlatformError::Capability(format!(
            "spawning `{program}` for service `{}` revision {}: {}",
            spec.service,
            spec.revision,
            process::describe(&other)
        )),
    })
}

/// Where each dependency is reached from a local process: its front door
/// (stable across its revisions) when it has one, else a running instance
/// of its newest revision (a snapshot: give the dependency a `router` to
/// follow its updates).
fn dependency_env(spec: &RevisionSpec) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for dep in hoist_sdk::platform::dependencies::of(spec) {
        let at = dep
            .router
            .as_deref()
            .and_then(|r| r.rsplit_once(':'))
            .and_then(|(h, p)| Some((h.to_owned(), p.parse().ok()?)));
        let at = at.or_else(|| {
            let mut running: Vec<ProcessInfo> = process::find(&labels::selector(&dep.service, &spec.environment, None))
                .into_iter()
                .filter(|p| p.state == ProcessState::Running && p.port.is_some())
                .collect();
            running.sort_by_key(|p| std::cmp::Reverse(p.started_at_ms));
            running.first().and_then(|p| Some(("127.0.0.1".to_owned(), p.port?)))
        });
        if let Some((host, port)) = at {
            env.extend(hoist_sdk::platform::dependencies::env(spec, &dep.service, &host, port));
        }
    }
    env
}

/// Stop a process; one that is already gone is fine.
pub fn stop(id: &str, grace_ms: u32) -> Result<(), PlatformError> {
    match process::stop(id, grace_ms) {
        Ok(()) | Err(ProcessError::NoSuchProcess(_)) => Ok(()),
        Err(e) => Err(PlatformError::Capability(format!("stopping process {id}: {}", process::describe(&e)))),
    }
}
