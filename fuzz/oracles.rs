//! What the fuzz targets check, shared by the cargo-fuzz targets (nightly,
//! coverage-guided) and `tests/fuzz_corpus.rs` (stable, replays the committed
//! corpus), so CI checks the same properties with or without nightly.
//!
//! Each function takes arbitrary bytes and panics only when a property fails:
//! never on the input itself, since whatever a server or a file holds must become an
//! error, not a crash.

// Each target uses one of these.
#![allow(dead_code)]

use std::path::Path;

use llm_bench::client::chunk::parse_chunk;
use llm_bench::client::h1::framing::{BodyDecoder, Framing};
use llm_bench::client::h1::parse_head;
use llm_bench::client::sse::{SseError, SseEvent, SseParser, DEFAULT_LIMIT};

/// Where to split `len` bytes, from two selector bytes.
fn cut(selector: u8, len: usize) -> usize {
    len * usize::from(selector) / 255
}

/// An owned event, to compare runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Data(String),
    Done,
    Error(String),
}

/// Feeds `pieces` then finishes; stops at the first error.
fn sse_run(limit: usize, pieces: &[&[u8]]) -> (Vec<Event>, Result<(), SseError>) {
    let mut parser = SseParser::with_limit(limit);
    let mut events = Vec::new();
    let mut on_event = |e: SseEvent<'_>| {
        let owned = match e {
            SseEvent::Data(d) => {
                // An event never holds more than the cap (plus the LFs joining
                // its lines), and whatever it holds parses or fails cleanly.
                assert!(d.len() <= limit, "event of {} bytes, cap {limit}", d.len());
                let _ = parse_chunk(d);
                Event::Data(d.to_owned())
            }
            SseEvent::Done => Event::Done,
            SseEvent::Error(d) => {
                assert!(d.len() <= limit);
                Event::Error(d.to_owned())
            }
        };
        events.push(owned);
    };
    for piece in pieces {
        if let Err(e) = parser.feed(piece, &mut on_event) {
            return (events, Err(e));
        }
    }
    let end = parser.finish(&mut on_event);
    (events, end)
}

/// The SSE parser: where the network splits a stream makes no difference (whole,
/// at two arbitrary points, byte by byte), events never exceed the cap, and every
/// payload goes through the chunk parser without a panic.
///
/// Input: a cap selector, two split selectors, then the stream.
pub fn sse_parser(data: &[u8]) {
    let [limit, a, b, stream @ ..] = data else {
        return;
    };
    let limit = [16, 64, 1024, DEFAULT_LIMIT][usize::from(limit % 4)];
    let whole = sse_run(limit, &[stream]);
    let (i, j) = {
        let (x, y) = (cut(*a, stream.len()), cut(*b, stream.len()));
        (x.min(y), x.max(y))
    };
    let split = sse_run(limit, &[&stream[..i], &stream[i..j], &stream[j..]]);
    assert_eq!(split, whole, "split at {i} and {j}");
    if stream.len() <= 512 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(sse_run(limit, &bytes), whole, "byte by byte");
    }
    if let Ok(text) = std::str::from_utf8(stream) {
        let _ = parse_chunk(text);
    }
}

/// Decodes `pieces` of a body; stops at the first error.
fn decode(framing: Framing, pieces: &[&[u8]]) -> (Vec<u8>, Result<(), String>, bool, usize) {
    let mut decoder = BodyDecoder::new(framing);
    let mut payload = Vec::new();
    for piece in pieces {
        if let Err(e) = decoder.decode(piece, |p| payload.extend_from_slice(p)) {
            return (
                payload,
                Err(e.to_string()),
                decoder.is_done(),
                decoder.excess(),
            );
        }
    }
    (payload, Ok(()), decoder.is_done(), decoder.excess())
}

