//! Validated names for plugins and environments.

use std::fmt;
use std::str::FromStr;

/// Longest name accepted, in bytes (a DNS label).
pub const MAX_NAME_LEN: usize = 63;

/// Why a string is not a valid plugin or environment name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid name `{name}`: {reason}")]
pub struct NameError {
    /// The rejected string.
    pub name: String,
    /// What is wrong with it, phrased as the rule it breaks.
    pub reason: &'static str,
}

/// Checks the naming rule shared by plugins and environments: lowercase
/// ASCII letters, digits and `-`, starting with a letter, at most 63 bytes.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    let fail = |reason| Err(NameError { name: name.to_owned(), reason });
    let Some(first) = name.chars().next() else {
        return fail("a name cannot be empty");
    };
    if !first.is_ascii_lowercase() {
        return fail("a name must start with a lowercase letter (a-z)");
    }
    if name.len() > MAX_NAME_LEN {
        return fail("a name is at most 63 characters long");
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return fail("a name may contain only lowercase letters (a-z), digits (0-9) and `-`");
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(String);

        impl $ty {
            /// Validates `name` (see [`validate_name`]).
            pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
                let name = name.into();
                validate_name(&name)?;
                Ok(Self(name))
            }

            /// The name as written in the registry.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::new(s)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// The name of a plugin: the key of a `[plugins.NAME]` table.
    PluginName
);
name_type!(
    /// The name of an environment: the key of an `[environments.NAME]` table.
    EnvName
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for name in ["a", "rolling", "local-process", "canary2", "a-1-b"] {
            assert!(PluginName::new(name).is_ok(), "{name}");
        }
        assert!(EnvName::new("x".repeat(63)).is_ok());
    }

    #[test]
    fn rejects_invalid_names() {
        for name in ["", "Rolling", "1abc", "-a", "a_b", "a.b", "a b", "é"] {
            assert!(PluginName::new(name).is_err(), "{name:?}");
        }
        let err = EnvName::new("x".repeat(64)).unwrap_err();
        assert!(err.reason.contains("63"));
    }

    #[test]
    fn borrow_as_str_for_map_lookups() {
        let mut map = std::collections::BTreeMap::new();
        map.insert(PluginName::new("rolling").unwrap(), 1);
        assert_eq!(map.get("rolling"), Some(&1));
    }
}
