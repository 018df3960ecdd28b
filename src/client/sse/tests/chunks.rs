//! Where the network splits a stream makes no difference: at every offset, several
//! events in one chunk, random chunkings of a stream and of arbitrary bytes; an
//! event within one chunk is lent, not copied.

use super::*;

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
