//! Redaction of a stream written in pieces (a baseline's sample columns, a report),
//! without holding the whole file: a secret may straddle two writes, so the last
//! bytes that could still become part of a match are held back until more arrive
//! or [`RedactingWriter::finish`].

use std::io::{self, Write};

use super::{apply, Redactor};

/// Pending bytes are redacted and passed on once there are this many.
const BATCH: usize = 1 << 16;

pub struct RedactingWriter<W: Write> {
    redactor: Redactor,
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    pub(super) fn new(redactor: Redactor, inner: W) -> Self {
        RedactingWriter {
            redactor,
            inner,
            pending: Vec::new(),
        }
    }

    /// Passes on everything still held back and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.emit(true)?;
        Ok(self.inner)
    }

    /// Redacts and passes on the pending bytes, all of them or those no later byte
    /// can change: up to [`Redactor::hold_back`] from the end, moved past any
    /// region that starts before that point.
    fn emit(&mut self, all: bool) -> io::Result<()> {
        if self.redactor.is_empty() {
            self.inner.write_all(&self.pending)?;
            self.pending.clear();
            return Ok(());
        }
        let regions = self.redactor.regions(&self.pending);
        let mut end = if all {
            self.pending.len()
        } else {
            self.pending.len().saturating_sub(self.redactor.hold_back())
        };
        let mut taken = 0;
        for r in &regions {
            if r.start >= end {
                break;
            }
            end = end.max(r.end);
            taken += 1;
        }
        if end == 0 {
            return Ok(());
        }
        self.inner
            .write_all(&apply(&self.pending[..end], &regions[..taken]))?;
        self.pending.drain(..end);
        Ok(())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= BATCH {
            self.emit(false)?;
        }
        Ok(buf.len())
    }

    /// Passes on what can be passed on; the held-back tail waits for `finish`.
    fn flush(&mut self) -> io::Result<()> {
        self.emit(false)?;
        self.inner.flush()
    }
}