/// HTTP/1.1: the body framing gives the same payload and verdict however the body
/// is split, payload never exceeds a declared length, and response heads parse
/// without a panic to a head whose length is within the input and that parses the
/// same from exactly its own bytes.
///
/// Input: a framing selector, two bytes of a length, a split selector, then bytes.
pub fn h1_framing(data: &[u8]) {
    let [kind, hi, lo, at, bytes @ ..] = data else {
        return;
    };
    let framing = match kind % 3 {
        0 => Framing::Chunked,
        1 => Framing::Length(u64::from(u16::from_be_bytes([*hi, *lo]))),
        _ => Framing::UntilClose,
    };
    let whole = decode(framing, &[bytes]);
    let i = cut(*at, bytes.len());
    assert_eq!(
        decode(framing, &[&bytes[..i], &bytes[i..]]),
        whole,
        "split at {i}"
    );
    if bytes.len() <= 512 {
        let each: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode(framing, &each), whole, "byte by byte");
    }
    if let Framing::Length(n) = framing {
        assert!(whole.0.len() as u64 <= n);
    }
    if let Framing::Chunked = framing {
        // Payload is carved out of the input, never made up.
        assert!(whole.0.len() <= bytes.len());
    }
    if let Ok(Some((head, len))) = parse_head(bytes) {
        assert!(len <= bytes.len());
        let again = parse_head(&bytes[..len]);
        assert!(head
            .content_type
            .as_ref()
            .is_none_or(|t| t.chars().count() <= 201));
        assert_eq!(again, Ok(Some((head, len))));
    }
}

/// The config loader: any three files load or fail with errors that each name one
/// of the files (or the folder), with a line inside that file when one is given.
///
/// Input: the three files' texts, separated by NUL bytes (targets, models,
/// workloads).
pub fn config_loader(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0);
    let names = ["targets.yaml", "models.yaml", "workloads.yaml"];
    let texts: Vec<&[u8]> = names.iter().map(|_| parts.next().unwrap_or(b"")).collect();
    // One folder per thread, rewritten for each input, in memory where there is a
    // tmpfs: on ext4, replacing a file flushes it on close, which cost ~20× more than
    // loading the folder.
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .expect("a temporary folder");
    }
    DIR.with(|dir| load(dir, names, &texts));
}

fn load(dir: &tempfile::TempDir, names: [&str; 3], texts: &[&[u8]]) {
    for (name, text) in names.iter().zip(texts) {
        std::fs::write(dir.path().join(name), text).expect("writable");
    }
    let env = |name: &str| (name == "FUZZ_KEY").then(|| "sk-fuzz".to_string());
    let Err(errors) = llm_bench::config::load_dir(dir.path(), &env) else {
        return;
    };
    assert!(!errors.0.is_empty(), "a failure without an error");
    for error in &errors.0 {
        let file = names
            .iter()
            .position(|n| error.file == dir.path().join(n))
            .map(|i| texts[i]);
        assert!(
            file.is_some() || error.file == dir.path(),
            "an error about an unknown file: {error}"
        );
        if let (Some(text), Some(line)) = (file, error.line) {
            let lines = yaml_lines(text);
            assert!(
                line >= 1 && line <= lines + 1,
                "line {line} of {lines}: {error}"
            );
        }
        assert!(
            !error.to_string().contains("sk-fuzz"),
            "a secret in {error}"
        );
    }
}

/// Lines as YAML counts them: LF, CRLF and a lone CR each end one.
fn yaml_lines(text: &[u8]) -> usize {
    let crlf = text.windows(2).filter(|w| w == b"\r\n").count();
    let breaks = text.iter().filter(|&&b| b == b'\n' || b == b'\r').count();
    breaks - crlf + 1
}

/// The baseline reader: any text parses or fails cleanly, and a baseline that
/// parses is written back to text that reads back to the same text (the writer
/// rounds numbers to 10 significant digits, so the first write may round; the
/// second must change nothing).
pub fn baseline_reader(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.baseline.json");
    let Ok(baseline) = llm_bench::compare::baseline::parse(text, path) else {
        return;
    };
    let written = llm_bench::compare::baseline::to_text(&baseline);
    let again = llm_bench::compare::baseline::parse(&written, path)
        .unwrap_or_else(|e| panic!("a baseline it wrote does not read back: {e}\n{written}"));
    assert_eq!(
        llm_bench::compare::baseline::to_text(&again),
        written,
        "a baseline changed in a round trip"
    );
}
