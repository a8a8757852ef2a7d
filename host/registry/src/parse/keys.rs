//! Keys and types of one table: unknown keys reported (with a close match)
//! and removed, the rest deserialized with a located error.

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::{Checker, Key, Value};
use crate::capability::join;
use crate::schema::{LimitsToml, fields_of};

impl Checker<'_> {
    /// Reports `key` if it is not one of `allowed`; returns whether it is.
    /// `note` is appended to the message when non-empty.
    pub(super) fn check_key(&mut self, key: &Key<'_>, allowed: &[&str], place: &str, note: &str) -> bool {
        let name: &str = key.get_ref();
        if allowed.contains(&name) {
            return true;
        }
        let (hint, note) = match suggest(name, allowed) {
            Some(s) => (format!("; did you mean `{s}`?"), ""),
            None => (String::new(), note),
        };
        self.error(key.span(), format!("unknown key `{name}` {place}; expected one of: {}{hint}{note}", join(allowed)));
        false
    }

    /// Reports and removes the unknown keys of `table` (and of its `limits`
    /// subtable), so serde can still check the types of the rest.
    pub(super) fn strip_unknown_keys(&mut self, table: &mut DeTable<'_>, allowed: &[&str], path: &[&str]) {
        let place = format!("in {}", table_path(path));
        let mut note = String::new();
        if allowed.contains(&"config") {
            let mut config = path.to_vec();
            config.push("config");
            note = format!("; settings for the plugin itself go under {}", table_path(&config));
        }
        let unknown: Vec<String> = table
            .iter()
            .filter(|(key, _)| !self.check_key(key, allowed, &place, &note))
            .map(|(key, _)| key.get_ref().to_string())
            .collect();
        for key in unknown {
            table.remove(key.as_str());
        }
        if let Some(DeValue::Table(limits)) = table.get_mut("limits").map(|v| v.get_mut()) {
            let mut path = path.to_vec();
            path.push("limits");
            self.strip_unknown_keys(limits, fields_of::<LimitsToml>(), &path);
        }
    }

    /// Deserializes one named table (a plugin, an environment, an override)
    /// after checking its keys; a type error becomes one diagnostic.
    pub(super) fn typed<'de, T: Deserialize<'de>>(&mut self, value: &Value<'de>, path: &[&str]) -> Option<T> {
        let mut value = value.clone();
        let DeValue::Table(table) = value.get_mut() else {
            self.error(
                value.span(),
                format!("{} must be a table, found a {}", table_path(path), value.get_ref().type_str()),
            );
            return None;
        };
        self.strip_unknown_keys(table, fields_of::<T>(), path);
        let whole = value.span();
        let located = value.clone();
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(typed) => Some(typed),
            Err(err) => {
                let span = err.span().unwrap_or(whole);
                let mut keys = path.iter().map(|s| s.to_string()).collect::<Vec<_>>();
                let mut inner = key_path_at(&located, span.start);
                let field = inner.pop();
                keys.extend(inner);
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                let message = match field {
                    Some(field) => {
                        format!("`{field}` in {}: {}", table_path(&keys), err.message().trim_end())
                    }
                    None => format!("{}: {}", table_path(&keys), err.message().trim_end()),
                };
                self.error(span, message);
                None
            }
        }
    }
}

pub(super) fn retain_keys(table: &mut DeTable<'_>, allowed: &[&str]) {
    let unknown: Vec<String> =
        table.iter().map(|(k, _)| k.get_ref().to_string()).filter(|k| !allowed.contains(&k.as_str())).collect();
    for key in unknown {
        table.remove(key.as_str());
    }
}

/// The chain of keys whose value contains byte `offset`, innermost last.
fn key_path_at(value: &Value<'_>, offset: usize) -> Vec<String> {
    let mut path = Vec::new();
    let mut current = value;
    'descend: while let DeValue::Table(table) = current.get_ref() {
        for (key, child) in table.iter() {
            if key.span().contains(&offset) || child.span().contains(&offset) {
                path.push(key.get_ref().to_string());
                current = child;
                continue 'descend;
            }
        }
        break;
    }
    path
}

/// `[plugins.rolling]`, quoting keys that are not bare TOML keys.
pub(super) fn table_path(parts: &[&str]) -> String {
    let parts: Vec<String> = parts
        .iter()
        .map(|p| {
            let bare = !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if bare { (*p).to_owned() } else { format!("{p:?}") }
        })
        .collect();
    format!("[{}]", parts.join("."))
}

/// A close match for an unknown key: `max_surge` → `max-surge`, `plugin` →
/// `plugins`, or any allowed key within two edits.
fn suggest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let normal = key.to_ascii_lowercase().replace('_', "-");
    allowed.iter().map(|a| (edit_distance(&normal, a), *a)).filter(|(d, _)| *d <= 2).min().map(|(_, a)| a)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_paths_quote_odd_keys() {
        assert_eq!(table_path(&["plugins", "rolling"]), "[plugins.rolling]");
        assert_eq!(table_path(&["plugins", "a.b"]), "[plugins.\"a.b\"]");
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("max_surge", &["max-surge"]), Some("max-surge"));
        assert_eq!(suggest("plugin", &["plugins"]), Some("plugins"));
        assert_eq!(suggest("Kind", &["kind"]), Some("kind"));
        assert_eq!(suggest("capabilites", &["kind", "capabilities"]), Some("capabilities"));
        assert_eq!(suggest("zzz", &["kind"]), None);
    }
}
