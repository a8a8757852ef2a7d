//! Parse a plugin's JSON configuration document.

use serde::de::DeserializeOwned;

use crate::types::PluginError;

/// Parse `json` (the `config` field the host passes) into `T`.
///
/// An empty or blank string is read as `{}`, so a plugin whose fields all
/// have defaults works unconfigured. Errors are
/// [`PluginError::InvalidConfig`] with serde_json's message, which names the
/// unknown or missing field and the position.
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<T, PluginError> {
    let text = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(text).map_err(|e| PluginError::InvalidConfig(e.to_string()))
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
}
