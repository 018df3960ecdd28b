//! Where an HTTP/1.1 response body ends, and which of its bytes are payload.
//!
//! Pure and incremental: the decoder takes whatever a socket read returned, hands the
//! payload bytes to a callback as slices of that same buffer (no copy) and keeps its
//! place between reads, so a chunk-size line or a CRLF may be split anywhere. The
//! rules are RFC 9112 §6–7, lenient where servers are known to be (bare LF line
//! ends, whitespace before a chunk extension), strict where a mistake would mix up
//! payload and framing.

use std::fmt;

/// How the body of a response is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// `Content-Length: n`.
    Length(u64),
    /// Neither: the body ends when the server closes the connection.
    UntilClose,
    /// No body at all (204, 304).
    Empty,
}

/// A body whose framing is broken: its payload cannot be told from its framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingError(pub &'static str);

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for FramingError {}

/// Longest chunk-size line accepted, extensions included.
const MAX_SIZE_LINE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size.
    Size {
        value: u64,
        digits: u8,
    },
    /// After the size: optional whitespace and `;extensions` up to the line end.
    SizeRest {
        value: u64,
    },
    /// Saw CR at the end of a size line.
    SizeLf {
        value: u64,
    },
    /// Inside a chunk's payload, with this many bytes left.
    Data(u64),
    /// After a chunk's payload: expecting CRLF.
    DataCr,
    DataLf,
    /// After the last chunk: at the start of a trailer line (or the final CRLF).
    TrailerStart,
    /// Inside a trailer field line.
    Trailer,
    /// Saw CR of the final empty line.
    EndLf,
    /// Length or close-delimited payload, with this many bytes left.
    Remaining(u64),
    UntilClose,
    Done,
}

/// Decodes one response body across any number of reads.
#[derive(Debug)]
pub struct BodyDecoder {
    state: State,
    /// Bytes of the current size line, to bound it.
    line: usize,
    /// Bytes that arrived after the end of the body (the connection is then unusable).
    excess: usize,
}

