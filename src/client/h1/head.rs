//! Sending a request and reading its response head, both under the stall limit.
//!
//! A server that accepts a request and then says nothing (or sends `101` and goes
//! quiet) must cost the stall timeout, not the whole request timeout: every write
//! and every read up to the end of the head may wait at most `stall` for progress.
//! Whether a failed attempt may be sent again is decided here too, from what was
//! written: only a pooled connection that failed before the kernel took a single
//! byte of the request is certain not to have delivered any of it.

use std::io;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::body::Body;
use super::framing::Framing;
use super::{Conn, SendError, MAX_HEAD, MAX_HEADERS};

/// Longest header value quoted in a message (`Content-Type`, `Location`).
const MAX_QUOTED_VALUE: usize = 200;

/// The status line and headers that matter to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub framing: Framing,
    pub keep_alive: bool,
    /// `Content-Type`, as sent (at most 200 characters).
    pub content_type: Option<String>,
    /// `Location`, for redirects (at most 200 characters).
    pub location: Option<String>,
}

/// A failed attempt, and whether sending the request again is safe.
pub(super) struct Failed {
    pub error: SendError,
    /// Nothing of the request can have reached the server: a pooled connection
    /// refused its very first byte.
    pub may_resend: bool,
}

impl Conn {
    /// Writes the request and reads up to the end of the response head.
    pub(super) async fn exchange(
        mut self,
        request: &[u8],
        stall: Duration,
    ) -> Result<(Head, Body), Failed> {
        self.time_reads = true;
        let reused = self.reused;
        self.write_request(request, stall)
            .await
            .map_err(|(error, written)| Failed {
                may_resend: reused && written == 0 && !matches!(error, SendError::Stalled { .. }),
                error,
            })?;
        let fail = |error| Failed {
            error,
            may_resend: false,
        };
        let mut filled = 0;
        loop {
            if filled == self.buf.len() {
                if self.buf.len() >= MAX_HEAD {
                    return Err(fail(SendError::HeadTooLarge { limit: MAX_HEAD }));
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let read = tokio::time::timeout(stall, self.read_into(filled));
            let n = match read.await {
                Err(_) => {
                    return Err(fail(SendError::Stalled {
                        limit: stall,
                        waiting_for: if filled == 0 {
                            "a response"
                        } else {
                            "the rest of the response head"
                        },
                    }))
                }
                Ok(Ok(0)) => {
                    return Err(fail(SendError::Closed {
                        reused,
                        head_bytes: filled,
                    }))
                }
                Ok(Ok(n)) => n,
                Ok(Err(error)) => {
                    return Err(fail(SendError::Io {
                        error,
                        reused,
                        head_bytes: filled,
                    }))
                }
            };
            filled += n;
            let now = Instant::now();
            // Informational (1xx) heads are skipped, as the real head follows;
            // `101 Switching Protocols` is final: no other HTTP/1.1 head comes.
            let mut start = 0;
            while let Some((head, len)) = parse_head(&self.buf[start..filled])
                .map_err(|why| fail(SendError::Protocol(why)))?
            {
                start += len;
                if (100..200).contains(&head.status) && head.status != 101 {
                    continue;
                }
                let body = Body::new(self, &head, start, filled, now);
                return Ok((head, body));
            }
            if start > 0 {
                self.buf.copy_within(start..filled, 0);
                filled -= start;
            }
        }
    }

    /// Writes all of `request`, waiting at most `stall` for each write to make
    /// progress; on failure, also says how many bytes the kernel had taken.
    async fn write_request(
        &mut self,
        request: &[u8],
        stall: Duration,
    ) -> Result<(), (SendError, usize)> {
        let mut written = 0;
        while written < request.len() {
            let write = tokio::time::timeout(stall, self.stream.write(&request[written..]));
            let error = match write.await {
                Ok(Ok(n)) if n > 0 => {
                    written += n;
                    continue;
                }
                Ok(Ok(_)) => io::ErrorKind::WriteZero.into(),
                Ok(Err(e)) => e,
                Err(_) => {
                    let error = SendError::Stalled {
                        limit: stall,
                        waiting_for: "the server to read the request",
                    };
                    return Err((error, written));
                }
            };
            let total = request.len();
            return Err((
                SendError::Write {
                    error,
                    written,
                    total,
                },
                written,
            ));
        }
        // TLS may hold the last record until flushed; for TCP this is free.
        match tokio::time::timeout(stall, self.stream.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err((
                SendError::Write {
                    error,
                    written,
                    total: request.len(),
                },
                written,
            )),
            Err(_) => Err((
                SendError::Stalled {
                    limit: stall,
                    waiting_for: "the server to read the request",
                },
                written,
            )),
        }
    }
}

/// Parses a response head; `Ok(None)` while it is incomplete.
///
/// # Errors
///
/// A message saying what is wrong, when the bytes are not an HTTP/1.x head or its
/// framing headers contradict each other.
pub fn parse_head(bytes: &[u8]) -> Result<Option<(Head, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let status = response.code.unwrap_or(0);
    let http10 = response.version == Some(0);
    let mut chunked = false;
    let mut other_coding = false;
    let mut length: Option<u64> = None;
    let mut close = http10;
    let mut content_type = None;
    let mut location = None;
    for h in response.headers.iter() {
        let value = String::from_utf8_lossy(h.value);
        let value = value.trim();
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides (RFC 9112 §6.3): chunked, or read until close.
            let last = value.rsplit(',').next().unwrap_or("").trim();
            chunked = last.eq_ignore_ascii_case("chunked");
            other_coding = !chunked;
        } else if h.name.eq_ignore_ascii_case("content-length") {
            // RFC 9110 §8.6: one or more digits (`u64::from_str` would take a `+`).
            let n = value
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| value.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| format!("invalid Content-Length `{}`", quoted(value)))?;
            if length.is_some_and(|m| m != n) {
                return Err("two different Content-Length values".into());
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") && http10 {
                    close = false;
                }
            }
        } else if h.name.eq_ignore_ascii_case("content-type") {
            content_type = Some(quoted(value));
        } else if h.name.eq_ignore_ascii_case("location") {
            location = Some(quoted(value));
        }
    }
    let framing = if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if other_coding {
        Framing::UntilClose
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    // After a 101 the connection speaks another protocol.
    let keep_alive = !close && framing != Framing::UntilClose && status != 101;
    let head = Head {
        status,
        framing,
        keep_alive,
        content_type,
        location,
    };
    Ok(Some((head, len)))
}

/// A header value cut to [`MAX_QUOTED_VALUE`] characters, control characters
/// escaped, for a message.
fn quoted(value: &str) -> String {
    let mut out = String::new();
    let mut len = 0;
    for c in value.chars() {
        // Counted as written: an escaped control character is several.
        let escaped = c.is_control().then(|| c.escape_debug());
        let width = escaped.as_ref().map_or(1, |e| e.len());
        if len + width > MAX_QUOTED_VALUE {
            out.push('…');
            break;
        }
        len += width;
        match escaped {
            Some(e) => out.extend(e),
            None => out.push(c),
        }
    }
    out
}
