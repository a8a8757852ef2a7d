//! Parse a plugin's JSON configuration document, and check it for
//! `hoist registry check`.

use serde::de::DeserializeOwned;

use crate::types::PluginError;

/// One problem in a config document: where (keys from the top) and what.
pub use crate::bindings::configurable::exports::hoist::plugin::config::ConfigProblem;

/// The problems `json` has as a `T`: what [`parse`] would refuse, with the
/// path of the key at fault so the host can point at its line in the
/// registry. Every plugin's `validate_config` can be this one call.
pub fn problems<T: DeserializeOwned>(json: &str) -> Vec<ConfigProblem> {
    let text = if json.trim().is_empty() { "{}" } else { json };
    match serde_json::from_str::<T>(text) {
        Ok(_) => Vec::new(),
        Err(e) => vec![ConfigProblem {
            path: path_at(text, e.line(), e.column()),
            message: without_position(&e.to_string()),
            extensions: Vec::new(),
        }],
    }
}

/// Exports `hoist:plugin/config` for `$ty` through `$trait`'s
/// `validate_config`; every `export_*!` macro calls it.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_config {
    ($ty:ty, $trait:path) => {
        struct __HoistConfig;
        impl $crate::bindings::configurable::exports::hoist::plugin::config::Guest for __HoistConfig {
            fn validate_config(
                config: ::std::string::String,
            ) -> ::std::vec::Vec<$crate::config::ConfigProblem> {
                <$ty as $trait>::validate_config(&config)
            }
        }
        $crate::bindings::configurable::__export_configurable_world!(
            __HoistConfig with_types_in $crate::bindings::configurable
        );
    };
}

/// serde_json's message without its " at line L column C" tail: the host
/// gives the position in the registry instead.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// Parse `json` (the `config` field the host passes) into `T`.
///
/// An empty or blank string is read as `{}`, so a plugin whose fields all
/// have defaults works unconfigured. Errors are
/// [`PluginError::InvalidConfig`] with serde_json's message, which names the
/// unknown or missing field and the position; a value of the wrong type or
/// range is prefixed with the key it belongs to (`` `max-surge`: invalid
/// type: ... ``).
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<T, PluginError> {
    let text = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let key =
            if e.is_data() && !message.contains("field `") { path_at(text, e.line(), e.column()).pop() } else { None };
        PluginError::InvalidConfig(match key {
            Some(key) => format!("`{key}`: {message}"),
            None => message,
        })
    })
}

/// The keys (and array positions) leading to `line`:`column` (1-based, as
/// serde_json reports them): where the refused key or value is. A key
/// written but not yet followed by `:` counts, so an unknown field's path
/// ends with that field.
fn path_at(text: &str, line: usize, column: usize) -> Vec<String> {
    enum Frame {
        Object { key: Option<String>, pending: Option<String> },
        Array { index: usize },
    }
    let mut offset = 0;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        if n + 1 == line {
            offset += column.min(l.len());
            break;
        }
        offset += l.len();
    }
    let prefix = text.get(..offset.min(text.len())).unwrap_or(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut chars = prefix.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        c => s.push(c),
                    }
                }
                if let Some(Frame::Object { key: None, pending }) = stack.last_mut() {
                    *pending = Some(s);
                }
            }
            ':' => {
                if let Some(Frame::Object { key, pending }) = stack.last_mut() {
                    *key = pending.take();
                }
            }
            ',' => match stack.last_mut() {
                Some(Frame::Object { key, pending }) => (*key, *pending) = (None, None),
                Some(Frame::Array { index }) => *index += 1,
                None => {}
            },
            '{' => stack.push(Frame::Object { key: None, pending: None }),
            '[' => stack.push(Frame::Array { index: 0 }),
            '}' | ']' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack
        .into_iter()
        .filter_map(|frame| match frame {
            Frame::Object { key, pending } => key.or(pending),
            Frame::Array { index } => Some(index.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    struct Conf {
        #[serde(default)]
        max_surge: u32,
    }

    #[test]
    fn empty_is_an_empty_object() {
        assert_eq!(parse::<Conf>("").unwrap(), Conf { max_surge: 0 });
        assert_eq!(parse::<Conf>("  ").unwrap(), Conf { max_surge: 0 });
    }

    #[test]
    fn reads_fields() {
        assert_eq!(parse::<Conf>(r#"{"max-surge": 3}"#).unwrap(), Conf { max_surge: 3 });
    }

    #[test]
    fn errors_name_the_field() {
        let Err(PluginError::InvalidConfig(msg)) = parse::<Conf>(r#"{"max-surg": 3}"#) else {
            panic!("expected invalid-config");
        };
        assert!(msg.contains("max-surg"), "{msg}");
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        #[serde(default)]
        steps: Vec<Conf>,
        #[serde(default)]
        max_surge: u32,
    }

    #[test]
    fn problems_carry_the_path_of_the_key_at_fault() {
        let found = problems::<Nested>(r#"{"max-surge": 1, "stepz": []}"#);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, ["stepz"]);
        assert!(found[0].message.starts_with("unknown field `stepz`"), "{}", found[0].message);
        assert!(!found[0].message.contains(" at line "), "{}", found[0].message);
        let found = problems::<Nested>("{\n  \"steps\": [{\"max-surge\": 1}, {\"max-surg\": 3}]\n}");
        assert_eq!(found[0].path, ["steps", "1", "max-surg"]);
        let found = problems::<Nested>(r#"{"steps": [{"max-surge": -1}]}"#);
        assert_eq!(found[0].path, ["steps", "0", "max-surge"]);
        assert!(problems::<Nested>("").is_empty());
        assert!(problems::<Nested>(r#"{"max-surge": 2}"#).is_empty());
    }

    #[test]
    fn type_errors_name_the_key() {
        let Err(PluginError::InvalidConfig(msg)) = parse::<Conf>(r#"{"max-surge": "lots"}"#) else {
            panic!("expected invalid-config");
        };
        assert!(msg.starts_with("`max-surge`: invalid type"), "{msg}");
        let Err(PluginError::InvalidConfig(msg)) =
            parse::<Nested>("{\n  \"steps\": [{\"max-surge\": 1}, {\"max-surge\": -3}]\n}")
        else {
            panic!("expected invalid-config");
        };
        assert!(msg.starts_with("`max-surge`: invalid value"), "{msg}");
    }
}
