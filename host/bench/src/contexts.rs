//! The realistic mid-rollout context both plugin forms decide on: 10
//! replicas, the stable revision fully ready, three candidate instances (one
//! still starting), traffic split by readiness, and the strategy's own state
//! from its previous decision.

use anyhow::Context as _;
use hoist::runtime::Plugin;
use hoist_sdk::strategy::Strategy;

const CONFIG: &str =
    r#"{"max-surge":"25%","max-unavailable":"25%","min-ready-ms":10000,"progress-deadline-ms":600000}"#;

/// Builds the context with one set of contract types (host or SDK): both are
/// generated from the same WIT, so the field names agree.
macro_rules! context {
    ($($types:ident)::+, $($strategy:ident)::+) => {{
        use $($types)::+::{Instance, InstanceState, Revision, Weight};
        use $($strategy)::+::{Context, Observation};
        let revision = |id: &str, version: &str| Revision { id: id.into(), version: version.into(), extensions: vec![] };
        let instance = |rev: &str, i: u32, state: InstanceState, ready_for: Option<u64>| Instance {
            id: format!("web-{rev}-{i}"),
            revision: rev.into(),
            address: Some(format!("127.0.0.1:{}", 9100 + i)),
            state,
            ready_for_ms: ready_for,
            extensions: vec![("pid".into(), (4000 + i).to_string())],
        };
        let mut instances: Vec<Instance> = (0..10).map(|i| instance("r7", i, InstanceState::Ready, Some(3_600_000))).collect();
        instances.push(instance("r8", 10, InstanceState::Ready, Some(12_000)));
        instances.push(instance("r8", 11, InstanceState::Ready, Some(11_000)));
        instances.push(instance("r8", 12, InstanceState::Starting, None));
        Context {
            rollout_id: "web.production.8".into(),
            service: "web".into(),
            environment: "production".into(),
            stable: Some(revision("r7", "registry.local/web:1.4.2")),
            candidate: revision("r8", "registry.local/web:1.5.0"),
            replicas: 10,
            config: CONFIG.into(),
            state: None,
            now_ms: 1_764_000_060_000,
            started_at_ms: 1_764_000_000_000,
            observed: Observation {
                instances,
                weights: vec![
                    Weight { revision: "r7".into(), percent: 83 },
                    Weight { revision: "r8".into(), percent: 17 },
                ],
                analysis: None,
                command: None,
                extensions: vec![],
            },
            extensions: vec![("hoist.step".into(), "3".into())],
        }
    }};
}

/// The host-side context, with the plugin's state from one earlier decision.
pub fn host_context(
    rolling: &Plugin,
) -> anyhow::Result<hoist::runtime::bindings::strategy::exports::hoist::plugin::strategy::Context> {
    let mut ctx = context!(
        hoist::runtime::bindings::base::hoist::plugin::types,
        hoist::runtime::bindings::strategy::exports::hoist::plugin::strategy
    );
    let first = rolling.decide(&ctx)?.value.map_err(|e| anyhow::anyhow!("rolling refused the context: {e:?}"))?;
    ctx.state = Some(first.state);
    Ok(ctx)
}

/// The same context in the SDK's (serde) types, for the pipe plugin.
pub fn sdk_context() -> anyhow::Result<hoist_sdk::strategy::Context> {
    let mut ctx = context!(hoist_sdk::types, hoist_sdk::strategy);
    let first =
        rolling::Rolling::decide(ctx.clone()).map_err(|e| anyhow::anyhow!("{e:?}")).context("rolling natively")?;
    ctx.state = Some(first.state);
    Ok(ctx)
}
