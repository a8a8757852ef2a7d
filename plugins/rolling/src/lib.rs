use hoist_sdk::bindings::strategy::exports::hoist::plugin::strategy::*;
use hoist_sdk::bindings::base::hoist::plugin::types::PluginError;
struct R;
impl hoist_sdk::Strategy for R {
    fn decide(ctx: Context) -> Result<Decision, PluginError> {
        Ok(Decision { state: vec![], actions: vec![Action::Complete], status: ctx.service })
    }
}
hoist_sdk::export_strategy!(R);
