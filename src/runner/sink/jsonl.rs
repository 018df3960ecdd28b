//! `requests.jsonl` and `client_health.jsonl` as the writer thread sees them: a
//! file that only ever holds whole lines, even when the disk fills mid-batch.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::write_error::{WriteContext, WriteError};

/// A JSON-lines file that only ever holds whole lines: lines are buffered, written
/// in batches, and after a failed write the file is cut back to the last line
/// known to be complete (a full disk takes part of a batch).
pub(super) struct JsonlFile {
    pub(super) path: PathBuf,
    file: File,
    buffer: Vec<u8>,
    /// Bytes on disk that are whole lines.
    committed: u64,
}

impl JsonlFile {
    pub(super) fn create(path: &Path) -> Result<JsonlFile, WriteError> {
        Ok(JsonlFile {
            path: path.to_path_buf(),
            file: File::create(path).writing(path)?,
            buffer: Vec::with_capacity(BATCH_BYTES),
            committed: 0,
        })
    }

    /// Buffers one line (with its newline); writes the batch once it is large.
    pub(super) fn push(&mut self, line: &[u8]) -> Result<(), WriteError> {
        self.buffer.extend_from_slice(line);
        if self.buffer.len() >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    pub(super) fn flush(&mut self) -> Result<(), WriteError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut written = 0;
        while written < self.buffer.len() {
            match self.file.write(&self.buffer[written..]) {
                Ok(0) => return Err(self.cut_at(written, std::io::ErrorKind::WriteZero.into())),
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.cut_at(written, e)),
            }
        }
        self.committed += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Keeps what is valid after a failed write: the whole lines of the batch that
    /// reached the disk (a full disk or a file-size limit takes part of a batch),
    /// cutting the partial one. A no-op where the file cannot be cut (/dev/full).
    fn cut_at(&mut self, written: usize, e: std::io::Error) -> WriteError {
        let whole = self.buffer[..written]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let _ = self.file.set_len(self.committed + whole as u64);
        WriteError::new(&self.path, e)
    }
}

/// Rows are written in batches of about this many bytes, or sooner when no row
/// is waiting.
const BATCH_BYTES: usize = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails after part of a batch reached the disk keeps the whole
    /// rows of that part: the file is cut after the last newline written.
    #[test]
    fn a_partly_written_batch_keeps_its_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.jsonl");
        let mut file = JsonlFile::create(&path).unwrap();
        file.push(b"{\"a\":1}\n").unwrap();
        file.flush().unwrap();
        file.push(b"{\"b\":2}\n{\"c\":3}\n").unwrap();
        // As if the disk filled 12 bytes into the second batch: one whole line
        // and part of the next were written.
        file.file.write_all(&file.buffer[..12]).unwrap();
        let e = file.cut_at(12, std::io::ErrorKind::StorageFull.into());
        assert!(e.to_string().contains("requests.jsonl"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );
        // Nothing whole written: back to the last flushed batch.
        let e = file.cut_at(5, std::io::ErrorKind::StorageFull.into());
        drop(e);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n");
    }
}
