//! The strategy world: a deterministic state machine that turns what the
//! host observed into a [`Decision`].

pub use crate::bindings::strategy::exports::hoist::plugin::strategy::{
    Action, AnalysisRequest, AnalysisResult, Context, Decision, Observation, OperatorCommand,
    ReadyTarget, ScaleTo, WaitFor,
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
            impl $crate::bindings::strategy::exports::hoist::plugin::strategy::Guest
                for __HoistStrategy
            {
                fn decide(
                    ctx: $crate::strategy::Context,
                ) -> ::core::result::Result<$crate::strategy::Decision, $crate::types::PluginError>
                {
                    <$ty as $crate::strategy::Strategy>::decide(ctx)
                }
            }
            $crate::bindings::strategy::__export_strategy_world!(
                __HoistStrategy with_types_in $crate::bindings::strategy
            );
        };
        #[cfg(not(target_family = "wasm"))]
        const _: fn() = || {
            fn implements<T: $crate::strategy::Strategy>() {}
            implements::<$ty>();
        };
    };
}
