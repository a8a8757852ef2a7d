//! A service's own strategy settings (e.g. a stack's `deploy.update_config`
//! as the `rolling` plugin's `max-surge`), carried by its revision's spec
//! and laid over the environment's config of the strategy, key by key.

use serde_json::{Map, Value};

/// `base` (a JSON object, or empty) with the keys of `over` replacing its own.
pub(super) fn merged(base: &str, over: Option<&Value>) -> String {
    let Some(Value::Object(over)) = over else { return base.to_string() };
    let mut out: Map<String, Value> = match serde_json::from_str(base) {
        Ok(Value::Object(m)) => m,
        // An unreadable base is the plugin's to report, as without override.
        _ if !base.trim().is_empty() => return base.to_string(),
        _ => Map::new(),
    };
    out.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    Value::Object(out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_keys_win_and_the_rest_stay() {
        let over = serde_json::json!({ "max-surge": 2, "max-unavailable": 0 });
        let got: Value =
            serde_json::from_str(&merged(r#"{"max-surge":1,"progress-deadline-ms":4000}"#, Some(&over))).unwrap();
        assert_eq!(got, serde_json::json!({ "max-surge": 2, "max-unavailable": 0, "progress-deadline-ms": 4000 }));
        assert_eq!(merged("", Some(&over)), over.to_string());
        assert_eq!(merged(r#"{"a":1}"#, None), r#"{"a":1}"#);
    }
}
