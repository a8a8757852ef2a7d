//! The error `Registry::load` returns.

use std::fmt;
use std::path::PathBuf;

use crate::diagnostic::Diagnostic;

/// A registry that could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The file could not be read.
    #[error("cannot read registry {}: {source}", path.display())]
    Io {
        /// The registry file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid registry. Displays every
    /// diagnostic with its source line, in file order.
    #[error("{}", Rendered(diagnostics, path))]
    Invalid {
        /// The registry file.
        path: PathBuf,
        /// Every problem found, in file order (a TOML syntax error is reported
        /// alone, since nothing after it can be trusted).
        diagnostics: Vec<Diagnostic>,
    },
}

impl RegistryError {
    /// The problems found; empty for [`RegistryError::Io`].
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            RegistryError::Io { .. } => &[],
            RegistryError::Invalid { diagnostics, .. } => diagnostics,
        }
    }
}

struct Rendered<'a>(&'a [Diagnostic], &'a PathBuf);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            f.write_str(&diagnostic.render())?;
        }
        if self.0.len() > 1 {
            write!(f, "\n\n{}: {} errors", self.1.display(), self.0.len())?;
        }
        Ok(())
    }
}
