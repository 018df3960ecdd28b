//! What a response that is not the stream asked for says, in words a user can act
//! on: a status that is not a success (with what its body said, and whether that
//! body was cut short), or a success whose content type is not what was asked for.
//!
//! Pure: the transports collect the bytes, this module turns them into messages.

use crate::record::ErrorKind;
use crate::status_hint::hint;

/// Longest excerpt of a server's error body kept in a record.
pub const ERROR_EXCERPT_CHARS: usize = 300;

/// The start of an error body, as read before giving up on it.
#[derive(Debug, Default)]
pub struct ErrorBody {
    bytes: Vec<u8>,
    /// Received in all, including what did not fit.
    received: usize,
    /// Why the body ended before its end, when it did (reset, closed, stalled).
    cut: Option<String>,
}

impl ErrorBody {
    /// Bytes of an error body that are read; the rest is not waited for.
    pub const MAX: usize = 4096;

    /// Adds bytes as they arrive.
    pub fn push(&mut self, bytes: &[u8]) {
        self.received += bytes.len();
        let room = Self::MAX.saturating_sub(self.bytes.len());
        self.bytes
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Whether enough was read to quote.
    pub fn is_full(&self) -> bool {
        self.bytes.len() >= Self::MAX
    }

    /// The body ended early: `why` (e.g. "the connection was reset").
    pub fn cut(&mut self, why: impl Into<String>) {
        self.cut = Some(why.into());
    }

    /// The start of the body as text (what a hint reads), without the note on a cut.
    fn text(&self) -> String {
        decode_prefix(&self.bytes)
    }

    /// The body as quoted in a message: at most [`ERROR_EXCERPT_CHARS`]
    /// characters, and a note when the connection cut it short.
    pub fn quote(&self) -> String {
        let mut text = excerpt(&self.text());
        if let Some(why) = &self.cut {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!(
                "[cut short: {why} after {} bytes of the body]",
                self.received
            ));
        }
        text
    }
}

/// UTF-8 text of `bytes`, without a last character that was cut in two (it would
/// show as `�`); other invalid bytes are replaced.
fn decode_prefix(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => {
            let valid = bytes.len() - incomplete_tail(bytes);
            String::from_utf8_lossy(&bytes[..valid]).into_owned()
        }
    }
}

/// Length of an unfinished UTF-8 sequence at the end of `bytes` (0 if none).
fn incomplete_tail(bytes: &[u8]) -> usize {
    let tail = &bytes[bytes.len().saturating_sub(3)..];
    for (i, &b) in tail.iter().enumerate().rev() {
        let needed = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            0x80..=0xBF => continue,
            _ => return 0,
        };
        let have = tail.len() - i;
        return if have < needed { have } else { 0 };
    }
    0
}

/// At most [`ERROR_EXCERPT_CHARS`] characters of `text`, trimmed, `…` when cut.
pub fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(ERROR_EXCERPT_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// The message of a response whose status is not a success. Statuses HTTP
/// defines for errors get the hint that their body points to
/// ([`crate::status_hint`]); redirects and statuses outside 2xx–5xx say what they
/// mean here.
pub fn status_message(code: u16, location: Option<&str>, body: &ErrorBody) -> String {
    let hint = match (ErrorKind::from_status(code), code) {
        (ErrorKind::Redirect, _) => format!(
            " redirect to {}: llm-bench does not follow redirects (a request is never sent \
             twice unasked); use the address it points to as the base URL",
            location.unwrap_or("no `Location`")
        ),
        (_, 101) => " Switching Protocols, though the request asked for no upgrade: the \
                     address is not an HTTP API (a WebSocket or other endpoint?)"
            .to_string(),
        (ErrorKind::UnexpectedStatus, _) => " (a status HTTP does not define)".to_string(),
        _ => hint(code, &body.text())
            .map(|h| format!(" ({h})"))
            .unwrap_or_default(),
    };
    let quote = body.quote();
    if quote.is_empty() {
        format!("HTTP {code}{hint}")
    } else {
        format!("HTTP {code}{hint}: {quote}")
    }
}

/// What a successful response's `Content-Type` says about its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    EventStream,
    Json,
    Html,
    /// Absent, or a type that proves nothing (e.g. `text/plain`): the body is
    /// parsed as asked for.
    Unknown,
}

impl BodyType {
    pub fn of(content_type: Option<&str>) -> BodyType {
        let Some(value) = content_type else {
            return BodyType::Unknown;
        };
        let mime = value.split(';').next().unwrap_or("").trim();
        let is = |name: &str| mime.eq_ignore_ascii_case(name);
        if is("text/event-stream") {
            BodyType::EventStream
        } else if is("application/json") || mime.to_ascii_lowercase().ends_with("+json") {
            BodyType::Json
        } else if is("text/html") || is("application/xhtml+xml") {
            BodyType::Html
        } else {
            BodyType::Unknown
        }
    }
}

