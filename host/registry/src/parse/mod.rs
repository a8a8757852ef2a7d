//! Text → [`Registry`]: syntax, version probe, keys, types, then meaning.
//!
//! Every check that can run independently does, so a user sees all problems
//! at once; only a TOML syntax error or a bad `version` stops early.

mod analysis;
mod checker;
mod credentials;
mod environment;
mod hosts;
mod json;
mod keys;
mod notify;
mod plugin;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_spanned::Spanned;
use toml::de::{DeString, DeValue};

use crate::capability::PluginKind;
use crate::diagnostic::{Diagnostic, SourceMap};
use crate::error::RegistryError;
use crate::model::{PluginDecl, Registry};
use crate::names::PluginName;

/// The only registry version this crate reads.
pub const VERSION: i64 = 1;

type Key<'i> = Spanned<DeString<'i>>;
type Value<'i> = Spanned<DeValue<'i>>;

pub(crate) fn parse(text: &str, origin: &Path) -> Result<Registry, RegistryError> {
    let mut cx = Checker {
        map: SourceMap::new(origin, text),
        diagnostics: Vec::new(),
        dir: origin.parent().map(Path::to_path_buf).unwrap_or_default(),
        file_name: origin
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| origin.display().to_string()),
    };
    let registry = cx.registry(text, origin);
    let mut diagnostics = cx.diagnostics;
    match registry {
        Some(registry) if diagnostics.is_empty() => Ok(registry),
        _ => {
            diagnostics.sort_by_key(|d| (d.location.line, d.location.column));
            Err(RegistryError::Invalid { path: origin.to_path_buf(), diagnostics })
        }
    }
}

struct Checker<'a> {
    map: SourceMap<'a>,
    diagnostics: Vec<Diagnostic>,
    /// Directory relative plugin paths are resolved against.
    dir: PathBuf,
    file_name: String,
}

/// What is known about every `[plugins.NAME]` key, even invalid ones, so a
/// broken plugin does not also cause "unknown plugin" errors elsewhere.
#[derive(Default)]
struct Known {
    /// Every declared plugin name → its kind, if the kind is valid.
    kinds: BTreeMap<String, Option<PluginKind>>,
    /// Fully valid declarations.
    decls: BTreeMap<PluginName, PluginDecl>,
}
