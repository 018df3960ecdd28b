//! Incremental parser for `text/event-stream` (Server-Sent Events).
//!
//! Every OpenAI-compatible server streams a completion as SSE: each token batch is
//! one `data: {json}` line followed by a blank line, and the stream ends with
//! `data: [DONE]`. The network hands us the body in chunks whose boundaries have
//! nothing to do with the event boundaries: an event can arrive split across two
//! reads, several events can arrive in one, and a CR can be separated from its LF.
//! This module turns those chunks back into events, and nothing more: it knows no
//! JSON and no clock (see [`super::chunk`] for what a payload means and
//! [`super::http`] for the timestamps).
//!
//! It implements the WHATWG HTML Standard, §9.2.6 "Interpreting an event stream"
//! (<https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>;
//! the grammar is §9.2.5, `#parsing-an-event-stream`), with three deliberate
//! departures, each marked where it is implemented:
//!
//! * bytes that are not UTF-8 are an error ([`SseError::InvalidUtf8`]) instead of
//!   being replaced by U+FFFD: a server that sends them is broken, and a benchmark
//!   should say so rather than count garbled tokens;
//! * a line, and an event's data, are capped ([`DEFAULT_LIMIT`], or a run's
//!   [`super::limits::Limits`]) so a broken server cannot make the client buffer
//!   without bound; the buffers never grow past the cap;
//! * at the end of the stream, an event whose lines were all complete but which
//!   was never followed by a blank line is still dispatched by
//!   [`SseParser::finish`] (the spec discards it), because some servers close the
//!   connection right after the last `data:` line.
//!
//! It sits on the hot path (one call per network read, up to hundreds of thousands
//! per second across all requests), so the common case does no heap allocation:
//! an event that lies entirely within one network chunk is handed out as a slice
//! of that chunk. Only a line split across chunks, or an event with several
//! `data:` lines, is copied into a buffer the parser owns and reuses.
//!
//! Layout: this file holds the parser's types and its entry points (`feed`,
//! `finish`); `lines` cuts chunks into lines (line endings split across reads,
//! lines split across chunks, UTF-8, the byte order mark) and `fields` says what
//! each line does to the pending event (field name and value, joined data,
//! dispatch).

mod fields;
mod lines;

use std::fmt;

use super::limits::reserve_within;

/// Default cap on the length of one line, and on the data of one event, in bytes.
///
/// Far above any real chunk (a streamed chunk is typically under 1 KiB; a whole
/// non-streamed response a few hundred KiB), far below what would hurt a load
/// generator running thousands of streams at once.
pub const DEFAULT_LIMIT: usize = 16 * 1024 * 1024;

/// The data value OpenAI-compatible servers send as the last event of a stream.
const DONE: &str = "[DONE]";

