//! A service's containers as the engine lists them (`hoist.service` label).

use super::engine::docker;

/// One container as `docker ps -a` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Container {
    pub name: String,
    pub revision: String,
    /// `running`, `exited`, `created`, …
    pub state: String,
    pub id: String,
}

/// Every container of a service (all states), by name.
pub fn containers_of(service: &str) -> Vec<Container> {
    let out = docker(&[
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        &format!("label=hoist.service={service}"),
        "--format",
        "{{.Names}}\t{{.Label \"hoist.revision\"}}\t{{.State}}\t{{.ID}}",
    ]);
    assert!(out.status.success(), "docker ps: {}", String::from_utf8_lossy(&out.stderr));
    let mut list: Vec<Container> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(Container {
                name: f.next()?.to_owned(),
                revision: f.next()?.to_owned(),
                state: f.next()?.to_owned(),
                id: f.next()?.to_owned(),
            })
        })
        .collect();
    list.sort();
    list
}

/// Container names of a service (all states).
pub fn containers(service: &str) -> Vec<String> {
    containers_of(service).into_iter().map(|c| c.name).collect()
}

/// (revision, state) of every container of a service, sorted.
pub fn revisions_and_states(service: &str) -> Vec<(String, String)> {
    containers_of(service).into_iter().map(|c| (c.revision, c.state)).collect()
}

/// The ids of every container (all states) of `service` in environment
/// `env`: for tests whose services carry real names (`api`, `postgres`)
/// in an environment of their own.
pub fn in_environment(service: &str, env: &str) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-aq",
        "--no-trunc",
        "--filter",
        &format!("label=hoist.service={service}"),
        "--filter",
        &format!("label=hoist.environment={env}"),
    ]);
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}
