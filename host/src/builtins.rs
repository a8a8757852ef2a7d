//! The first-party plugins shipped inside the `hoist` binary, addressed in a
//! registry as `source = "builtin:NAME"`.

use crate::runtime::PluginKind;

pub struct Builtin {
    pub name: &'static str,
    pub kind: PluginKind,
    pub bytes: &'static [u8],
    pub summary: &'static str,
}

macro_rules! wasm {
    ($file:literal) => {
        include_bytes!(concat!(env!("HOIST_PLUGINS_DIR"), "/", $file))
    };
}

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "rolling",
        kind: PluginKind::Strategy,
        bytes: wasm!("rolling.wasm"),
        summary: "rolling update with maxSurge/maxUnavailable, as a Kubernetes Deployment",
    },
    Builtin {
        name: "recreate",
        kind: PluginKind::Strategy,
        bytes: wasm!("recreate.wasm"),
        summary: "stops the old revision, then starts the new one",
    },
    Builtin {
        name: "blue-green",
        kind: PluginKind::Strategy,
        bytes: wasm!("blue_green.wasm"),
        summary: "full-size preview, analysis, switch, old revision kept for instant rollback",
    },
    Builtin {
        name: "canary",
        kind: PluginKind::Strategy,
        bytes: wasm!("canary.wasm"),
        summary: "traffic steps with analysis, as explicit steps or Flagger's compact form",
    },
    Builtin {
        name: "threshold",
        kind: PluginKind::HealthPolicy,
        bytes: wasm!("threshold.wasm"),
        summary: "fails a revision past error-rate, latency or availability thresholds",
    },
    Builtin {
        name: "admission-rule",
        kind: PluginKind::AdmissionPolicy,
        bytes: wasm!("admission_rule.wasm"),
        summary: "allow/deny by requester, labels and freeze windows",
    },
    Builtin {
        name: "approval-gate",
        kind: PluginKind::AdmissionPolicy,
        bytes: wasm!("approval_gate.wasm"),
        summary: "holds matching deployments until an operator approves",
    },
    Builtin {
        name: "local-process",
        kind: PluginKind::Platform,
        bytes: wasm!("local_process.wasm"),
        summary: "runs revisions as local processes through the `process` capability",
    },
    Builtin {
        name: "docker",
        kind: PluginKind::Platform,
        bytes: wasm!("docker_platform.wasm"),
        summary: "runs revisions as containers on the local Docker engine through the `docker` capability",
    },
    Builtin {
        name: "swarm",
        kind: PluginKind::Platform,
        bytes: wasm!("swarm_platform.wasm"),
        summary: "runs each revision as a Docker Swarm service through the `docker` capability",
    },
];

/// The builtin called `name`, if any.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}
