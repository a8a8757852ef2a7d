extern crate self as hoist_sdk;
#[doc(hidden)]
pub mod bindings;

pub trait Strategy {
    fn decide(ctx: bindings::strategy::exports::hoist::plugin::strategy::Context) -> Result<bindings::strategy::exports::hoist::plugin::strategy::Decision, bindings::base::hoist::plugin::types::PluginError>;
}

#[macro_export]
macro_rules! export_strategy {
    ($ty:ty) => {
        const _: () = {
            struct __HoistStrategy;
            impl $crate::bindings::strategy::exports::hoist::plugin::strategy::Guest for __HoistStrategy {
                fn decide(ctx: $crate::bindings::strategy::exports::hoist::plugin::strategy::Context) -> ::core::result::Result<$crate::bindings::strategy::exports::hoist::plugin::strategy::Decision, $crate::bindings::base::hoist::plugin::types::PluginError> {
                    <$ty as $crate::Strategy>::decide(ctx)
                }
            }
            $crate::bindings::strategy::__export_strategy_world!(__HoistStrategy with_types_in $crate::bindings::strategy);
        };
    };
}
