//! `builtin:swarm` — runs each revision as a Docker Swarm service through
//! the `docker` capability (grant it with `capabilities = ["docker"]`). The
//! engine must be a Swarm manager (`docker swarm init`).
//!
//! Config (JSON object, kebab-case): `network` (default `hoist-swarm`;
//! created as a swarm-scoped attachable bridge when missing) and
//! `stop-timeout-secs` (default 10; Swarm's stop grace period).
//!
//! A revision is one replicated service named `hoist-<service>-<env>-<rev>`
//! and labelled `hoist.service`, `hoist.environment`, `hoist.revision` and
//! `hoist.port` (the labels are on its containers too). `ensure` creates it
//! or changes its replica count (the spec is kept, so Swarm only adds or
//! stops tasks); `instances` lists every service's tasks; `remove` removes
//! the service. Services are found again by label, so a restarted control
//! plane adopts them instead of duplicating them.
//!
//! # Canary and blue-green: one service per revision, behind Hoist's router
//!
//! Swarm can only *replace* a service's tasks (`docker service update`); it
//! has no notion of two revisions serving side by side with a traffic
//! split. So each revision is its own service, and Hoist's router splits
//! traffic between the services' tasks, exactly as for processes and
//! containers. Hence:
//!
//! - **the same strategy plugins run unchanged**: canary, blue-green,
//!   rolling and recreate only ask "revision R has N instances" and "send
//!   W % to R"; nothing in them knows about Swarm;
//! - **exact weights**: 5 % means 5 % of requests, independent of replica
//!   counts (a replica ratio inside one service could only give 1/N steps,
//!   and Swarm's VIP balances connections, not requests);
//! - **per-revision metrics**: the router attributes every request to a
//!   revision, so the health policies compare the candidate with the
//!   stable revision; inside one service the revisions are
//!   indistinguishable;
//! - **instant rollback**: the stable service keeps running through the
//!   rollout, so a rollback is a weight change (then the candidate's
//!   service is removed), not a Swarm update that restarts tasks.
//!
//! # How the router reaches tasks
//!
//! Swarm cannot publish a port on 127.0.0.1 only (its routing mesh and
//! host-mode ports bind every interface), and Hoist publishes nothing
//! beyond loopback. Instead every service is attached to the network
//! `network`, created as a **swarm-scoped bridge**: each node gets its own
//! bridge, and a task's address is its container's IP on that bridge,
//! reachable from the node's host — where `hoist serve` and its router run.
//! The host reads it by inspecting the task's container. (Measured on a
//! single-node swarm: a task's IP on an attachable *overlay* is not
//! routable from the host at all; its IP on the swarm-scoped bridge is.)
//!
//! On several nodes a node-local bridge only reaches the tasks of the
//! router's own node: a task elsewhere is reported `other("running on node
//! … with no address …")`, never ready, so no traffic is sent where it
//! cannot arrive. For a multi-node swarm, set `network` to an attachable
//! overlay you create and run `hoist serve` (the router) where it is
//! attached to that overlay (e.g. in a container on it); the addresses of
//! tasks on other nodes are then read from the overlay (cluster-wide).

mod config;
mod labels;
mod service;
mod tasks;

pub use config::{Config, DEFAULT_NETWORK};
pub use labels::service_name;

use hoist_sdk::platform::{Platform, PlatformError, RevisionSpec};
use hoist_sdk::types::Instance;

/// The swarm platform.
pub struct SwarmPlatform;

impl Platform for SwarmPlatform {
    fn validate_config(config: &str) -> Vec<hoist_sdk::config::ConfigProblem> {
        hoist_sdk::config::problems::<Config>(config)
    }

    fn ensure(spec: RevisionSpec, replicas: u32) -> Result<Vec<Instance>, PlatformError> {
        service::ensure(&spec, replicas)
    }

    fn instances(service: String, environment: String, config: String) -> Result<Vec<Instance>, PlatformError> {
        service::instances(&service, &environment, &config)
    }

    fn remove(service: String, environment: String, revision: String, config: String) -> Result<(), PlatformError> {
        service::remove(&service, &environment, &revision, &config)
    }
}

hoist_sdk::export_platform!(SwarmPlatform);
