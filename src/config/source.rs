//! One config file's text, and the errors that point into it.
//!
//! Every check that finds a problem goes through [`Source::at_key`] or
//! [`Source::at_value`], so each error gets the same `file:line:column: path:` form
//! whether serde_yaml or a semantic check found it.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::error::ConfigError;
use super::locate::{lookup, Position};
use super::yaml_error::from_yaml_error;

/// The text of a config file and the name it is reported under.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub file: PathBuf,
    pub text: String,
}

impl Source {
    /// Reads `dir/name`; a missing file gets an error that says how to point elsewhere.
    pub fn read(dir: &Path, name: &str) -> Result<Source, ConfigError> {
        let file = dir.join(name);
        let fail = |message: String| Err(ConfigError::new(&file, None, "", message));
        match std::fs::read(&file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(Source::new(file.clone(), text)),
                Err(e) => fail(format!(
                    "not UTF-8 text (invalid byte at offset {}); save the file as UTF-8",
                    e.utf8_error().valid_up_to()
                )),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => fail(format!(
                "file not found; every config folder needs targets.yaml, models.yaml and \
                 workloads.yaml (copy them from the repository's `configs/`), or point at \
                 another folder with `--config-dir DIR` and check it with \
                 `llm-bench validate --config-dir DIR`"
            )),
            Err(e) => fail(format!("cannot read the file: {e}")),
        }
    }

    pub fn new(file: PathBuf, text: String) -> Source {
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        Source { file, text }
    }

    /// Parses the whole file into a raw (unvalidated) type. `expected` describes what
    /// the file should hold, for the empty-file message.
    pub fn parse<T: DeserializeOwned>(&self, expected: &str) -> Result<T, ConfigError> {
        let has_content = self.text.lines().any(|l| {
            let l = l.trim();
            !(l.is_empty() || l.starts_with('#') || l == "---" || l == "...")
        });
        if !has_content {
            return Err(self.whole_file(format!("the file is empty; it should hold {expected}")));
        }
        serde_yaml::from_str(&self.text).map_err(|e| from_yaml_error(self, &e, expected))
    }

    /// An error about the whole file.
    pub fn whole_file(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.file, None, "", message)
    }

    /// An error pointing at a key (or its nearest ancestor that exists in the text).
    pub fn at_key(&self, path: &[&str], message: impl Into<String>) -> ConfigError {
        let position = lookup(&self.text, path).key_or_ancestor();
        self.at(position, path, message)
    }

    /// An error about a key's value: points at the value when it shares the key's line.
    pub fn at_value(&self, path: &[&str], message: impl Into<String>) -> ConfigError {
        let position = lookup(&self.text, path).value_or_key(path.len());
        self.at(position, path, message)
    }

    pub fn at(
        &self,
        position: Option<Position>,
        path: &[&str],
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::new(&self.file, position, path.join("."), message)
    }
}
