//! A result file that could not be written: its own error type and exit code (5),
//! so a full disk or a read-only folder is not reported as a failed run (exit 4)
//! and the message says what to do.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Writing `path` failed. The I/O error is part of the message rather than its
/// source, so `{:#}` does not print it twice.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {io}{}", path.display(), hint(io.kind()))]
pub struct WriteError {
    pub path: PathBuf,
    pub io: std::io::Error,
}

impl WriteError {
    pub fn new(path: &Path, io: std::io::Error) -> WriteError {
        WriteError {
            path: path.to_path_buf(),
            io,
        }
    }
}

/// What to do about the usual causes.
fn hint(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::StorageFull => {
            " (the disk is full: free some space, or pass --out DIR on another disk)"
        }
        ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied => {
            " (the folder is not writable: pass --out DIR, or --results-dir DIR, somewhere you can write)"
        }
        ErrorKind::FileTooLarge => {
            " (the file reached a size limit: see `ulimit -f`, or pass --out DIR on another file system)"
        }
        ErrorKind::QuotaExceeded => " (the disk quota is used up: free some space)",
        _ => "",
    }
}

/// Whether `err` (or anything in its chain) is a [`WriteError`].
pub fn is_write_error(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<WriteError>().is_some())
}

/// Extension for `Result<T, io::Error>`: attach the path.
pub trait WriteContext<T> {
    fn writing(self, path: &Path) -> Result<T, WriteError>;
}

impl<T> WriteContext<T> for std::io::Result<T> {
    fn writing(self, path: &Path) -> Result<T, WriteError> {
        self.map_err(|e| WriteError::new(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let full = WriteError::new(
            Path::new("out/requests.jsonl"),
            std::io::Error::from(ErrorKind::StorageFull),
        );
        let text = full.to_string();
        assert!(
            text.starts_with("cannot write out/requests.jsonl: "),
            "{text}"
        );
        assert!(text.ends_with("pass --out DIR on another disk)"), "{text}");
        let err = anyhow::Error::from(full).context("the run stopped");
        assert!(is_write_error(&err));
        assert!(!is_write_error(&anyhow::anyhow!("other")));
    }
}
