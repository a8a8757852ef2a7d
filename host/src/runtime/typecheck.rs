//! The full type check of a strategy's or policy's export at load. wasmtime
//! checks a component's imports when it is linked, but an export's types
//! only when it is first called, so a component built against another shape
//! of `hoist:plugin@0.1.0` (a record without a field, say) would load and
//! then fail every call. Here it is instantiated once in a throwaway store
//! and its export is typed against the host's own types, naming the first
//! item that differs.

use wasmtime::component::InstancePre;

use super::bindings::admission::exports::hoist::plugin::admission::{AdmissionVerdict, DeployRequest};
use super::bindings::base::hoist::plugin::types::PluginError;
use super::bindings::health::exports::hoist::plugin::health::{AnalysisInput, Evaluation};
use super::bindings::strategy::exports::hoist::plugin::strategy::{Context, Decision};
use super::error::LoadError;
use super::host_state::HostState;
use super::kinds::PluginKind;
use super::plugin::Callee;
use super::surface::Surface;

/// Checks the export the plugin's kind calls; platform exports are async
/// and checked by their first call.
pub(crate) fn check_export(
    callee: &Callee,
    instance_pre: &InstancePre<HostState>,
    surface: &Surface,
) -> Result<(), LoadError> {
    let (interface, func) = match callee.kind {
        PluginKind::Strategy => ("strategy", "decide"),
        PluginKind::HealthPolicy => ("health", "evaluate"),
        PluginKind::AdmissionPolicy => ("admission", "admit"),
        PluginKind::Platform => return Ok(()),
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
    let instance = instance_pre.instantiate(&mut store).map_err(|e| LoadError::Link {
        plugin: callee.name.to_string(),
        reason: format!("{:#}", e.root_cause()),
    })?;
    let typed = match callee.kind {
        PluginKind::Strategy => {
            instance.get_typed_func::<(&Context,), (Result<Decision, PluginError>,)>(&mut store, index).map(drop)
        }
        PluginKind::HealthPolicy => {
            instance.get_typed_func::<(&AnalysisInput,), (Result<Evaluation, PluginError>,)>(&mut store, index).map(drop)
        }
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
