//! How a revision's containers run, from the revision spec's `hoist.*`
//! extensions: the settings the docker capability applies (user, working
//! directory, entrypoint, limits, stop signal and grace period, init,
//! capabilities, extra hosts, read-only root, tmpfs, health check) are
//! passed on as the container spec's extensions, and `hoist.label`s become
//! the container's labels.

use hoist_sdk::platform::RevisionSpec;

/// The keys the docker capability applies to the container it creates.
const FORWARDED: [&str; 16] = [
    "hoist.user",
    "hoist.working-dir",
    "hoist.entrypoint",
    "hoist.memory",
    "hoist.cpus",
    "hoist.pids",
    "hoist.stop-grace-ms",
    "hoist.healthcheck",
    "hoist.stop-signal",
    "hoist.init",
    "hoist.cap-add",
    "hoist.cap-drop",
    "hoist.extra-host",
    "hoist.memory-reservation",
    "hoist.read-only",
    "hoist.tmpfs",
];

/// Label naming a container's stop grace period, read when it is stopped.
pub const STOP_GRACE: &str = "hoist.stop-grace-ms";

/// The container spec's extensions for the revision's runtime settings.
pub fn extensions(spec: &RevisionSpec) -> impl Iterator<Item = (String, String)> + '_ {
    spec.extensions.iter().filter(|(k, _)| FORWARDED.contains(&k.as_str())).cloned()
}

/// The user's labels (`hoist.label` = `KEY=VALUE`; Hoist's own `hoist.*`
/// keys are never overwritten), and the stop grace period, if set.
pub fn labels(spec: &RevisionSpec) -> Vec<(String, String)> {
    let user = spec.extensions.iter().filter(|(k, _)| k == "hoist.label").filter_map(|(_, v)| {
        let (k, v) = v.split_once('=')?;
        (!k.starts_with("hoist.")).then(|| (k.to_owned(), v.to_owned()))
    });
    let grace = spec.extensions.iter().filter(|(k, _)| k == STOP_GRACE).cloned();
    user.chain(grace).collect()
}

/// Seconds to wait from the stop signal to the kill: the container's own
/// grace period (rounded up), else the platform's `stop-timeout-secs`.
pub fn stop_secs(labels: &[(String, String)], default: u32) -> u32 {
    labels
        .iter()
        .find(|(k, _)| k == STOP_GRACE)
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .map_or(default, |ms| ms.div_ceil(1000))
}
