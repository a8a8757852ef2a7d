//! Generated bindings, one module per world. Shared interfaces (`types`,
//! `log`, `clock`) are generated once in `base` and reused by every world, so
//! a value has the same Rust type whichever world it came from. Linking all
//! worlds is harmless: a world's exports enter a component only through its
//! export macro, and wit-component drops imports the plugin never calls.

pub mod base {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hoist:plugin/base",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        generate_all,
    });
}

pub mod strategy {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hoist:plugin/strategy-plugin",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        with: {
            "hoist:plugin/types@0.1.0": crate::bindings::base::hoist::plugin::types,
            "hoist:plugin/log@0.1.0": crate::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock@0.1.0": crate::bindings::base::hoist::plugin::clock,
        },
        pub_export_macro: true,
        export_macro_name: "__export_strategy_world",
        default_bindings_module: "::hoist_sdk::bindings::strategy",
    });
}

pub mod health {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hoist:plugin/health-policy-plugin",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        with: {
            "hoist:plugin/types@0.1.0": crate::bindings::base::hoist::plugin::types,
            "hoist:plugin/log@0.1.0": crate::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock@0.1.0": crate::bindings::base::hoist::plugin::clock,
        },
        pub_export_macro: true,
        export_macro_name: "__export_health_world",
        default_bindings_module: "::hoist_sdk::bindings::health",
    });
}

pub mod admission {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hoist:plugin/admission-policy-plugin",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        with: {
            "hoist:plugin/types@0.1.0": crate::bindings::base::hoist::plugin::types,
            "hoist:plugin/log@0.1.0": crate::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock@0.1.0": crate::bindings::base::hoist::plugin::clock,
        },
        pub_export_macro: true,
        export_macro_name: "__export_admission_world",
        default_bindings_module: "::hoist_sdk::bindings::admission",
    });
}

pub mod platform {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hoist:plugin/platform-plugin",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        with: {
            "hoist:plugin/types@0.1.0": crate::bindings::base::hoist::plugin::types,
            "hoist:plugin/log@0.1.0": crate::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock@0.1.0": crate::bindings::base::hoist::plugin::clock,
        },
        pub_export_macro: true,
        export_macro_name: "__export_platform_world",
        default_bindings_module: "::hoist_sdk::bindings::platform",
    });
}

pub mod metrics {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hoist:plugin/metrics-provider-plugin",
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        with: {
            "hoist:plugin/types@0.1.0": crate::bindings::base::hoist::plugin::types,
            "hoist:plugin/log@0.1.0": crate::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock@0.1.0": crate::bindings::base::hoist::plugin::clock,
            "hoist:plugin/http@0.1.0": crate::bindings::platform::hoist::plugin::http,
        },
        pub_export_macro: true,
        export_macro_name: "__export_metrics_world",
        default_bindings_module: "::hoist_sdk::bindings::metrics",
    });
}

pub mod configurable {
    wit_bindgen::generate!({
        path: "../wit",
        world: "hoist:plugin/configurable",
        pub_export_macro: true,
        export_macro_name: "__export_configurable_world",
        default_bindings_module: "::hoist_sdk::bindings::configurable",
    });
}
