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
//! * a line, and an event's data, are capped ([`DEFAULT_LIMIT`]) so a broken server
//!   cannot make the client buffer without bound;
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

use std::fmt;

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

/// One field line, after the spec's §9.2.6 split into name and value.
enum Line<'a> {
    /// An empty line: dispatch the event.
    Blank,
    /// A `data` field, with its value.
    Data(&'a str),
    /// An `event` field, with its value (the event type).
    Event(&'a str),
    /// A comment, or a field this client has no use for (`id`, `retry`, unknown).
    Ignored,
}

impl<'a> Line<'a> {
    /// Spec §9.2.6: a line starting with a colon is a comment; otherwise the field
    /// name is everything before the first colon (the whole line if there is
    /// none) and the value everything after it, minus one leading space.
    fn classify(line: &'a str) -> Line<'a> {
        // `data:` first: nearly every line of a completion stream is one.
        if let Some(value) = line.strip_prefix("data:") {
            return Line::Data(strip_one_space(value));
        }
        if line.is_empty() {
            return Line::Blank;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, strip_one_space(value)),
            None => (line, ""),
        };
        // An empty name is a comment (the line started with a colon).
        match name {
            "data" => Line::Data(value),
            "event" => Line::Event(value),
            _ => Line::Ignored,
        }
    }
}

fn strip_one_space(value: &str) -> &str {
    value.strip_prefix(' ').unwrap_or(value)
}

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

    fn feed_lines<'b, F: FnMut(SseEvent<'_>)>(
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

    /// Spec §9.2.6: what each kind of line does to the pending event.
    fn apply<F: FnMut(SseEvent<'_>)>(
        &mut self,
        line: Line<'_>,
        borrowed: &mut Option<&str>,
        on_event: &mut F,
    ) -> Result<(), SseError> {
        match line {
            Line::Blank => self.dispatch(borrowed.take(), on_event),
            Line::Data(value) => {
                // A second data line (or one that spanned chunks): join in our buffer.
                if self.has_data {
                    if let Some(first) = borrowed.take() {
                        self.data.push_str(first);
                    }
                    self.data.push('\n');
                }
                self.has_data = true;
                if self.data.len() + value.len() > self.limit {
                    return Err(SseError::EventTooLarge { limit: self.limit });
                }
                self.data.push_str(value);
            }
            Line::Event(kind) => self.error_event = kind == "error",
            Line::Ignored => {}
        }
        Ok(())
    }

    /// Spec §9.2.6 "dispatch the event": an event without any data line is
    /// dropped; either way the data and event type buffers are emptied.
    fn dispatch<F: FnMut(SseEvent<'_>)>(&mut self, borrowed: Option<&str>, on_event: &mut F) {
        if self.has_data {
            let data = borrowed.unwrap_or(self.data.as_str());
            on_event(if self.error_event {
                SseEvent::Error(data)
            } else if data == DONE {
                SseEvent::Done
            } else {
                SseEvent::Data(data)
            });
        }
        self.clear_event();
    }

    fn clear_event(&mut self) {
        self.data.clear();
        self.has_data = false;
        self.error_event = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned copy of an event, to compare runs.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Data(String),
        Done,
        Error(String),
    }

    fn own(event: SseEvent<'_>) -> Ev {
        match event {
            SseEvent::Data(d) => Ev::Data(d.to_owned()),
            SseEvent::Done => Ev::Done,
            SseEvent::Error(d) => Ev::Error(d.to_owned()),
        }
    }

    fn data(text: &str) -> Ev {
        Ev::Data(text.to_owned())
    }

    type Run = (Vec<Ev>, Result<(), SseError>);

    /// Feeds `chunks` in order, then finishes; stops at the first error.
    fn run_with(mut parser: SseParser, chunks: &[&[u8]]) -> Run {
        let mut events = Vec::new();
        for chunk in chunks {
            if let Err(e) = parser.feed(chunk, |e| events.push(own(e))) {
                return (events, Err(e));
            }
        }
        let end = parser.finish(|e| events.push(own(e)));
        (events, end)
    }

    fn run(chunks: &[&[u8]]) -> Run {
        run_with(SseParser::new(), chunks)
    }

    /// Checks that where the network splits `stream` makes no difference: at any
    /// one offset, at any two offsets (short streams), and byte by byte.
    fn assert_split_invariant(stream: &[u8], limit: usize) -> Run {
        let whole = run_with(SseParser::with_limit(limit), &[stream]);
        let n = stream.len();
        for i in 0..=n {
            let split = run_with(SseParser::with_limit(limit), &[&stream[..i], &stream[i..]]);
            assert_eq!(
                split,
                whole,
                "split at {i} of {:?}",
                String::from_utf8_lossy(stream)
            );
        }
        if n <= 160 {
            for i in 0..=n {
                for j in i..=n {
                    let parts: [&[u8]; 3] = [&stream[..i], &stream[i..j], &stream[j..]];
                    assert_eq!(
                        run_with(SseParser::with_limit(limit), &parts),
                        whole,
                        "split at {i} and {j}"
                    );
                }
            }
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(
            run_with(SseParser::with_limit(limit), &bytes),
            whole,
            "byte by byte"
        );
        whole
    }

    fn split_invariant(stream: &[u8]) -> Run {
        assert_split_invariant(stream, DEFAULT_LIMIT)
    }

    #[test]
    fn one_event_split_at_every_offset() {
        // `é` and `😀` are multi-byte: some splits fall inside a UTF-8 sequence.
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"hé😀\"}}]}\n\n".as_bytes();
        let (events, end) = split_invariant(stream);
        assert_eq!(
            events,
            [data("{\"choices\":[{\"delta\":{\"content\":\"hé😀\"}}]}")]
        );
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn whole_stream_split_everywhere() {
        let stream = b": keep-alive\n\ndata: {\"a\":1}\n\nevent: message\nid: 7\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
        let (events, end) = split_invariant(stream);
        assert_eq!(events, [data("{\"a\":1}"), data("{\"b\":2}"), Ev::Done]);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn several_events_in_one_chunk() {
        let (events, _) = run(&[b"data: 1\n\ndata: 2\n\ndata: 3\n\n"]);
        assert_eq!(events, [data("1"), data("2"), data("3")]);
    }

    #[test]
    fn crlf_line_endings() {
        let (events, end) = split_invariant(
            b"data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n: x\r\ndata: [DONE]\r\n\r\n",
        );
        assert_eq!(events, [data("a"), data("b\nc"), Ev::Done]);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn lone_cr_line_endings() {
        let (events, end) = split_invariant(b"data: a\r\rdata: b\rdata: c\r\r");
        assert_eq!(events, [data("a"), data("b\nc")]);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn mixed_line_endings() {
        let (events, _) = split_invariant(b"data: a\r\ndata: b\ndata: c\r\rdata: d\n\r\n");
        assert_eq!(events, [data("a\nb\nc"), data("d")]);
    }

    #[test]
    fn cr_and_lf_in_different_chunks_are_one_line_ending() {
        // Were the LF a blank line, `a` would be dispatched alone.
        let (events, end) = run(&[b"data: a\r", b"\ndata: b\r\n\r\n"]);
        assert_eq!(events, [data("a\nb")]);
        assert_eq!(end, Ok(()));
        // The CR is remembered across an empty chunk.
        let (events, _) = run(&[b"data: a\r", b"", b"\ndata: b\r", b"\n", b"\r", b"\n"]);
        assert_eq!(events, [data("a\nb")]);
        // A CR, then CR LF: one line ending, then a blank line.
        let (events, _) = run(&[b"data: a\r", b"\r", b"\n"]);
        assert_eq!(events, [data("a")]);
    }

    #[test]
    fn comments_are_ignored() {
        let (events, end) = split_invariant(
            b": ping\n\n:\n: ping - 2024-01-01\ndata: x\n: in the middle\ndata: y\n\n:ping\n\n",
        );
        assert_eq!(events, [data("x\ny")]);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn multi_line_data_is_joined_with_lf() {
        let (events, _) = split_invariant(
            b"data: {\"a\":\ndata: 1}\n\ndata: a\ndata:\ndata: b\n\ndata:\ndata:\n\n",
        );
        assert_eq!(events, [data("{\"a\":\n1}"), data("a\n\nb"), data("\n")]);
    }

    #[test]
    fn data_field_value_rules() {
        // No space, one space stripped, only one, trailing spaces kept, no colon.
        let (events, _) = split_invariant(
            b"data:x\n\ndata: x\n\ndata:  x\n\ndata: x \n\ndata\n\ndata:\n\ndata: a: b\n\n",
        );
        assert_eq!(
            events,
            [
                data("x"),
                data("x"),
                data(" x"),
                data("x "),
                data(""),
                data(""),
                data("a: b")
            ]
        );
    }

    #[test]
    fn field_names_are_exact() {
        // Case-sensitive, no trimming: none of these is a data field.
        let (events, end) =
            run(&[b"Data: a\n\n data: b\n\ndata : c\n\nid: 1\nretry: 10\nfoo: bar\n\n"]);
        assert_eq!(events, []);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn done_marker() {
        let (events, _) =
            split_invariant(b"data: [DONE]\n\ndata:[DONE]\n\ndata: [DONE] \n\ndata: [done]\n\n");
        assert_eq!(
            events,
            [Ev::Done, Ev::Done, data("[DONE] "), data("[done]")]
        );
    }

    #[test]
    fn error_event_type() {
        let stream = b"event: error\ndata: {\"error\":\"boom\"}\n\n\
                       event:error\ndata: overloaded\n\n\
                       data: after\n\n\
                       event: error\n\n\
                       data: still data\n\n\
                       event: error\nevent: message\ndata: last type wins\n\n\
                       event: error\ndata: [DONE]\n\n\
                       event: ping\ndata: {}\n\n";
        let (events, end) = split_invariant(stream);
        assert_eq!(
            events,
            [
                Ev::Error("{\"error\":\"boom\"}".into()),
                Ev::Error("overloaded".into()),
                data("after"),
                // `event: error` without data: no event (spec), and the type resets.
                data("still data"),
                data("last type wins"),
                Ev::Error("[DONE]".into()),
                data("{}"),
            ]
        );
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn byte_order_mark_at_start_is_skipped() {
        let (events, end) = split_invariant(b"\xEF\xBB\xBFdata: a\n\n");
        assert_eq!(events, [data("a")]);
        assert_eq!(end, Ok(()));
        // A BOM alone on the first line leaves a blank line.
        let (events, _) = split_invariant(b"\xEF\xBB\xBF\ndata: a\n\n");
        assert_eq!(events, [data("a")]);
    }

    #[test]
    fn byte_order_mark_elsewhere_is_content() {
        // Only one, and only at the start: later it makes the field name unknown.
        let (events, _) = split_invariant(
            b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\ndata: \xEF\xBB\xBFc\n\n",
        );
        assert_eq!(events, [data("\u{feff}c")]);
    }

    #[test]
    fn finish_dispatches_an_event_without_final_blank_line() {
        let (events, end) = split_invariant(b"data: a\n\ndata: {\"usage\":{}}\n");
        assert_eq!(events, [data("a"), data("{\"usage\":{}}")]);
        assert_eq!(end, Ok(()));
        let (events, end) = split_invariant(b"data: x\r\ndata: y\r");
        assert_eq!(events, [data("x\ny")]);
        assert_eq!(end, Ok(()));
        let (events, end) = split_invariant(b"event: error\ndata: late\n");
        assert_eq!(events, [Ev::Error("late".into())]);
        assert_eq!(end, Ok(()));
        let (events, end) = split_invariant(b"data: [DONE]\n");
        assert_eq!(events, [Ev::Done]);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn finish_on_empty_or_complete_stream() {
        assert_eq!(run(&[]), (vec![], Ok(())));
        assert_eq!(run(&[b""]), (vec![], Ok(())));
        assert_eq!(run(&[b"\n\n\r\n"]), (vec![], Ok(())));
        assert_eq!(run(&[b": only a comment\n"]), (vec![], Ok(())));
    }

    #[test]
    fn truncated_last_line() {
        let (events, end) = split_invariant(b"data: a\n\ndata: {\"choices\":[{\"delta\":");
        assert_eq!(events, [data("a")]);
        assert_eq!(end, Err(SseError::TruncatedEvent));
        // The complete lines of an event cut short are not dispatched either.
        let (events, end) = split_invariant(b"data: {\"a\":\ndata: 1");
        assert_eq!(events, []);
        assert_eq!(end, Err(SseError::TruncatedEvent));
        let (_, end) = run(&[b"data: [DONE]"]);
        assert_eq!(end, Err(SseError::TruncatedEvent));
    }

    #[test]
    fn finish_leaves_the_parser_empty() {
        let mut parser = SseParser::new();
        parser.feed(b"data: a\ndata: partial", |_| {}).unwrap();
        assert_eq!(parser.finish(|_| {}), Err(SseError::TruncatedEvent));
        let mut events = Vec::new();
        assert_eq!(parser.finish(|e| events.push(own(e))), Ok(()));
        assert_eq!(events, []);
        assert_eq!(parser.bytes_seen(), 21);
    }

    #[test]
    fn invalid_utf8_is_an_error_with_its_offset() {
        // 0xFF at byte 12 of the stream.
        let stream = b"data: ok\n\ndata: \xFF\n\ndata: never\n\n";
        let (events, end) = split_invariant(stream);
        assert_eq!(events, [data("ok")]);
        assert_eq!(end, Err(SseError::InvalidUtf8 { offset: 16 }));
        // A truncated sequence, and one in a comment.
        let (_, end) = split_invariant(b"data: \xC3(\n\n");
        assert_eq!(end, Err(SseError::InvalidUtf8 { offset: 6 }));
        let (_, end) = split_invariant(b": \xE2\x82\n");
        assert_eq!(end, Err(SseError::InvalidUtf8 { offset: 2 }));
    }

    #[test]
    fn errors_are_sticky() {
        let mut parser = SseParser::new();
        let err = parser.feed(b"data: \xFF\n", |_| {}).unwrap_err();
        assert_eq!(
            parser.feed(b"data: ok\n\n", |_| panic!("no event after an error")),
            Err(err)
        );
        assert_eq!(
            parser.finish(|_| panic!("no event after an error")),
            Err(err)
        );
    }

    #[test]
    fn line_over_the_limit() {
        let limit = 16;
        let ok = b"data: 0123456789\n\n"; // exactly 16 bytes of line
        let (events, end) = assert_split_invariant(ok, limit);
        assert_eq!((events, end), (vec![data("0123456789")], Ok(())));
        let long = b"data: 01234567890\n\n";
        let (events, end) = assert_split_invariant(long, limit);
        assert_eq!(events, []);
        assert_eq!(end, Err(SseError::LineTooLong { limit }));
        // Caught before the line ends, so an endless line cannot grow the buffer.
        let mut parser = SseParser::with_limit(limit);
        assert_eq!(parser.feed(b"data: 0123456789", |_| {}), Ok(()));
        assert_eq!(
            parser.feed(b"0", |_| {}),
            Err(SseError::LineTooLong { limit })
        );
        // Comments count too.
        let (_, end) = run_with(SseParser::with_limit(limit), &[b": 0123456789abcdef\n"]);
        assert_eq!(end, Err(SseError::LineTooLong { limit }));
    }

    #[test]
    fn event_over_the_limit() {
        let limit = 16;
        let (events, end) = assert_split_invariant(b"data: 01234567\ndata: 0123456\n\n", limit);
        assert_eq!((events, end), (vec![data("01234567\n0123456")], Ok(())));
        let (events, end) = assert_split_invariant(b"data: 01234567\ndata: 01234567\n\n", limit);
        assert_eq!(events, []);
        assert_eq!(end, Err(SseError::EventTooLarge { limit }));
    }

    #[test]
    fn an_event_within_one_chunk_is_borrowed_not_copied() {
        let chunk =
            b": ping\n\ndata: {\"a\":1}\r\n\r\nevent: error\ndata: e\n\ndata: {\"b\":2}\n\n";
        let range = chunk.as_ptr_range();
        let mut parser = SseParser::new();
        parser.feed(b"data: spl", |_| {}).unwrap();
        let mut seen = 0;
        parser
            .feed(b"it\n\n", |e| {
                seen += 1;
                assert_eq!(e, SseEvent::Data("split"));
            })
            .unwrap();
        let capacity = (parser.line.capacity(), parser.data.capacity());
        parser
            .feed(chunk, |e| {
                seen += 1;
                let (SseEvent::Data(d) | SseEvent::Error(d)) = e else {
                    panic!("unexpected {e:?}");
                };
                assert!(range.contains(&d.as_ptr()), "{d:?} was copied");
            })
            .unwrap();
        assert_eq!(seen, 4);
        // Nothing was buffered for them.
        assert_eq!((parser.line.capacity(), parser.data.capacity()), capacity);
    }

    #[test]
    fn bytes_seen_and_reset() {
        let mut parser = SseParser::new();
        parser
            .feed(b"\xEF\xBB\xBFdata: a\n\ndata: b", |_| {})
            .unwrap();
        parser.feed(b"", |_| {}).unwrap();
        parser.feed(b"c\r", |_| {}).unwrap();
        assert_eq!(parser.bytes_seen(), 21);
        parser.reset();
        assert_eq!(parser.bytes_seen(), 0);
        // The pending `bc` event, the CR and the BOM state are all gone.
        let mut events = Vec::new();
        parser.feed(b"\n", |e| events.push(own(e))).unwrap();
        assert_eq!(events, []);
        parser.reset();
        parser
            .feed(b"\xEF\xBB\xBFdata: d\n\n", |e| events.push(own(e)))
            .unwrap();
        assert_eq!(events, [data("d")]);
        // Reset also clears a failure.
        parser.feed(b"\xFF\n", |_| {}).unwrap_err();
        parser.reset();
        assert_eq!(parser.feed(b"data: e\n\n", |_| {}), Ok(()));
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            SseError::InvalidUtf8 { offset: 3 }.to_string(),
            "the event stream is not valid UTF-8 (at byte 3)"
        );
        assert_eq!(
            SseError::LineTooLong { limit: 8 }.to_string(),
            "a line of the event stream is longer than 8 bytes"
        );
        assert_eq!(
            SseError::EventTooLarge { limit: 8 }.to_string(),
            "the data of one event is larger than 8 bytes"
        );
        assert_eq!(
            SseError::TruncatedEvent.to_string(),
            "the last line of the event stream has no line ending"
        );
    }

    /// Deterministic pseudo-random numbers (no dev-dependency needed).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % bound as u64) as usize
        }
    }

    fn random_chunks<'s>(stream: &'s [u8], rng: &mut Lcg) -> Vec<&'s [u8]> {
        let mut chunks = Vec::new();
        let mut rest = stream;
        while !rest.is_empty() {
            let n = rng.next(rest.len().min(40) + 1);
            chunks.push(&rest[..n]);
            rest = &rest[n..];
        }
        chunks
    }

    #[test]
    fn random_chunking_matches_one_feed() {
        let stream = "\u{feff}: hi\r\nevent: error\r\ndata: e\r\n\r\ndata: {\"c\":\"ü\"}\n\ndata: a\rdata:b\r\r\
                      id: 1\nretry: 5\ndata\n\ndata: x\n: c\ndata: y\n\ndata: [DONE]\n\ndata: tail\n"
            .as_bytes();
        let whole = run(&[stream]);
        assert_eq!(whole.0.len(), 7);
        let mut rng = Lcg(42);
        for _ in 0..2000 {
            assert_eq!(run(&random_chunks(stream, &mut rng)), whole);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_chunking_never_matters() {
        let alphabet: &[u8] = b"data: \r\n:event error[DONE]\xEF\xBB\xBF\xFF\xC3\xA9x";
        let mut rng = Lcg(7);
        for _ in 0..3000 {
            let len = rng.next(64);
            let stream: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.next(alphabet.len())])
                .collect();
            let limit = 4 + rng.next(40);
            let whole = run_with(SseParser::with_limit(limit), &[&stream]);
            let chunks = random_chunks(&stream, &mut rng);
            assert_eq!(
                run_with(SseParser::with_limit(limit), &chunks),
                whole,
                "{stream:?}"
            );
        }
    }
}
