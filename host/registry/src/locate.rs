//! Where a key path is written in a registry file, for problems found after
//! parsing (a plugin refusing its `config`, say) to point at a line.

use std::path::Path;

use toml::de::{DeArray, DeTable};

use crate::diagnostic::{Diagnostic, SourceMap};

/// A diagnostic at the deepest key of `keys` written in `text` (table keys,
/// and array positions as decimal strings), with how many of the keys were
/// found. `None` when not even the first key is there or the text does not
/// parse.
pub fn locate(text: &str, origin: &Path, keys: &[&str], message: &str) -> Option<(Diagnostic, usize)> {
    let root = DeTable::parse(text).ok()?;
    let map = SourceMap::new(origin, text);
    let mut found = None;
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    let mut array: Option<&DeArray<'_>> = None;
    for (depth, key) in keys.iter().enumerate() {
        let (span, value) = if let Some(t) = table {
            let Some((k, v)) = t.get_key_value(*key) else { break };
            (k.span(), v)
        } else if let Some(items) = array {
            let Some(v) = key.parse::<usize>().ok().and_then(|i| items.get(i)) else { break };
            (v.span(), v)
        } else {
            break;
        };
        found = Some((span, depth + 1));
        table = value.get_ref().as_table();
        array = value.get_ref().as_array();
    }
    let (span, depth) = found?;
    Some((map.diagnostic(span, message), depth))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "version = 1\n\n[plugins.deploy]\nsource = \"builtin:local-process\"\nconfig = { stop-grace-mss = 2000, steps = [{ a = 1 }, { b = 2 }] }\n";

    #[test]
    fn finds_the_deepest_key() {
        let origin = Path::new("registry.toml");
        let (d, depth) = locate(TEXT, origin, &["plugins", "deploy", "config", "stop-grace-mss"], "unknown").unwrap();
        assert_eq!((d.location.line, d.location.column, depth), (5, 12, 4));
        let (d, depth) = locate(TEXT, origin, &["plugins", "deploy", "config", "steps", "1", "b"], "x").unwrap();
        assert_eq!((d.location.line, depth), (5, 6));
        assert_eq!(&d.source_line[d.location.column - 1..][..1], "b");
        let (_, depth) = locate(TEXT, origin, &["plugins", "deploy", "config", "nope"], "x").unwrap();
        assert_eq!(depth, 3);
        assert!(locate(TEXT, origin, &["environments"], "x").is_none());
    }
}