impl BodyDecoder {
    pub fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Chunked => State::Size {
                value: 0,
                digits: 0,
            },
            Framing::Length(0) | Framing::Empty => State::Done,
            Framing::Length(n) => State::Remaining(n),
            Framing::UntilClose => State::UntilClose,
        };
        BodyDecoder {
            state,
            line: 0,
            excess: 0,
        }
    }

    /// True once the whole body has been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// True when the server's closing the connection ends the body properly.
    pub fn ends_at_close(&self) -> bool {
        self.state == State::UntilClose
    }

    /// Bytes received after the body ended.
    pub fn excess(&self) -> usize {
        self.excess
    }

    /// Consumes `input` (all of it), passing payload slices to `payload` in order.
    pub fn decode(
        &mut self,
        input: &[u8],
        mut payload: impl FnMut(&[u8]),
    ) -> Result<(), FramingError> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Remaining(left) | State::Data(left) => {
                    let n = (input.len() - i).min(usize::try_from(left).unwrap_or(usize::MAX));
                    payload(&input[i..i + n]);
                    i += n;
                    let left = left - n as u64;
                    self.state = match (self.state, left) {
                        (State::Remaining(_), 0) => State::Done,
                        (State::Remaining(_), _) => State::Remaining(left),
                        (_, 0) => State::DataCr,
                        _ => State::Data(left),
                    };
                }
                State::UntilClose => {
                    payload(&input[i..]);
                    i = input.len();
                }
                State::Done => {
                    self.excess += input.len() - i;
                    i = input.len();
                }
                _ => {
                    self.framing_byte(input[i])?;
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// One byte of chunked framing (size lines, CRLFs, trailers).
    fn framing_byte(&mut self, b: u8) -> Result<(), FramingError> {
        self.state = match self.state {
            State::Size { value, digits } => {
                self.count_line()?;
                match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        if digits >= 15 {
                            return Err(FramingError("a chunk size is too large"));
                        }
                        let digit = (b as char).to_digit(16).unwrap_or(0) as u64;
                        State::Size {
                            value: value * 16 + digit,
                            digits: digits + 1,
                        }
                    }
                    _ if digits == 0 => {
                        return Err(FramingError("a chunk does not start with its size"))
                    }
                    b'\r' => State::SizeLf { value },
                    b'\n' => self.after_size_line(value),
                    b';' | b' ' | b'\t' => State::SizeRest { value },
                    _ => return Err(FramingError("a chunk size is not hexadecimal")),
                }
            }
            State::SizeRest { value } => {
                self.count_line()?;
                match b {
                    b'\r' => State::SizeLf { value },
                    b'\n' => self.after_size_line(value),
                    _ => State::SizeRest { value },
                }
            }
            State::SizeLf { value } => match b {
                b'\n' => self.after_size_line(value),
                _ => return Err(FramingError("a chunk-size line ends in CR without LF")),
            },
            State::DataCr => match b {
                b'\r' => State::DataLf,
                b'\n' => self.next_chunk(),
                _ => return Err(FramingError("a chunk is longer than its declared size")),
            },
            State::DataLf => match b {
                b'\n' => self.next_chunk(),
                _ => return Err(FramingError("a chunk ends in CR without LF")),
            },
            State::TrailerStart => match b {
                b'\r' => State::EndLf,
                b'\n' => State::Done,
                _ => State::Trailer,
            },
            State::Trailer => match b {
                b'\n' => State::TrailerStart,
                _ => State::Trailer,
            },
            State::EndLf => match b {
                b'\n' => State::Done,
                _ => return Err(FramingError("the final chunk ends in CR without LF")),
            },
            // Payload states are handled in bulk by `decode`.
            other => other,
        };
        Ok(())
    }

    fn count_line(&mut self) -> Result<(), FramingError> {
        self.line += 1;
        if self.line > MAX_SIZE_LINE {
            return Err(FramingError("a chunk-size line is too long"));
        }
        Ok(())
    }

    fn after_size_line(&mut self, value: u64) -> State {
        self.line = 0;
        if value == 0 {
            State::TrailerStart
        } else {
            State::Data(value)
        }
    }

    fn next_chunk(&mut self) -> State {
        State::Size {
            value: 0,
            digits: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces split at `cuts`; returns (payload, done, excess).
    fn decode_split(framing: Framing, input: &[u8], cuts: &[usize]) -> (Vec<u8>, bool, usize) {
        let mut d = BodyDecoder::new(framing);
        let mut out = Vec::new();
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            d.decode(&input[start..cut], |p| out.extend_from_slice(p))
                .unwrap();
            start = cut;
        }
        (out, d.is_done(), d.excess())
    }

    #[test]
    fn chunked_body_split_at_every_point() {
        let body = b"5\r\nhello\r\n1;ext=\"x\"\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for a in 0..=body.len() {
            for b in a..=body.len() {
                let (out, done, excess) = decode_split(Framing::Chunked, body, &[a, b]);
                assert_eq!(out, b"hello world!", "cuts {a} {b}");
                assert!(done, "cuts {a} {b}");
                assert_eq!(excess, 0);
            }
        }
    }

    #[test]
    fn bare_lf_line_ends_and_upper_case_hex() {
        let (out, done, _) = decode_split(Framing::Chunked, b"A\nabcdefghij\n0\n\n", &[]);
        assert_eq!(out, b"abcdefghij");
        assert!(done);
    }

    #[test]
    fn not_done_until_the_final_empty_line() {
        let (_, done, _) = decode_split(Framing::Chunked, b"3\r\nabc\r\n0\r\n", &[]);
        assert!(!done);
    }

    #[test]
    fn bytes_after_the_body_are_counted() {
        let (out, done, excess) = decode_split(Framing::Chunked, b"1\r\na\r\n0\r\n\r\nHTTP", &[]);
        assert_eq!((out.as_slice(), done, excess), (&b"a"[..], true, 4));
        let (out, done, excess) = decode_split(Framing::Length(3), b"abcde", &[1]);
        assert_eq!((out.as_slice(), done, excess), (&b"abc"[..], true, 2));
    }

    #[test]
    fn broken_chunked_framing_is_an_error() {
        for (body, why) in [
            (&b"1z\r\n"[..], "not hexadecimal"),
            (b"zz\r\n", "does not start with its size"),
            (b"\r\n", "does not start with its size"),
            (b"3\r\nabcd\r\n", "longer than its declared size"),
            (b"3\rx", "CR without LF"),
            (b"1234567890abcdef0\r\n", "too large"),
        ] {
            let mut d = BodyDecoder::new(Framing::Chunked);
            let err = d.decode(body, |_| {}).unwrap_err();
            assert!(
                err.0.contains(why),
                "{:?}: {err}",
                String::from_utf8_lossy(body)
            );
        }
        let mut d = BodyDecoder::new(Framing::Chunked);
        let long = [b"1;".as_slice(), &[b'x'; MAX_SIZE_LINE]].concat();
        assert!(d.decode(&long, |_| {}).is_err());
    }

    #[test]
    fn length_close_and_empty_bodies() {
        let (out, done, _) = decode_split(Framing::Length(5), b"hello", &[2]);
        assert_eq!((out.as_slice(), done), (&b"hello"[..], true));
        let (out, done, _) = decode_split(Framing::UntilClose, b"abc", &[1]);
        assert_eq!((out.as_slice(), done), (&b"abc"[..], false));
        assert!(BodyDecoder::new(Framing::UntilClose).ends_at_close());
        assert!(BodyDecoder::new(Framing::Empty).is_done());
        assert!(BodyDecoder::new(Framing::Length(0)).is_done());
    }
}
