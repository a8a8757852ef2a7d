//! The strategy world: a deterministic state machine that turns what the
//! host observed into a [`Decision`].

pub use crate::bindings::strategy::exports::hoist::plugin::strategy::{
    Action, AnalysisRequest, AnalysisResult, Context, Decision, Observation, OperatorCommand, ReadyTarget, ScaleTo,
    WaitFor,
};

use crate::types::PluginError;

/// A rollout strategy. Implement it on a unit struct and export it with
/// [`export_strategy!`](crate::export_strategy).
///
/// `decide` must be deterministic: take "now" from `ctx.now_ms` and memory
/// from `ctx.state`, never from anywhere else.
pub trait Strategy {
    /// The next decision for this rollout.
    fn decide(ctx: Context) -> Result<Decision, PluginError>;

    /// Checks a config document before any rollout uses it (`hoist registry
    /// check`, and every load for an environment). The default accepts
    /// anything; return `hoist_sdk::config::problems::<YourConfig>(config)`
    /// ([`problems`](crate::config::problems)) to refuse unknown keys and
    /// bad values.
    fn validate_config(config: &str) -> Vec<crate::config::ConfigProblem> {
        let _ = config;
        Vec::new()
    }
}

/// Exports a [`Strategy`] implementation as the component's
/// `hoist:plugin/strategy` interface.
///
/// On native targets it only checks that the type implements the trait, so
/// the same crate builds as an `rlib` for unit tests.
#[macro_export]
macro_rules! export_strategy {
    ($ty:ty) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __HoistStrategy;
            impl $crate::bindings::strategy::exports::hoist::plugin::strategy::Guest for __HoistStrategy {
                fn decide(
                    ctx: $crate::strategy::Context,
                ) -> ::core::result::Result<$crate::strategy::Decision, $crate::types::PluginError> {
                    <$ty as $crate::strategy::Strategy>::decide(ctx)
                }
            }
            $crate::bindings::strategy::__export_strategy_world!(
                __HoistStrategy with_types_in $crate::bindings::strategy
            );
            $crate::__export_config!($ty, $crate::strategy::Strategy);
        };
        #[cfg(not(target_family = "wasm"))]
        const _: fn() = || {
            fn implements<T: $crate::strategy::Strategy>() {}
            implements::<$ty>();
        };
    };
}

/// A revision's instances as a strategy counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevisionCount {
    /// Instances that are not stopping.
    pub count: u32,
    /// Instances that are ready.
    pub ready: u32,
}

/// Counts `revision`'s instances in the observation.
pub fn count(observed: &Observation, revision: &str) -> RevisionCount {
    use crate::types::InstanceState;
    let mut c = RevisionCount::default();
    for i in observed.instances.iter().filter(|i| i.revision == revision) {
        if i.state != InstanceState::Stopping {
            c.count += 1;
        }
        if i.state == InstanceState::Ready {
            c.ready += 1;
        }
    }
    c
}

/// `Action::Scale` of `revision` to `replicas`.
pub fn scale(revision: &str, replicas: u32) -> Action {
    Action::Scale(ScaleTo { revision: revision.to_owned(), replicas })
}

/// A decision with the strategy's state encoded.
pub fn decision<S: serde::Serialize>(state: &S, actions: Vec<Action>, status: String) -> Result<Decision, PluginError> {
    Ok(Decision { state: crate::state::encode(state)?, actions, status })
}

/// The decision to give up: the host restores the stable revision.
pub fn rollback<S: serde::Serialize>(state: &S, reason: String) -> Result<Decision, PluginError> {
    decision(state, vec![Action::Rollback(reason.clone())], format!("rolling back: {reason}"))
}
