//! The SSE parser against the spec's rules, at every split of the input.

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
    let (events, end) =
        split_invariant(b"data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n: x\r\ndata: [DONE]\r\n\r\n");
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
    let (events, _) =
        split_invariant(b"data: {\"a\":\ndata: 1}\n\ndata: a\ndata:\ndata: b\n\ndata:\ndata:\n\n");
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
    let chunk = b": ping\n\ndata: {\"a\":1}\r\n\r\nevent: error\ndata: e\n\ndata: {\"b\":2}\n\n";
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
    let stream =
        "\u{feff}: hi\r\nevent: error\r\ndata: e\r\n\r\ndata: {\"c\":\"ü\"}\n\ndata: a\rdata:b\r\r\
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
