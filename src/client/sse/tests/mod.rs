//! The SSE parser against the spec's rules, at every split of the input.

mod chunks;
mod end;
mod errors;
mod fields;
mod lines;

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
