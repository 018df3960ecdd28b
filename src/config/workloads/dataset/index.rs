//! What the index pass keeps (a [`Record`] of 24 bytes per record) and how it
//! reports problems, and its JSONL half: the file read line by line, each line
//! parsed alone and dropped (the pass itself is in `pass.rs`).

use std::io::{BufRead, Read};

use super::record::{self, Output, RecordText};

/// Longest record read (a line of JSONL, an element of ShareGPT): a bound on
/// what one request's prompt costs to read.
pub const MAX_RECORD_BYTES: usize = 16 << 20;
/// Most bad records reported from one file.
pub(super) const MAX_REPORTED: usize = 20;

/// Where one record lies and its lengths in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Byte offset of the record's first byte in the file.
    pub offset: u64,
    /// Bytes in the record (without a line's end).
    pub len: u32,
    /// The prompt's length in tokens, as the index's counter measured it.
    pub input_tokens: u32,
    /// The record's own output length in tokens; 0 when it has none.
    pub output_tokens: u32,
}

/// Every usable record of a file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetIndex {
    pub records: Vec<Record>,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
    /// ShareGPT conversations with no turns, left out.
    pub skipped: u64,
}

/// Where a problem is: a JSONL line, a ShareGPT record (both 1-based), or the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Line(u64),
    Record(u64),
    File,
}

/// One problem of a dataset file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    pub at: At,
    pub reason: String,
}

impl Bad {
    pub(super) fn new(at: At, reason: impl Into<String>) -> Bad {
        Bad {
            at,
            reason: reason.into(),
        }
    }
}

/// Measures a text in tokens (the model's tokenizer, or the approximation).
pub type Counter<'a> = &'a mut dyn FnMut(&str) -> u32;

/// The record's lengths in tokens; the output is at least 1 when present.
pub(super) fn measure(text: &RecordText, count: Counter) -> (u32, u32) {
    let input = count(&text.prompt);
    let output = match &text.output {
        None => 0,
        Some(Output::Tokens(n)) => *n,
        Some(Output::Text(t)) => count(t).max(1),
    };
    (input, output)
}

pub(super) fn jsonl(
    reader: &mut impl BufRead,
    count: Counter,
    out: &mut Vec<Record>,
    bad: &mut Vec<Bad>,
) {
    let mut line = Vec::new();
    let mut offset = 0u64;
    for number in 1u64.. {
        if bad.len() >= MAX_REPORTED {
            return;
        }
        line.clear();
        let read = reader
            .by_ref()
            .take(MAX_RECORD_BYTES as u64 + 1)
            .read_until(b'\n', &mut line);
        let n = match read {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) => {
                bad.push(Bad::new(At::Line(number), format!("cannot read: {e}")));
                return;
            }
        };
        let start = offset;
        offset += n as u64;
        if line.len() > MAX_RECORD_BYTES {
            bad.push(Bad::new(
                At::Line(number),
                format!("the line is longer than {MAX_RECORD_BYTES} bytes; is this JSONL?"),
            ));
            return;
        }
        let content = trim_line_end(&line);
        if content.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match record::jsonl(content) {
            Ok(text) => {
                let (input_tokens, output_tokens) = measure(&text, count);
                out.push(Record {
                    offset: start,
                    len: content.len() as u32,
                    input_tokens,
                    output_tokens,
                });
            }
            Err(reason) => bad.push(Bad::new(At::Line(number), reason)),
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
