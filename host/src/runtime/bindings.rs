//! Host-side bindings of the WIT worlds. The shared interfaces (`types`,
//! `log`, `clock`) are generated once in `base` and reused by every world so
//! the host handles one Rust type per WIT type.
//!
//! Strategy and policy worlds are pure and called synchronously: their only
//! imports (log, clock) never block, so epoch interruption alone bounds them
//! and no fiber is needed. Platform plugins call capabilities that wait on
//! the outside world, so their world is async and every call also runs under
//! a tokio timeout.

pub mod base {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "hoist:plugin/base",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
    });
}

pub mod strategy {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "hoist:plugin/strategy-plugin",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        with: {
            "hoist:plugin/types": crate::runtime::bindings::base::hoist::plugin::types,
            "hoist:plugin/log": crate::runtime::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock": crate::runtime::bindings::base::hoist::plugin::clock,
        },
    });
}

pub mod health {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "hoist:plugin/health-policy-plugin",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        with: {
            "hoist:plugin/types": crate::runtime::bindings::base::hoist::plugin::types,
            "hoist:plugin/log": crate::runtime::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock": crate::runtime::bindings::base::hoist::plugin::clock,
        },
    });
}

pub mod admission {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "hoist:plugin/admission-policy-plugin",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        with: {
            "hoist:plugin/types": crate::runtime::bindings::base::hoist::plugin::types,
            "hoist:plugin/log": crate::runtime::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock": crate::runtime::bindings::base::hoist::plugin::clock,
        },
    });
}

pub mod platform {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "hoist:plugin/platform-plugin",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        imports: {
            "hoist:plugin/process": async,
            "hoist:plugin/docker": async,
            "hoist:plugin/http": async,
        },
        exports: { default: async },
        with: {
            "hoist:plugin/types": crate::runtime::bindings::base::hoist::plugin::types,
            "hoist:plugin/log": crate::runtime::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock": crate::runtime::bindings::base::hoist::plugin::clock,
        },
    });
}

/// Metric providers: async like platforms (they wait on `http`); `http`'s
/// types and host functions are the platform world's, so one unit serves both.
pub mod metrics {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "hoist:plugin/metrics-provider-plugin",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        exports: { default: async },
        with: {
            "hoist:plugin/types": crate::runtime::bindings::base::hoist::plugin::types,
            "hoist:plugin/log": crate::runtime::bindings::base::hoist::plugin::log,
            "hoist:plugin/clock": crate::runtime::bindings::base::hoist::plugin::clock,
            "hoist:plugin/http": crate::runtime::bindings::platform::hoist::plugin::http,
        },
    });
}

/// The optional `config` export (`validate-config`), called synchronously
/// for strategy and policy plugins.
pub mod configurable {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "hoist:plugin/configurable",
    });
}

/// The same export on a platform plugin, whose store is async.
pub mod configurable_async {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "hoist:plugin/configurable",
        exports: { default: async },
    });
}
