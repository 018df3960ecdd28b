//! The errors `load_dir` returns: every problem, each with file, position and key path.
//!
//! `llm-bench validate` prints all of them at once, so a user fixes a config in one
//! round instead of one error per run. The `file:line:column:` prefix is the form
//! editors and terminals turn into a clickable link.

use std::fmt;
use std::path::PathBuf;

use super::locate::Position;

/// One problem in one config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as reached from the config folder given, e.g. `configs/workloads.yaml`.
    pub file: PathBuf,
    /// 1-based; `None` when the problem has no single place (a missing file).
    pub line: Option<usize>,
    /// 1-based, in characters.
    pub column: Option<usize>,
    /// The YAML key path, e.g. `scenarios.high-load.rate`; empty for the whole file.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(
        file: impl Into<PathBuf>,
        position: Option<Position>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: file.into(),
            line: position.map(|p| p.line),
            column: position.map(|p| p.column),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a config folder, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_omits_what_is_unknown() {
        let full = ConfigError::new(
            "configs/workloads.yaml",
            Some(Position {
                line: 14,
                column: 5,
            }),
            "scenarios.high-load.rate",
            "must be > 0 (got -3)",
        );
        assert_eq!(
            full.to_string(),
            "configs/workloads.yaml:14:5: scenarios.high-load.rate: must be > 0 (got -3)"
        );
        let bare = ConfigError::new("configs/models.yaml", None, "", "file not found");
        assert_eq!(bare.to_string(), "configs/models.yaml: file not found");
        let both = ConfigErrors(vec![full, bare]);
        assert_eq!(both.to_string().lines().count(), 2);
    }
}
