//! The metrics-provider world: answers one analysis query with typed
//! samples, reaching its metrics system through [`http`](crate::http).

pub use crate::bindings::metrics::exports::hoist::plugin::metrics::{
    MetricError, MetricQuery, Sample, SampleValue, Series,
};

/// A metric provider. Export it with
/// [`export_metrics_provider!`](crate::export_metrics_provider).
///
/// Return every series the query matched; no match is
/// [`MetricError::NoData`], never an empty list to index into. NaN and
/// infinities are their own [`SampleValue`] cases.
pub trait MetricsProvider {
    fn query(query: MetricQuery) -> Result<Vec<Series>, MetricError>;

    /// Checks the provider's config before any analysis uses it. The
    /// default accepts anything; see [`crate::config::problems`].
    fn validate_config(config: &str) -> Vec<crate::config::ConfigProblem> {
        let _ = config;
        Vec::new()
    }
}

/// Exports a [`MetricsProvider`] as the component's `hoist:plugin/metrics`
/// interface (a type check only on native targets).
#[macro_export]
macro_rules! export_metrics_provider {
    ($ty:ty) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            struct __HoistMetrics;
            impl $crate::bindings::metrics::exports::hoist::plugin::metrics::Guest for __HoistMetrics {
                fn query(
                    query: $crate::metrics::MetricQuery,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::metrics::Series>, $crate::metrics::MetricError>
                {
                    <$ty as $crate::metrics::MetricsProvider>::query(query)
                }
            }
    $crate::bindings::metrics::__export_metrics_world!(__HoistMetrics with_types_in $crate::bindings::metrics);
            $crate::__export_config!($ty, $crate::metrics::MetricsProvider);
        };
        #[cfg(not(target_family = "wasm"))]
        const _: fn() = || {
            fn implements<T: $crate::metrics::MetricsProvider>() {}
            implements::<$ty>();
        };
    };
}
