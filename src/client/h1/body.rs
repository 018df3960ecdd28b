//! Reading a response body: de-chunked bytes handed to the caller in place, a stall
//! limit that costs nothing per read, and the connection handed back only when the
//! body was read to its end.

use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::time::Sleep;

use super::framing::{BodyDecoder, FramingError};
use super::head::Head;
use super::{Conn, READ_BUFFER};

/// A failure while reading a body.
#[derive(Debug)]
pub enum BodyError {
    /// Nothing arrived for the stall limit.
    Stalled(Duration),
    /// Reset, or closed before the body's declared end.
    Io(io::Error),
    Closed,
    Framing(FramingError),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Stalled(d) => write!(f, "the stream stalled: no data for {d:?}"),
            BodyError::Io(e) => write!(f, "the connection failed mid-response: {e}"),
            BodyError::Closed => f.write_str("the server closed the connection mid-response"),
            BodyError::Framing(e) => write!(f, "broken HTTP/1.1 body framing: {e}"),
        }
    }
}

/// A response body being read; owns the connection until the body ends.
#[derive(Debug)]
pub struct Body {
    conn: Conn,
    decoder: BodyDecoder,
    keep_alive: bool,
    /// Body bytes that arrived with the head: `conn.buf[pending.0..pending.1]`.
    pending: (usize, usize),
    head_time: Instant,
    /// Lazily re-armed stall timer: reset only when it fires early, never per read.
    stall: Option<Pin<Box<Sleep>>>,
    last_read: Instant,
    ended: bool,
}

impl Body {
    pub(super) fn new(
        mut conn: Conn,
        head: &Head,
        start: usize,
        filled: usize,
        now: Instant,
    ) -> Body {
        if start == filled {
            conn.shrink_buffer();
        }
        Body {
            conn,
            decoder: BodyDecoder::new(head.framing),
            keep_alive: head.keep_alive,
            pending: (start, filled),
            head_time: now,
            stall: None,
            last_read: now,
            ended: false,
        }
    }

    /// When the response head arrived.
    pub fn head_time(&self) -> Instant {
        self.head_time
    }

    /// How long the newest bytes of the last read (of the body, or of the head
    /// when nothing of the body has been read yet) had waited in the kernel
    /// before the client read them; `None` where the kernel does not say.
    pub fn read_wait(&self) -> Option<Duration> {
        self.conn.read_wait
    }

    /// Reads no longer ask how long their bytes waited (the first token has been
    /// timed), until the connection's next request.
    pub fn stop_timing_reads(&mut self) {
        self.conn.time_reads = false;
        self.conn.read_wait = None;
    }

    /// True once every byte of the body has been read.
    pub fn is_complete(&self) -> bool {
        self.decoder.is_done() && self.pending.0 >= self.pending.1
    }

    /// Reads once and passes the payload bytes to `payload` with the time they were
    /// read (possibly several slices per read). Returns `Ok(None)` at the end of the
    /// body.
    pub async fn next(
        &mut self,
        stall: Duration,
        payload: impl FnMut(&[u8], Instant),
    ) -> Result<Option<Instant>, BodyError> {
        if self.ended {
            return Ok(None);
        }
        if self.pending.0 < self.pending.1 {
            let (start, end) = std::mem::take(&mut self.pending);
            let decoded = self.decode(start, end, self.head_time, payload);
            // A head that needed a larger buffer no longer does.
            self.conn.shrink_buffer();
            return decoded;
        }
        if self.decoder.is_done() {
            self.ended = true;
            return Ok(None);
        }
        let n = self.read(stall).await?;
        let now = Instant::now();
        self.last_read = now;
        if n == 0 {
            self.ended = true;
            return if self.decoder.ends_at_close() {
                Ok(None)
            } else {
                Err(BodyError::Closed)
            };
        }
        self.decode(0, n, now, payload)
    }

    fn decode(
        &mut self,
        start: usize,
        end: usize,
        now: Instant,
        mut payload: impl FnMut(&[u8], Instant),
    ) -> Result<Option<Instant>, BodyError> {
        self.decoder
            .decode(&self.conn.buf[start..end], |bytes| payload(bytes, now))
            .map_err(BodyError::Framing)?;
        Ok(Some(now))
    }

    async fn read(&mut self, stall: Duration) -> Result<usize, BodyError> {
        loop {
            let deadline = tokio::time::Instant::from_std(self.last_read + stall);
            let sleep = self
                .stall
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            tokio::select! {
                biased;
                read = self.conn.read_into(0) => {
                    return read.map_err(BodyError::Io);
                }
                () = sleep.as_mut() => {
                    if Instant::now() >= self.last_read + stall {
                        return Err(BodyError::Stalled(stall));
                    }
                    sleep.as_mut().reset(deadline);
                }
            }
        }
    }

    /// The connection, if the body was read to its end and it may serve another
    /// request.
    pub fn into_reusable(self) -> Option<Conn> {
        let clean = self.is_complete() && self.decoder.excess() == 0;
        (clean && self.keep_alive).then_some(self.conn)
    }
}

impl Conn {
    /// Reads into the buffer from `from` on, keeping how long the bytes waited.
    pub(super) async fn read_into(&mut self, from: usize) -> io::Result<usize> {
        let (n, waited) = self
            .stream
            .read_timed(&mut self.buf[from..], self.time_reads)
            .await?;
        self.read_wait = waited;
        Ok(n)
    }

    /// Gives back what a long response head made the read buffer grow to.
    fn shrink_buffer(&mut self) {
        if self.buf.len() > READ_BUFFER {
            self.buf.truncate(READ_BUFFER);
            self.buf.shrink_to_fit();
        }
    }
}
