//! Parse a plugin's JSON configuration document.

use serde::de::DeserializeOwned;

use crate::types::PluginError;

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
        let key = if e.is_data() && !message.contains("field `") {
            key_before(text, e.line(), e.column())
        } else {
            None
        };
        PluginError::InvalidConfig(match key {
            Some(key) => format!("`{key}`: {message}"),
            None => message,
        })
    })
}

/// The last object key that starts before `line`:`column` (1-based, as
/// serde_json reports them): the key whose value was refused.
fn key_before(text: &str, line: usize, column: usize) -> Option<String> {
    let mut offset = 0;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        if n + 1 == line {
            offset += column.min(l.len());
            break;
        }
        offset += l.len();
    }
    let prefix = text.get(..offset.min(text.len()))?;
    let mut key = None;
    let mut last_string: Option<String> = None;
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
                last_string = Some(s);
            }
            ':' => key = last_string.take().or(key),
            c if c.is_whitespace() => {}
            _ => last_string = None,
        }
    }
    key
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
        assert_eq!(
            parse::<Conf>(r#"{"max-surge": 3}"#).unwrap(),
            Conf { max_surge: 3 }
        );
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
