//! Broken streams: invalid UTF-8 with its offset, errors that stick, lines and
//! events over the limit, the messages.

use super::*;

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
