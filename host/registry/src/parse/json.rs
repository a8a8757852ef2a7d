//! A plugin's `config` table as the JSON object it is passed.

use serde_spanned::Spanned;

use super::Checker;
use crate::model::JsonObject;

impl Checker<'_> {
    pub(super) fn config(&mut self, raw: Option<&Spanned<toml::Table>>) -> Option<JsonObject> {
        let Some(table) = raw else {
            return Some(JsonObject::new());
        };
        match table_to_json(table.get_ref()) {
            Ok(object) => Some(object),
            Err(message) => {
                self.error(table.span(), message);
                None
            }
        }
    }
}

/// A TOML table as a JSON object; fails on NaN and infinite floats, which
/// JSON cannot represent.
fn table_to_json(table: &toml::Table) -> Result<JsonObject, String> {
    table.iter().map(|(k, v)| Ok((k.clone(), value_to_json(k, v)?))).collect()
}

fn value_to_json(key: &str, value: &toml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).ok_or_else(|| {
            format!("config value `{key}` = {f} cannot be passed to a plugin as JSON; use a finite number or a string")
        })?,
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.iter().map(|v| value_to_json(key, v)).collect::<Result<_, _>>()?),
        toml::Value::Table(t) => J::Object(table_to_json(t)?),
    })
}
