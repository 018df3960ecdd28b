//! The ShareGPT half of the index pass: a JSON array scanned byte by byte for
//! its elements' boundaries (strings and escapes respected), each element then
//! parsed alone, so a file of any size costs one element's bytes at a time.

use std::io::BufRead;

use super::index::{measure, At, Bad, Counter, Record, MAX_RECORD_BYTES, MAX_REPORTED};
use super::record;

/// Scans a ShareGPT array element by element; returns how many empty
/// conversations were skipped.
pub(super) fn scan(
    reader: &mut impl BufRead,
    count: Counter,
    out: &mut Vec<Record>,
    bad: &mut Vec<Bad>,
) -> u64 {
    let mut scan = Scanner { reader, pos: 0 };
    let mut skipped = 0;
    let structure = |number: u64, e: ScanError| match e {
        ScanError::Io(e) => Bad::new(At::Record(number), format!("cannot read: {e}")),
        ScanError::Syntax(reason) => Bad::new(At::Record(number), reason),
    };
    match scan.skip_space() {
        Ok(Some(b'[')) => scan.advance(),
        Ok(_) => {
            bad.push(Bad::new(
                At::File,
                "not a JSON array; a ShareGPT file is `[{\"conversations\": [{\"from\": \
                 \"human\", \"value\": ...}, ...]}, ...]` (for one object per line use \
                 `format: jsonl`)",
            ));
            return 0;
        }
        Err(e) => {
            bad.push(structure(1, e));
            return 0;
        }
    }
    let mut element = Vec::new();
    for number in 1u64.. {
        if bad.len() >= MAX_REPORTED {
            break;
        }
        let offset = match scan.element_start(number == 1) {
            Ok(Some(offset)) => offset,
            Ok(None) => break,
            Err(e) => {
                bad.push(structure(number, e));
                break;
            }
        };
        element.clear();
        if let Err(e) = scan.object(&mut element) {
            bad.push(structure(number, e));
            break;
        }
        match record::sharegpt(&element) {
            Ok(Some(text)) => {
                let (input_tokens, output_tokens) = measure(&text, count);
                out.push(Record {
                    offset,
                    len: element.len() as u32,
                    input_tokens,
                    output_tokens,
                });
            }
            Ok(None) => skipped += 1,
            Err(reason) => bad.push(Bad::new(At::Record(number), reason)),
        }
    }
    skipped
}

enum ScanError {
    Io(std::io::Error),
    Syntax(String),
}

/// Finds the byte boundaries of a JSON array's elements without parsing them.
struct Scanner<'r, R> {
    reader: &'r mut R,
    /// Offset of the next unread byte.
    pos: u64,
}

impl<R: BufRead> Scanner<'_, R> {
    /// The next non-space byte, not consumed; `None` at the end.
    fn skip_space(&mut self) -> Result<Option<u8>, ScanError> {
        loop {
            let buf = self.reader.fill_buf().map_err(ScanError::Io)?;
            let Some(&b) = buf.first() else {
                return Ok(None);
            };
            // A UTF-8 byte order mark counts as space at the start.
            if b.is_ascii_whitespace() || (self.pos < 3 && matches!(b, 0xEF | 0xBB | 0xBF)) {
                self.reader.consume(1);
                self.pos += 1;
            } else {
                return Ok(Some(b));
            }
        }
    }

    /// Moves to the next element (past a `,` unless `first`) and returns its
    /// offset; `None` after the closing `]` (and only space after it).
    fn element_start(&mut self, first: bool) -> Result<Option<u64>, ScanError> {
        let mut b = self.skip_space()?;
        if !first {
            match b {
                Some(b',') => {
                    self.advance();
                    b = self.skip_space()?;
                }
                Some(b']') => return self.end(),
                Some(other) => {
                    return Err(ScanError::Syntax(format!(
                        "expected `,` or `]` after the record, found `{}`",
                        char::from(other)
                    )))
                }
                None => return Err(truncated()),
            }
        }
        match b {
            Some(b'{') => Ok(Some(self.pos)),
            Some(b']') if first => self.end(),
            Some(other) => Err(ScanError::Syntax(format!(
                "expected a record (a JSON object `{{\"conversations\": [...]}}`), found `{}`",
                char::from(other)
            ))),
            None => Err(truncated()),
        }
    }

    fn advance(&mut self) {
        self.reader.consume(1);
        self.pos += 1;
    }

    fn end(&mut self) -> Result<Option<u64>, ScanError> {
        self.advance();
        match self.skip_space()? {
            None => Ok(None),
            Some(_) => Err(ScanError::Syntax(
                "text after the array's closing `]`; a ShareGPT file is one JSON array".into(),
            )),
        }
    }

    /// Copies one object (from its `{` to the matching `}`) into `out`.
    fn object(&mut self, out: &mut Vec<u8>) -> Result<(), ScanError> {
        let mut depth = 0u32;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = self.reader.fill_buf().map_err(ScanError::Io)?;
            if buf.is_empty() {
                return Err(truncated());
            }
            let mut used = 0;
            let mut done = false;
            for &b in buf {
                used += 1;
                if in_string {
                    match (escaped, b) {
                        (true, _) => escaped = false,
                        (false, b'\\') => escaped = true,
                        (false, b'"') => in_string = false,
                        _ => {}
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                done = true;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            out.extend_from_slice(&buf[..used]);
            self.reader.consume(used);
            self.pos += used as u64;
            if out.len() > MAX_RECORD_BYTES {
                return Err(ScanError::Syntax(format!(
                    "the record is longer than {MAX_RECORD_BYTES} bytes"
                )));
            }
            if done {
                return Ok(());
            }
        }
    }
}

fn truncated() -> ScanError {
    ScanError::Syntax("the file ends inside the array (cut short?); it must end with `]`".into())
}
