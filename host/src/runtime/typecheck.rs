//! The full type check of a plugin's exports at load. wasmtime
//! checks a component's imports when it is linked, but an export's types
//! only when it is first called, so a component built against another shape
//! of `hoist:plugin@0.1.0` (a record without a field, say) would load and
//! then fail every call. Here it is instantiated once in a throwaway store
//! and its export is typed against the host's own types, naming the first
//! item that differs.

use wasmtime::component::InstancePre;

use super::bindings::admission::exports::hoist::plugin::admission::{AdmissionVerdict, DeployRequest};
use super::bindings::base::hoist::plugin::types::Instance;
use super::bindings::base::hoist::plugin::types::PluginError;
use super::bindings::health::exports::hoist::plugin::health::{AnalysisInput, Evaluation};
use super::bindings::platform::exports::hoist::plugin::platform::{PlatformError, RevisionSpec};
use super::bindings::strategy::exports::hoist::plugin::strategy::{Context, Decision};
use super::error::LoadError;
use super::host_state::HostState;
use super::kinds::PluginKind;
use super::plugin::Callee;
use super::surface::Surface;

/// Checks the export the plugin's kind calls.
pub(crate) fn check_export(
    callee: &Callee,
    instance_pre: &InstancePre<HostState>,
    surface: &Surface,
) -> Result<(), LoadError> {
    let (interface, func) = match callee.kind {
        PluginKind::Strategy => ("strategy", "decide"),
        PluginKind::HealthPolicy => ("health", "evaluate"),
        PluginKind::AdmissionPolicy => ("admission", "admit"),
        PluginKind::Platform => return check_platform(callee, instance_pre, surface),
        // `MetricsProviderPluginPre::new` typed its one export at load.
        PluginKind::MetricsProvider => return Ok(()),
    };
    let Some(export) = surface.exports.iter().find(|e| e.is_hoist() && e.interface == interface) else {
        return Ok(()); // the world check reports it
    };
    let export = export.to_string();
    let mismatch = |reason: String| LoadError::TypeMismatch {
        plugin: callee.name.to_string(),
        item: format!("`{export}` function `{func}`"),
        reason,
    };
    let component = instance_pre.component();
    let Some(iface) = component.get_export_index(None, &export) else { return Ok(()) };
    let index = component
        .get_export_index(Some(&iface), func)
        .ok_or_else(|| mismatch(format!("it does not export `{func}`")))?;
    let mut store = callee.new_store(0);
    let instance = instance_pre
        .instantiate(&mut store)
        .map_err(|e| LoadError::Link { plugin: callee.name.to_string(), reason: format!("{:#}", e.root_cause()) })?;
    let typed = match callee.kind {
        PluginKind::Strategy => {
            instance.get_typed_func::<(&Context,), (Result<Decision, PluginError>,)>(&mut store, index).map(drop)
        }
        PluginKind::HealthPolicy => instance
            .get_typed_func::<(&AnalysisInput,), (Result<Evaluation, PluginError>,)>(&mut store, index)
            .map(drop),
        _ => instance
            .get_typed_func::<(&DeployRequest,), (Result<AdmissionVerdict, PluginError>,)>(&mut store, index)
            .map(drop),
    };
    typed.map_err(|e| {
        let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        mismatch(chain.join(": "))
    })?;
    Ok(())
}

/// A platform's three functions. Its store is async, so the component is
/// instantiated on a thread of its own with a one-call runtime: this runs
/// wherever a plugin is loaded, a tokio worker included.
fn check_platform(callee: &Callee, instance_pre: &InstancePre<HostState>, surface: &Surface) -> Result<(), LoadError> {
    let Some(export) = surface.exports.iter().find(|e| e.is_hoist() && e.interface == "platform") else {
        return Ok(()); // the world check reports it
    };
    let export = export.to_string();
    let component = instance_pre.component();
    let Some(iface) = component.get_export_index(None, &export) else { return Ok(()) };
    let mismatch = |func: &str, reason: String| LoadError::TypeMismatch {
        plugin: callee.name.to_string(),
        item: format!("`{export}` function `{func}`"),
        reason,
    };
    let mut indices = Vec::new();
    for func in ["ensure", "instances", "remove"] {
        let index = component
            .get_export_index(Some(&iface), func)
            .ok_or_else(|| mismatch(func, format!("it does not export `{func}`")))?;
        indices.push((func, index));
    }
    let checked = std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<Result<(), (String, String)>, String> {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_time().build().map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let mut store = callee.new_store(0);
                    let instance = instance_pre
                        .instantiate_async(&mut store)
                        .await
                        .map_err(|e| format!("{:#}", e.root_cause()))?;
                    let chain = |e: wasmtime::Error| e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ");
                    for (func, index) in &indices {
                        let typed = match *func {
                            "ensure" => instance
                                .get_typed_func::<(&RevisionSpec, u32), (Result<Vec<Instance>, PlatformError>,)>(
                                    &mut store, index,
                                )
                                .map(drop),
                            "instances" => instance
                                .get_typed_func::<(&str, &str, &str), (Result<Vec<Instance>, PlatformError>,)>(
                                    &mut store, index,
                                )
                                .map(drop),
                            _ => instance
                                .get_typed_func::<(&str, &str, &str, &str), (Result<(), PlatformError>,)>(
                                    &mut store, index,
                                )
                                .map(drop),
                        };
                        if let Err(e) = typed {
                            return Ok(Err((func.to_string(), chain(e))));
                        }
                    }
                    Ok(Ok(()))
                })
            })
            .join()
    });
    match checked {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err((func, reason)))) => Err(mismatch(&func, reason)),
        Ok(Err(reason)) => Err(LoadError::Link { plugin: callee.name.to_string(), reason }),
        Err(_) => Err(LoadError::Link { plugin: callee.name.to_string(), reason: "the type check panicked".into() }),
    }
}
