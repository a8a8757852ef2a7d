//! Positions in the registry file and the diagnostics that point at them.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A position in a file: 1-based line and column (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file, as the registry was opened (e.g. `registry.toml`).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    /// `file:line:column`, the form editors and terminals link.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One problem found in a registry, with where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the offending key or value starts.
    pub location: Location,
    /// A one-line message that says what is wrong and how to fix it.
    pub message: String,
    /// The source line containing the location (without its newline).
    pub source_line: String,
    /// Number of characters to underline, starting at the column (≥ 1).
    pub width: usize,
}

impl Diagnostic {
    /// The diagnostic on one line, then the source line with a caret under the
    /// offending text:
    ///
    /// ```text
    /// registry.toml:12:1: unknown key `max_surge` in [plugins.rolling]; ...
    ///    |
    /// 12 | max_surge = 1
    ///    | ^^^^^^^^^
    /// ```
    pub fn render(&self) -> String {
        let number = self.location.line.to_string();
        let gutter = " ".repeat(number.len());
        format!(
            "{self}\n{gutter} |\n{number} | {}\n{gutter} | {}{}",
            self.source_line,
            " ".repeat(self.location.column.saturating_sub(1)),
            "^".repeat(self.width.max(1)),
        )
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: message` on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Maps byte offsets of one source text to lines and columns.
#[derive(Debug, Clone)]
pub struct SourceMap<'a> {
    file: &'a Path,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceMap<'a> {
    /// Indexes the lines of `text`, which was read from `file`.
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { file, text, line_starts }
    }

    /// The 1-based line and column of byte `offset` (clamped to the text).
    pub fn location(&self, offset: usize) -> Location {
        let offset = self.floor_char_boundary(offset);
        let line_index = self.line_index(offset);
        let start = self.line_starts[line_index];
        let column = self.text[start..offset].chars().count() + 1;
        Location { file: self.file.to_path_buf(), line: line_index + 1, column }
    }

    /// A diagnostic pointing at the bytes `span` of the text.
    pub fn diagnostic(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let location = self.location(span.start);
        let start = self.floor_char_boundary(span.start);
        let line_index = self.line_index(start);
        let line = self.line_text(line_index);
        let line_end = self.line_starts[line_index] + line.len();
        let end = self.floor_char_boundary(span.end.clamp(start, line_end));
        Diagnostic {
            location,
            message: message.into(),
            source_line: line.to_owned(),
            width: self.text[start..end].chars().count().max(1),
        }
    }

    fn line_index(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }

    fn line_text(&self, line_index: usize) -> &'a str {
        let start = self.line_starts[line_index];
        let rest = &self.text[start..];
        let line = rest.split('\n').next().unwrap_or("");
        line.strip_suffix('\r').unwrap_or(line)
    }

    fn floor_char_boundary(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nbé = 2\n";
        let map = SourceMap::new(Path::new("r.toml"), text);
        assert_eq!(map.location(0).to_string(), "r.toml:1:1");
        assert_eq!(map.location(6).to_string(), "r.toml:2:1");
        // `=` after a two-byte character is the 4th character of line 2.
        assert_eq!(map.location(10).to_string(), "r.toml:2:4");
        assert_eq!(map.location(999).line, 3);
    }

    #[test]
    fn render_underlines_the_span() {
        let text = "version = 1\nmax_surge = 1\n";
        let map = SourceMap::new(Path::new("r.toml"), text);
        let d = map.diagnostic(12..21, "unknown key `max_surge`");
        assert_eq!(d.render(), "r.toml:2:1: unknown key `max_surge`\n  |\n2 | max_surge = 1\n  | ^^^^^^^^^");
    }
}
