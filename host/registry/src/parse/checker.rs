//! The checker core: error collection, the top-level walk and the version
//! probe that must pass before anything else is read.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use toml::de::DeTable;

use super::{Checker, Known, VERSION};
use crate::model::Registry;
use crate::schema::TOP_LEVEL_KEYS;

impl Checker<'_> {
    pub(super) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let diagnostic = self.map.diagnostic(span, message);
        self.diagnostics.push(diagnostic);
    }

    pub(super) fn registry(&mut self, text: &str, origin: &Path) -> Option<Registry> {
        let root = match DeTable::parse(text) {
            Ok(root) => root,
            Err(err) => {
                let span = err.span().unwrap_or(0..0);
                let message = format!("TOML syntax error: {}", err.message().trim_end());
                self.error(span, message);
                return None;
            }
        };
        let root_span = root.span();
        let root = root.into_inner();
        self.version(&root, root_span)?;

        for (key, _) in root.iter() {
            self.check_key(key, TOP_LEVEL_KEYS, "at the top level", "");
        }

        let mut known = Known::default();
        if let Some(plugins) = self.table_of(&root, "plugins", "[plugins.NAME] tables") {
            for (key, value) in plugins.iter() {
                self.plugin(key, value, &mut known);
            }
        }
        let mut environments = BTreeMap::new();
        if let Some(envs) = self.table_of(&root, "environments", "[environments.NAME] tables") {
            for (key, value) in envs.iter() {
                if let Some(env) = self.environment(key, value, &known) {
                    environments.insert(env.name.clone(), env);
                }
            }
        }
        Some(Registry { path: origin.to_path_buf(), plugins: known.decls, environments })
    }

    /// The version probe: `version = 1` must be present before anything else
    /// is read, since the schema depends on it.
    fn version(&mut self, root: &DeTable<'_>, root_span: Range<usize>) -> Option<()> {
        let Some(value) = root.get("version") else {
            let start = root_span.start;
            self.error(
                start..start,
                format!("{} has no `version`; add `version = 1` as its first line", self.file_name),
            );
            return None;
        };
        let number = value.get_ref().as_integer().and_then(|n| {
            let digits = n.as_str().replace('_', "");
            i64::from_str_radix(&digits, n.radix()).ok()
        });
        match number {
            Some(VERSION) => Some(()),
            Some(n) => {
                self.error(
                    value.span(),
                    format!("unsupported registry version {n}; this hoist reads version {VERSION}"),
                );
                None
            }
            None => {
                self.error(
                    value.span(),
                    format!(
                        "`version` must be the integer {VERSION}, found a {}; write `version = {VERSION}`",
                        value.get_ref().type_str()
                    ),
                );
                None
            }
        }
    }

    /// `root[key]` as a table of named tables, or an error if it is not one.
    fn table_of<'t, 'i>(&mut self, root: &'t DeTable<'i>, key: &str, what: &str) -> Option<&'t DeTable<'i>> {
        let value = root.get(key)?;
        match value.get_ref().as_table() {
            Some(table) => Some(table),
            None => {
                self.error(
                    value.span(),
                    format!("`{key}` must be a table of {what}, found a {}", value.get_ref().type_str()),
                );
                None
            }
        }
    }
}
