//! Compose's variable interpolation in string values: `$VAR`, `${VAR}`,
//! `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
//! `${VAR:?message}` / `${VAR?message}` (an error), `${VAR:+alt}` /
//! `${VAR+alt}` (alt when set), and `$$` for a literal `$`. Defaults may
//! themselves hold variables. A variable used without a default and not
//! set becomes empty, with a warning, as Compose does.

use std::collections::BTreeMap;

/// Where variables come from: the shell's environment over the `.env`
/// beside the Compose file.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl Vars {
    /// `dotenv` (the `.env` file's pairs) under `shell` (the process's
    /// environment, which wins).
    pub fn new(dotenv: Vec<(String, String)>, shell: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut values: BTreeMap<String, String> = dotenv.into_iter().collect();
        values.extend(shell);
        Self { values }
    }

    /// The shell's environment over the `.env` in `dir` (none is fine).
    pub fn beside(dir: &std::path::Path) -> Result<Self, hoist_files::FileError> {
        Self::from_files(dir, &[])
    }

    /// The shell's environment over `env_files` (`--env-file`, in order,
    /// a later one winning; each must exist), or, when none is given, over
    /// the `.env` in `dir` (none is fine) — as Compose reads them.
    pub fn from_files(dir: &std::path::Path, env_files: &[std::path::PathBuf]) -> Result<Self, hoist_files::FileError> {
        let mut dotenv = Vec::new();
        if env_files.is_empty() {
            match hoist_files::read_text(&dir.join(".env"), hoist_files::TEXT_CAP) {
                Ok(text) => dotenv = crate::dotenv::parse(&text),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        for file in env_files {
            dotenv.extend(crate::dotenv::parse(&hoist_files::read_text(file, hoist_files::TEXT_CAP)?));
        }
        Ok(Self::new(dotenv, std::env::vars()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// `text` with its variables substituted; unset variables without a
/// default are pushed to `unset`. An error is the `:?` message or a
/// malformed expression.
pub fn interpolate(text: &str, vars: &Vars, unset: &mut Vec<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = closing(tail).ok_or_else(|| format!("`${{{tail}`: no closing `}}`"))?;
            out.push_str(&braced(&tail[..end], vars, unset)?);
            rest = &tail[end + 1..];
        } else {
            let len = name_len(after);
            if len == 0 {
                out.push('$');
                rest = after;
            } else {
                let name = &after[..len];
                out.push_str(&lookup(name, vars, unset));
                rest = &after[len..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing a `${`, counting nested `${…}`.
fn closing(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn name_len(s: &str) -> usize {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        len = i + c.len_utf8();
    }
    len
}

fn lookup(name: &str, vars: &Vars, unset: &mut Vec<String>) -> String {
    match vars.get(name) {
        Some(v) => v.to_string(),
        None => {
            if !unset.iter().any(|u| u == name) {
                unset.push(name.to_string());
            }
            String::new()
        }
    }
}

fn braced(expr: &str, vars: &Vars, unset: &mut Vec<String>) -> Result<String, String> {
    let len = name_len(expr);
    if len == 0 {
        return Err(format!("`${{{expr}}}`: not a variable name"));
    }
    let (name, op) = expr.split_at(len);
    let value = vars.get(name);
    let set_nonempty = value.is_some_and(|v| !v.is_empty());
    let operand = |skip: usize, unset: &mut Vec<String>| interpolate(&op[skip..], vars, unset);
    match op {
        "" => Ok(lookup(name, vars, unset)),
        _ if op.starts_with(":-") => {
            if set_nonempty {
                Ok(value.unwrap_or_default().to_string())
            } else {
                operand(2, unset)
            }
        }
        _ if op.starts_with('-') => match value {
            Some(v) => Ok(v.to_string()),
            None => operand(1, unset),
        },
        _ if op.starts_with(":?") || op.starts_with('?') => {
            let strict = op.starts_with(':');
            match value {
                Some(v) if !strict || !v.is_empty() => Ok(v.to_string()),
                _ => {
                    let message = operand(if strict { 2 } else { 1 }, unset)?;
                    let why = if message.is_empty() { "is required".to_string() } else { message };
                    Err(format!("variable `{name}` {}: {why}", if value.is_some() { "is empty" } else { "is not set" }))
                }
            }
        }
        _ if op.starts_with(":+") => {
            if set_nonempty {
                operand(2, unset)
            } else {
                Ok(String::new())
            }
        }
        _ if op.starts_with('+') => {
            if value.is_some() {
                operand(1, unset)
            } else {
                Ok(String::new())
            }
        }
        _ => Err(format!("`${{{expr}}}`: unknown operator after `{name}`; use :-, -, :?, ?, :+ or +")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars::new(
            vec![("USER".into(), "neo".into()), ("EMPTY".into(), String::new()), ("PORT".into(), "from-dotenv".into())],
            [("PORT".to_string(), "8090".to_string())],
        )
    }

    fn run(s: &str) -> (Result<String, String>, Vec<String>) {
        let mut unset = Vec::new();
        (interpolate(s, &vars(), &mut unset), unset)
    }

    #[test]
    fn every_form_compose_knows() {
        assert_eq!(run("${USER}/$USER").0.unwrap(), "neo/neo");
        assert_eq!(run("${PORT}").0.unwrap(), "8090", "the shell wins over .env");
        assert_eq!(run("${HOSTPORT:-8090}:8080").0.unwrap(), "8090:8080");
        assert_eq!(run("${EMPTY:-d}|${EMPTY-d}|${NONE-d}").0.unwrap(), "d||d");
        assert_eq!(run("${USER:+set}|${EMPTY:+set}|${EMPTY+set}|${NONE+set}").0.unwrap(), "set||set|");
        assert_eq!(run("$$USER costs $$5 and $").0.unwrap(), "$USER costs $5 and $");
        assert_eq!(run("${NONE:-${USER}-x}").0.unwrap(), "neo-x", "nested defaults");
        let (out, unset) = run("key=${OPENAI_API_KEY}");
        assert_eq!((out.unwrap(), unset), ("key=".to_string(), vec!["OPENAI_API_KEY".to_string()]));
        assert_eq!(
            run("${NEO4J_PASSWORD:?set it in .env}").0.unwrap_err(),
            "variable `NEO4J_PASSWORD` is not set: set it in .env"
        );
        assert!(run("${EMPTY:?}").0.unwrap_err().contains("is empty"));
        assert_eq!(run("${EMPTY?}").0.unwrap(), "");
        assert!(run("${USER").0.is_err());
        assert!(run("${1x}").0.is_err());
        assert!(run("${USER/x}").0.is_err());
    }
}
