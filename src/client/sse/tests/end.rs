//! The end of a stream: the last event without its blank line, a truncated last
//! line, the parser left empty; byte counts and reset.

use super::*;

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