/// Why a successful response cannot be the body asked for (`stream`: an event
/// stream; otherwise one JSON completion), or `None` when it may be.
pub fn wrong_content_type(content_type: Option<&str>, stream: bool) -> Option<String> {
    let got = content_type.unwrap_or_default();
    let why = match (BodyType::of(content_type), stream) {
        (BodyType::Html, _) => format!(
            "expected {}, got an HTML page ({got}): a login page, a proxy or a web UI \
             answered instead of the API; check the base URL",
            if stream {
                "an event stream (text/event-stream)"
            } else {
                "JSON"
            }
        ),
        (BodyType::Json, true) => format!(
            "expected an event stream (text/event-stream), got {got}: the server ignored \
             `stream: true` and sent one JSON response; run with --no-stream, or check \
             that the server supports streaming"
        ),
        (BodyType::EventStream, false) => format!(
            "expected one JSON response, got an event stream ({got}): the server ignored \
             `stream: false`; run without --no-stream"
        ),
        _ => return None,
    };
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bytes: &[u8], cut: Option<&str>) -> ErrorBody {
        let mut b = ErrorBody::default();
        b.push(bytes);
        if let Some(why) = cut {
            b.cut(why);
        }
        b
    }

    #[test]
    fn a_body_cut_by_a_reset_keeps_what_arrived_and_says_so() {
        let b = body(b"{\"error\": \"bad req", Some("the connection was reset"));
        let m = status_message(400, None, &b);
        assert!(
            m.ends_with(
                ": {\"error\": \"bad req [cut short: the connection was reset after 18 bytes \
                 of the body]"
            ),
            "{m}"
        );
        // A character cut in two is dropped, not shown as U+FFFD.
        let b = body("héé".as_bytes().split_last().unwrap().1, Some("reset"));
        assert_eq!(b.quote(), "hé [cut short: reset after 4 bytes of the body]");
        let b = body(b"", Some("reset"));
        assert_eq!(b.quote(), "[cut short: reset after 0 bytes of the body]");
    }

    #[test]
    fn long_bodies_are_read_up_to_a_cap_and_quoted_shorter() {
        let mut b = ErrorBody::default();
        b.push(&[b'x'; 3000]);
        assert!(!b.is_full());
        b.push(&[b'y'; 3000]);
        assert!(b.is_full());
        assert_eq!(b.bytes.len(), ErrorBody::MAX);
        let quote = b.quote();
        assert_eq!(quote.chars().count(), ERROR_EXCERPT_CHARS + 1);
        assert!(quote.ends_with('…'));
        // Invalid bytes inside are replaced, not an error.
        assert_eq!(body(b"a\xffb", None).quote(), "a\u{fffd}b");
    }

    #[test]
    fn statuses_get_messages_that_say_what_to_do() {
        let empty = ErrorBody::default();
        let m = status_message(
            307,
            Some("https://api.example.com/v1/chat/completions"),
            &empty,
        );
        assert!(
            m.starts_with(
                "HTTP 307 redirect to https://api.example.com/v1/chat/completions: llm-bench does \
             not follow redirects"
            ),
            "{m}"
        );
        assert!(status_message(301, None, &empty).contains("no `Location`"));
        assert!(status_message(101, None, &empty).contains("Switching Protocols"));
        assert!(status_message(799, None, &empty).contains("does not define"));
        assert!(status_message(401, None, &empty).contains("API key"));
        assert_eq!(
            status_message(503, None, &body(b" overloaded\n", None)),
            "HTTP 503: overloaded"
        );
    }

    #[test]
    fn content_types_that_cannot_be_the_body_asked_for() {
        for ct in [
            Some("text/event-stream"),
            Some("TEXT/EVENT-STREAM; charset=utf-8"),
            None,
            Some("text/plain"),
        ] {
            assert_eq!(wrong_content_type(ct, true), None, "{ct:?}");
        }
        let m = wrong_content_type(Some("application/json"), true).unwrap();
        assert!(
            m.contains("got application/json") && m.contains("--no-stream"),
            "{m}"
        );
        let m = wrong_content_type(Some("text/html; charset=utf-8"), true).unwrap();
        assert!(m.contains("HTML page (text/html; charset=utf-8)"), "{m}");
        assert!(wrong_content_type(Some("application/problem+json"), true).is_some());
        assert_eq!(wrong_content_type(Some("application/json"), false), None);
        assert!(wrong_content_type(Some("text/html"), false).is_some());
        assert!(wrong_content_type(Some("text/event-stream"), false).is_some());
    }
}
