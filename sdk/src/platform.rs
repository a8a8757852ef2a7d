//! The platform world: makes "revision R of service S has N instances" true.

pub use crate::bindings::platform::exports::hoist::plugin::platform::{PlatformError, RevisionSpec};

use crate::types::Instance;

/// A platform adapter. Export it with [`export_platform!`](crate::export_platform).
///
/// Every function must be idempotent: the host may call it again after a
/// crash or a timeout.
pub trait Platform {
    /// Make the revision have exactly `replicas` instances; return them.
    fn ensure(spec: RevisionSpec, replicas: u32) -> Result<Vec<Instance>, PlatformError>;
    /// Every instance of the service in the environment, of every revision.
    fn instances(service: String, environment: String, config: String) -> Result<Vec<Instance>, PlatformError>;
    /// Stop and remove every instance of the revision.
    fn remove(service: String, environment: String, revision: String, config: String) -> Result<(), PlatformError>;

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

/// Exports a [`Platform`] implementation as the component's
/// `hoist:plugin/platform` interface (a type check only on native targets).
#[macro_export]
macro_rules! export_platform {
    ($ty:ty) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __HoistPlatform;
            impl $crate::bindings::platform::exports::hoist::plugin::platform::Guest for __HoistPlatform {
                fn ensure(
                    spec: $crate::platform::RevisionSpec,
                    replicas: u32,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::types::Instance>, $crate::platform::PlatformError>
                {
                    <$ty as $crate::platform::Platform>::ensure(spec, replicas)
                }
                fn instances(
                    service: ::std::string::String,
                    environment: ::std::string::String,
                    config: ::std::string::String,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::types::Instance>, $crate::platform::PlatformError>
                {
                    <$ty as $crate::platform::Platform>::instances(service, environment, config)
                }
                fn remove(
                    service: ::std::string::String,
                    environment: ::std::string::String,
                    revision: ::std::string::String,
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::platform::PlatformError> {
                    <$ty as $crate::platform::Platform>::remove(service, environment, revision, config)
                }
            }
            $crate::bindings::platform::__export_platform_world!(
                __HoistPlatform with_types_in $crate::bindings::platform
            );
            $crate::__export_config!($ty, $crate::platform::Platform);
        };
        #[cfg(not(target_family = "wasm"))]
        const _: fn() = || {
            fn implements<T: $crate::platform::Platform>() {}
            implements::<$ty>();
        };
    };
}

/// The labels every platform puts on an instance so it can find it again
/// (after a control-plane restart too) and tell revisions apart.
pub mod dependencies;

pub mod labels {
    pub const SERVICE: &str = "hoist.service";
    pub const ENVIRONMENT: &str = "hoist.environment";
    pub const REVISION: &str = "hoist.revision";
    pub const INDEX: &str = "hoist.index";

    /// The selector for a service in an environment, optionally one revision.
    pub fn selector(service: &str, environment: &str, revision: Option<&str>) -> Vec<(String, String)> {
        let mut pairs =
            vec![(SERVICE.to_owned(), service.to_owned()), (ENVIRONMENT.to_owned(), environment.to_owned())];
        if let Some(revision) = revision {
            pairs.push((REVISION.to_owned(), revision.to_owned()));
        }
        pairs
    }

    /// The value of label `key`.
    pub fn get<'a>(labels: &'a [(String, String)], key: &str) -> Option<&'a str> {
        labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The instance index from `hoist.index` (unlabelled instances sort last).
    pub fn index(labels: &[(String, String)]) -> u32 {
        get(labels, INDEX).and_then(|i| i.parse().ok()).unwrap_or(u32::MAX)
    }
}
