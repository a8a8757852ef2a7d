//! Compose `configs`: the top-level declarations — a `file` (relative to
//! the Compose file, mounted read-only), `content`, or an `environment`
//! variable's value (both written into the instance before it starts) —
//! and each service's use of them (short `- NAME`, mounted at `/NAME`;
//! long `- { source, target }`). `external` configs and `uid`/`gid`/`mode`
//! are refused with their line.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

use crate::definition::ConfigFile;
use crate::interpolate::Vars;

/// The declared configs by name; an error names the config.
pub fn declared(doc: &Value, base: &Path, vars: &Vars) -> Result<BTreeMap<String, ConfigFile>, String> {
    let mut out = BTreeMap::new();
    for (name, body) in doc.get("configs").and_then(Value::as_mapping).into_iter().flatten() {
        let name = name.as_str().unwrap_or_default().to_string();
        let field = |k: &str| body.get(k).and_then(Value::as_str);
        let config = if let Some(file) = field("file") {
            let path = base.join(file);
            let path = path.canonicalize().map_err(|e| format!("config `{name}`: file `{}`: {e}", path.display()))?;
            ConfigFile { file: Some(path.display().to_string()), content: None }
        } else if let Some(content) = field("content") {
            ConfigFile { file: None, content: Some(content.to_string()) }
        } else if let Some(var) = field("environment") {
            let value = vars.get(var).ok_or_else(|| {
                format!("config `{name}`: variable `{var}` is not set (neither in the environment nor in .env)")
            })?;
            ConfigFile { file: None, content: Some(value.to_string()) }
        } else {
            return Err(format!(
                "config `{name}` has no `file`, `content` or `environment` source (`external` configs are not supported)"
            ));
        };
        out.insert(name, config);
    }
    Ok(out)
}

/// A service's `configs:`, target → config.
pub fn service(value: &Value, declared: &BTreeMap<String, ConfigFile>) -> Result<BTreeMap<String, ConfigFile>, String> {
    let mut out = BTreeMap::new();
    for item in value.as_sequence().into_iter().flatten() {
        let (source, target) = match item {
            Value::String(s) => (s.clone(), format!("/{s}")),
            Value::Mapping(_) => {
                let source = item.get("source").and_then(Value::as_str).ok_or("a config without `source`")?;
                let target = item.get("target").and_then(Value::as_str).map_or(format!("/{source}"), str::to_string);
                for key in ["uid", "gid", "mode"] {
                    if item.get(key).is_some() {
                        return Err(format!("config `{source}`: `{key}` is not supported (mounted read-only, 0444)"));
                    }
                }
                (source.to_string(), target)
            }
            other => return Err(format!("{other:?} is not a config name")),
        };
        let config = declared
            .get(&source)
            .ok_or_else(|| format!("config `{source}` is not declared under the top-level `configs:`"))?;
        out.insert(target, config.clone());
    }
    Ok(out)
}
