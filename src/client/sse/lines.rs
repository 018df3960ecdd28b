//! From network chunks to complete lines: a line ending split across two reads
//! (CR LF), a line split across chunks (kept in the parser's buffer), UTF-8 and
//! the leading byte order mark. The fast path borrows each line from its chunk.

use super::fields::Line;
use super::{SseError, SseEvent, SseParser};
use crate::client::limits::reserve_within;

impl SseParser {
    pub(super) fn feed_lines<'b, F: FnMut(SseEvent<'_>)>(
        &mut self,
        bytes: &'b [u8],
        base: u64,
        on_event: &mut F,
    ) -> Result<(), SseError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let mut pos = 0;
        // Spec §9.2.6: CRLF is one line ending even when the read boundary falls
        // between the CR and the LF; the line itself was handled at the CR.
        if std::mem::take(&mut self.after_cr) && bytes[0] == b'\n' {
            pos = 1;
        }
        // The pending event's data when it is a single line of this chunk: handed
        // out without copying if the event also ends in this chunk.
        let mut borrowed: Option<&'b str> = None;
        let result = loop {
            let rest = &bytes[pos..];
            let Some(len) = memchr::memchr2(b'\n', b'\r', rest) else {
                // No line ending: keep the start of the line for the next chunk.
                if !rest.is_empty() {
                    if self.line.len() + rest.len() > self.limit {
                        break Err(SseError::LineTooLong { limit: self.limit });
                    }
                    if self.line.is_empty() {
                        self.line_start = base + pos as u64;
                    }
                    self.reserve_line(rest.len());
                    self.line.extend_from_slice(rest);
                }
                break Ok(());
            };
            let end = pos + len;
            // Spec §9.2.6: a line ends with CRLF, a lone LF, or a lone CR (the
            // `end-of-line` rule of §9.2.5).
            let next = if bytes[end] == b'\n' {
                end + 1
            } else {
                match bytes.get(end + 1) {
                    Some(b'\n') => end + 2,
                    Some(_) => end + 1,
                    None => {
                        self.after_cr = true;
                        end + 1
                    }
                }
            };
            let line = &bytes[pos..end];
            let handled = if self.line.is_empty() {
                self.chunk_line(line, base + pos as u64, &mut borrowed, on_event)
            } else {
                self.split_line(line, &mut borrowed, on_event)
            };
            if let Err(error) = handled {
                break Err(error);
            }
            pos = next;
        };
        // `bytes` is only lent to us: an event still open at the end of the chunk
        // must keep its data in our own buffer.
        if let Some(data) = borrowed {
            self.reserve_data(data.len());
            self.data.push_str(data);
        }
        result
    }

    /// A line that lies entirely within the current chunk: the fast path, which
    /// copies nothing unless the event has several `data:` lines.
    fn chunk_line<'b, F: FnMut(SseEvent<'_>)>(
        &mut self,
        raw: &'b [u8],
        offset: u64,
        borrowed: &mut Option<&'b str>,
        on_event: &mut F,
    ) -> Result<(), SseError> {
        if raw.len() > self.limit {
            return Err(SseError::LineTooLong { limit: self.limit });
        }
        let line = self.decode(raw, offset)?;
        match Line::classify(line) {
            Line::Data(value) if !self.has_data => {
                self.has_data = true;
                *borrowed = Some(value);
                Ok(())
            }
            line => self.apply(line, borrowed, on_event),
        }
    }

    /// The end of a line whose start arrived in an earlier chunk.
    fn split_line<F: FnMut(SseEvent<'_>)>(
        &mut self,
        tail: &[u8],
        borrowed: &mut Option<&str>,
        on_event: &mut F,
    ) -> Result<(), SseError> {
        if self.line.len() + tail.len() > self.limit {
            return Err(SseError::LineTooLong { limit: self.limit });
        }
        // Taken out (no allocation) so the line can be read while `self` changes,
        // then put back so its capacity is reused.
        let mut raw = std::mem::take(&mut self.line);
        raw.reserve_exact(reserve_within(
            raw.len(),
            raw.capacity(),
            tail.len(),
            self.limit,
        ));
        raw.extend_from_slice(tail);
        let result = match self.decode(&raw, self.line_start) {
            Ok(line) => self.apply(Line::classify(line), borrowed, on_event),
            Err(error) => Err(error),
        };
        raw.clear();
        self.line = raw;
        result
    }

    /// Checks that a complete line is UTF-8 and drops a leading byte order mark.
    fn decode<'l>(&mut self, raw: &'l [u8], offset: u64) -> Result<&'l str, SseError> {
        let line = std::str::from_utf8(raw).map_err(|e| SseError::InvalidUtf8 {
            offset: offset + e.valid_up_to() as u64,
        })?;
        // Spec §9.2.6: the stream is decoded with "UTF-8 decode", which skips one
        // leading BOM (`stream = [ bom ] *event` in §9.2.5). Checked on the first complete line, so a BOM split across
        // chunks is found too.
        if std::mem::take(&mut self.at_start) {
            return Ok(line.strip_prefix('\u{feff}').unwrap_or(line));
        }
        Ok(line)
    }
}
