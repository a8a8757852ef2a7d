//! The health-policy world: judges a revision from its measurements.

pub use crate::bindings::health::exports::hoist::plugin::health::{AnalysisInput, Evaluation, RevisionMetrics};

use crate::types::PluginError;

/// A health or rollback policy. Export it with
/// [`export_health_policy!`](crate::export_health_policy).
///
/// `evaluate` must be pure: the same input gives the same evaluation.
pub trait HealthPolicy {
    /// Judge the candidate in `input`.
    fn evaluate(input: AnalysisInput) -> Result<Evaluation, PluginError>;

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

/// Exports a [`HealthPolicy`] implementation as the component's
/// `hoist:plugin/health` interface (a type check only on native targets).
#[macro_export]
macro_rules! export_health_policy {
    ($ty:ty) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __HoistHealth;
            impl $crate::bindings::health::exports::hoist::plugin::health::Guest for __HoistHealth {
                fn evaluate(
                    input: $crate::health::AnalysisInput,
                ) -> ::core::result::Result<$crate::health::Evaluation, $crate::types::PluginError> {
                    <$ty as $crate::health::HealthPolicy>::evaluate(input)
                }
            }
            $crate::bindings::health::__export_health_world!(
                __HoistHealth with_types_in $crate::bindings::health
            );
            $crate::__export_config!($ty, $crate::health::HealthPolicy);
        };
        #[cfg(not(target_family = "wasm"))]
        const _: fn() = || {
            fn implements<T: $crate::health::HealthPolicy>() {}
            implements::<$ty>();
        };
    };
}
