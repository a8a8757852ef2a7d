//! `.env` and `env_file` files as Compose reads them: `KEY=VALUE` lines,
//! `#` comments and blank lines skipped, an optional `export `, values in
//! single quotes taken literally, in double quotes with `\n`, `\"` and `\\`
//! unescaped, unquoted values trimmed and cut at ` #`.

/// The `(key, value)` pairs of `text`, in order; a line without `=` is
/// skipped as Compose does.
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines().filter_map(line).collect()
}

fn line(raw: &str) -> Option<(String, String)> {
    let l = raw.trim();
    if l.is_empty() || l.starts_with('#') {
        return None;
    }
    let l = l.strip_prefix("export ").unwrap_or(l);
    let (key, value) = l.split_once('=')?;
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    Some((key.to_string(), value_of(value.trim_start())))
}

fn value_of(v: &str) -> String {
    if let Some(rest) = v.strip_prefix('\'') {
        return rest.split_once('\'').map_or(rest, |(inside, _)| inside).to_string();
    }
    if let Some(rest) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return out;
    }
    let v = v.split_once(" #").map_or(v, |(value, _)| value);
    v.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_compose_reads() {
        let text = "# comment\n\nA=1\nexport B = two words \nC='lit ${X} \\n'\nD=\"q \\\"x\\\" \\n end\"\nE=v # note\nnot a pair\nF=\n";
        let got = parse(text);
        assert_eq!(
            got,
            [
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "lit ${X} \\n".into()),
                ("D".into(), "q \"x\" \n end".into()),
                ("E".into(), "v".into()),
                ("F".into(), String::new()),
            ]
        );
    }
}
