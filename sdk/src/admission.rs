//! The admission-policy world: may this deployment start?

pub use crate::bindings::admission::exports::hoist::plugin::admission::{AdmissionVerdict, DeployRequest};

use crate::types::PluginError;

/// An admission policy. Export it with
/// [`export_admission_policy!`](crate::export_admission_policy).
pub trait AdmissionPolicy {
    /// Allow, deny or hold `request` for approval.
    fn admit(request: DeployRequest) -> Result<AdmissionVerdict, PluginError>;

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

/// Exports an [`AdmissionPolicy`] implementation as the component's
/// `hoist:plugin/admission` interface (a type check only on native targets).
#[macro_export]
macro_rules! export_admission_policy {
    ($ty:ty) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __HoistAdmission;
            impl $crate::bindings::admission::exports::hoist::plugin::admission::Guest for __HoistAdmission {
                fn admit(
                    request: $crate::admission::DeployRequest,
                ) -> ::core::result::Result<$crate::admission::AdmissionVerdict, $crate::types::PluginError> {
                    <$ty as $crate::admission::AdmissionPolicy>::admit(request)
                }
            }
            $crate::bindings::admission::__export_admission_world!(
                __HoistAdmission with_types_in $crate::bindings::admission
            );
            $crate::__export_config!($ty, $crate::admission::AdmissionPolicy);
        };
        #[cfg(not(target_family = "wasm"))]
        const _: fn() = || {
            fn implements<T: $crate::admission::AdmissionPolicy>() {}
            implements::<$ty>();
        };
    };
}
