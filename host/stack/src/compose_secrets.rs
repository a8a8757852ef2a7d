//! Compose `secrets`: the top-level declarations (a `file`, relative to
//! the Compose file) and each service's use of them (short syntax `- NAME`,
//! long `- { source, target }`), as the files to mount read-only at
//! `/run/secrets/TARGET`. Only the path travels: the value never enters
//! Hoist's definition, store or output. Environment-sourced and external
//! secrets are refused with their line.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

/// The declared secrets, name → absolute file; an error names the secret.
pub fn declared(doc: &Value, base: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (name, body) in doc.get("secrets").and_then(Value::as_mapping).into_iter().flatten() {
        let name = name.as_str().unwrap_or_default().to_string();
        let field = |k: &str| body.get(k).and_then(Value::as_str);
        let Some(file) = field("file") else {
            let source = if body.get("environment").is_some() {
                "an `environment` source"
            } else if body.get("external").is_some() {
                "`external`"
            } else {
                "no `file`"
            };
            return Err(format!(
                "secret `{name}` has {source}, which Hoist does not mount; write the value to a file and give `file: PATH`"
            ));
        };
        let path = base.join(file);
        if !path.is_file() {
            return Err(format!("secret `{name}`: file `{}` does not exist", path.display()));
        }
        let path = path.canonicalize().map_err(|e| format!("secret `{name}`: {}: {e}", path.display()))?;
        out.insert(name, path.display().to_string());
    }
    Ok(out)
}

/// A service's `secrets:`, target → file.
pub fn service(value: &Value, declared: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for item in value.as_sequence().into_iter().flatten() {
        let (source, target) = match item {
            Value::String(s) => (s.clone(), s.clone()),
            Value::Mapping(_) => {
                let source = item.get("source").and_then(Value::as_str).ok_or("a secret without `source`")?;
                let target = item.get("target").and_then(Value::as_str).unwrap_or(source);
                for key in ["uid", "gid", "mode"] {
                    if item.get(key).is_some() {
                        return Err(format!("secret `{source}`: `{key}` is not supported (the file's own applies)"));
                    }
                }
                (source.to_string(), target.to_string())
            }
            other => return Err(format!("{other:?} is not a secret name")),
        };
        let file = declared
            .get(&source)
            .ok_or_else(|| format!("secret `{source}` is not declared under the top-level `secrets:`"))?;
        out.insert(target, file.clone());
    }
    Ok(out)
}
