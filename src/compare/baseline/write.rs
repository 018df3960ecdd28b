//! Putting a baseline on disk: through a temporary file and a rename.

use std::fmt;
use std::path::Path;

use super::{write_text, Baseline};

/// Writes a baseline through a temporary file and a rename, streaming the text.
pub fn write(path: &Path, baseline: &Baseline) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    crate::results::write_atomic_with(path, |file| {
        let mut out = IoText { file, error: None };
        match write_text(&mut out, baseline) {
            Ok(()) => Ok(()),
            Err(fmt::Error) => Err(out
                .error
                .unwrap_or_else(|| std::io::Error::other("formatting failed"))),
        }
    })
}

/// [`fmt::Write`] onto an [`std::io::Write`], keeping the I/O error a formatter
/// cannot carry.
struct IoText<'a> {
    file: &'a mut dyn std::io::Write,
    error: Option<std::io::Error>,
}

impl fmt::Write for IoText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.file.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}