/// One dispatched event, borrowing either the chunk passed to
/// [`SseParser::feed`] or the parser's own buffer: copy what you need to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseEvent<'a> {
    /// The event's data: its `data:` lines joined with `\n` (spec §9.2.6: each
    /// line's value is appended followed by LF, and the final LF is removed).
    /// It may be empty (an event with one empty `data:` line).
    Data(&'a str),
    /// The data is exactly `[DONE]`: the server's end-of-stream marker.
    Done,
    /// The event's type was `error` (an `event: error` line), with its data.
    /// Some servers report failures this way instead of in the JSON payload.
    Error(&'a str),
}

/// Why the event stream cannot be parsed. Once [`SseParser::feed`] has returned
/// an error the stream is broken: every later call returns the same error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseError {
    /// The stream is not UTF-8; `offset` counts bytes from the start of the stream
    /// to the first byte of the invalid sequence.
    InvalidUtf8 { offset: u64 },
    /// A line is longer than `limit` bytes (not counting its line ending).
    LineTooLong { limit: usize },
    /// The data of one event (all its `data:` lines) is larger than `limit` bytes.
    EventTooLarge { limit: usize },
    /// The stream ended in the middle of a line: bytes after the last line
    /// ending. Reported by [`SseParser::finish`].
    TruncatedEvent,
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::InvalidUtf8 { offset } => {
                write!(f, "the event stream is not valid UTF-8 (at byte {offset})")
            }
            SseError::LineTooLong { limit } => {
                write!(f, "a line of the event stream is longer than {limit} bytes")
            }
            SseError::EventTooLarge { limit } => {
                write!(f, "the data of one event is larger than {limit} bytes")
            }
            SseError::TruncatedEvent => {
                f.write_str("the last line of the event stream has no line ending")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// Incremental SSE parser for one response body. Create one per stream (creating
/// it allocates nothing), or [`reset`](SseParser::reset) it to reuse its buffers.
#[derive(Debug, Clone)]
pub struct SseParser {
    /// The start of a line whose end has not arrived yet.
    line: Vec<u8>,
    /// Stream offset of `line[0]`, for error messages.
    line_start: u64,
    /// The pending event's data, when it cannot be borrowed from the current
    /// chunk: it spans chunks, or has several `data:` lines.
    data: String,
    /// Whether the pending event has a `data:` line. Distinct from `data` being
    /// empty: per the spec, one empty `data:` line still makes an event.
    has_data: bool,
    /// Whether the pending event's type is `error`.
    error_event: bool,
    /// The previous chunk ended with CR: an LF at the start of the next chunk
    /// belongs to that line ending and is not a blank line.
    after_cr: bool,
    /// No line has been completed yet, so a byte order mark may still be present.
    at_start: bool,
    bytes_seen: u64,
    limit: usize,
    failed: Option<SseError>,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new()
    }
}

impl SseParser {
    /// A parser with the default limit ([`DEFAULT_LIMIT`]) on line and event size.
    pub fn new() -> Self {
        SseParser::with_limit(DEFAULT_LIMIT)
    }

    /// A parser that rejects lines, and event data, longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        SseParser {
            line: Vec::new(),
            line_start: 0,
            data: String::new(),
            has_data: false,
            error_event: false,
            after_cr: false,
            at_start: true,
            bytes_seen: 0,
            limit,
            failed: None,
        }
    }

    /// Makes the parser ready for a new stream, keeping its buffers' capacity.
    pub fn reset(&mut self) {
        let limit = self.limit;
        let mut line = std::mem::take(&mut self.line);
        let mut data = std::mem::take(&mut self.data);
        line.clear();
        data.clear();
        *self = SseParser {
            line,
            data,
            ..SseParser::with_limit(limit)
        };
    }

    /// True when no part of an event is held: every byte fed so far belonged to
    /// an event already dispatched (or to comments and blank lines).
    pub fn is_between_events(&self) -> bool {
        self.line.is_empty() && !self.has_data && !self.after_cr
    }

    /// Total bytes passed to [`feed`](SseParser::feed) since creation or reset.
    pub fn bytes_seen(&self) -> u64 {
        self.bytes_seen
    }

    /// Feeds the next network chunk; calls `on_event` for each event completed
    /// (by a blank line) within it, in order.
    ///
    /// # Errors
    ///
    /// [`SseError::InvalidUtf8`], [`SseError::LineTooLong`] or
    /// [`SseError::EventTooLarge`]. The events before the offending line have
    /// been dispatched; the parser stays failed.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>),
    ) -> Result<(), SseError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let base = self.bytes_seen;
        self.bytes_seen += bytes.len() as u64;
        let result = self.feed_lines(bytes, base, &mut on_event);
        if let Err(error) = result {
            self.failed = Some(error);
        }
        result
    }

    /// Ends the stream.
    ///
    /// Dispatches a pending event whose lines were all complete but that was
    /// never followed by a blank line. The spec discards it (§9.2.6: "Once the
    /// end of the file is reached, any pending data must be discarded"); we
    /// keep it because some servers close the connection right after their
    /// last `data:` line, and their last event is usually the one carrying
    /// `finish_reason` and usage.
    ///
    /// Afterwards, with or without an error, the parser is empty, as if at a
    /// new stream (only [`bytes_seen`](SseParser::bytes_seen) is kept).
    ///
    /// # Errors
    ///
    /// [`SseError::TruncatedEvent`] if the stream stopped in the middle of a
    /// line; the event that line belonged to is incomplete and is not
    /// dispatched. An error from an earlier [`feed`](SseParser::feed) again.
    pub fn finish(&mut self, mut on_event: impl FnMut(SseEvent<'_>)) -> Result<(), SseError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        self.after_cr = false;
        self.at_start = true;
        if !self.line.is_empty() {
            self.line.clear();
            self.clear_event();
            return Err(SseError::TruncatedEvent);
        }
        self.dispatch(None, &mut on_event);
        Ok(())
    }

    /// Room for `extra` more bytes of line, growing no further than the limit
    /// (doubling alone would reach twice it).
    fn reserve_line(&mut self, extra: usize) {
        let line = &mut self.line;
        line.reserve_exact(reserve_within(
            line.len(),
            line.capacity(),
            extra,
            self.limit,
        ));
    }

    fn reserve_data(&mut self, extra: usize) {
        let data = &mut self.data;
        data.reserve_exact(reserve_within(
            data.len(),
            data.capacity(),
            extra,
            self.limit,
        ));
    }

    fn clear_event(&mut self) {
        self.data.clear();
        self.has_data = false;
        self.error_event = false;
    }
}

#[cfg(test)]
mod tests;
