//! A lean HTTP/1.1 client for plain `http://` endpoints: the path every measured
//! request takes when the server is on the local network, as in a CI runner.
//!
//! Why not reqwest here: profiled at 1,024 streams (docs/performance.md), the
//! general-purpose stack spent much of the client's CPU between the socket and our
//! parser (hyper's connection task hands each body chunk to the request task over a
//! channel, a timeout is registered per read) and kept ~58 KiB per connection (read
//! buffers that grow while the client catches up, a dispatch channel block, a header
//! buffer): 239 MiB at 4,096 streams. Here the request's own task owns its
//! connection, reads straight into one 4 KiB buffer and hands de-chunked bytes to the
//! SSE parser in place. Response heads are parsed by `httparse` (hyper's parser);
//! the body framing is [`framing`]. HTTPS goes through reqwest (`super::http`).
//!
//! Each read of a streamed token makes the kernel send an ACK, about a third of the
//! client's CPU at 1,024 streams. Delaying ACKs (`TCP_QUICKACK` 0) would halve that,
//! and is not done: a server that leaves Nagle's algorithm on then holds every other
//! token until the delayed-ACK timer fires, ~40 ms, and the measured ITLs become the
//! client's (`tests::a_server_with_nagle_on_is_not_stalled_by_delayed_acks`).

pub mod framing;
#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use self::framing::{BodyDecoder, Framing, FramingError};

/// Read buffer per connection. A streamed token is ~100–300 bytes; a client that
/// falls behind reads several per call, never needing more room than this.
const READ_BUFFER: usize = 4096;
/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most header fields in a response head.
const MAX_HEADERS: usize = 64;

/// Where requests go and the request head they all share.
#[derive(Debug)]
pub struct Endpoint {
    host: String,
    port: u16,
    /// `POST … HTTP/1.1` and every header but `Content-Length`; holds the API key,
    /// so it is never printed (no `Debug` of its bytes below).
    head: SecretBytes,
    addrs: tokio::sync::OnceCell<Vec<SocketAddr>>,
    idle: Mutex<Vec<Conn>>,
    max_idle: usize,
    connect_timeout: Duration,
}

/// Bytes that must not reach a log.
struct SecretBytes(Vec<u8>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// One open connection and its read buffer.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Served a response before: a failure before any response byte may be the
    /// server's keep-alive timeout closing it, and is retried once on a new one.
    reused: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.stream.peer_addr().ok())
            .field("reused", &self.reused)
            .finish_non_exhaustive()
    }
}

/// A failure on the way to a response head.
#[derive(Debug)]
pub enum SendError {
    Connect(io::Error),
    /// The connection broke while sending or before the head was complete.
    Io(io::Error),
    /// The server's answer is not HTTP/1.x.
    Protocol(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Connect(e) => write!(f, "connect: {e}"),
            SendError::Io(e) => write!(f, "connection error before the response: {e}"),
            SendError::Protocol(why) => write!(f, "not an HTTP/1.1 response: {why}"),
        }
    }
}

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

/// The status line and headers that matter to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub framing: Framing,
    pub keep_alive: bool,
}

impl Endpoint {
    /// `path` starts with `/`; `headers` are sent as given (values already checked to
    /// be valid header values).
    pub fn new(
        host: &str,
        port: u16,
        path: &str,
        headers: &[(String, String)],
        max_idle: usize,
        connect_timeout: Duration,
    ) -> Endpoint {
        let host_header = if port == 80 {
            host.to_string()
        } else if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut head = format!("POST {path} HTTP/1.1\r\nHost: {host_header}\r\n");
        let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if !has("accept") {
            head.push_str("Accept: */*\r\n");
        }
        if !has("user-agent") {
            head.push_str(concat!(
                "User-Agent: llm-bench/",
                env!("CARGO_PKG_VERSION"),
                "\r\n"
            ));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        Endpoint {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            head: SecretBytes(head.into_bytes()),
            addrs: tokio::sync::OnceCell::new(),
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
            connect_timeout,
        }
    }

    /// Sends `body` and waits for the response head. A pooled connection that fails
    /// before any response byte is replaced by a new one, once.
    pub async fn send(
        &self,
        request_id: Option<&str>,
        body: &[u8],
    ) -> Result<(Head, Body), SendError> {
        let id_len = request_id.map_or(0, |id| id.len() + 16);
        let mut request = Vec::with_capacity(self.head.0.len() + id_len + 40 + body.len());
        request.extend_from_slice(&self.head.0);
        if let Some(id) = request_id {
            request.extend_from_slice(b"X-Request-Id: ");
            request.extend_from_slice(id.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        request.extend_from_slice(body);
        let conn = match self.take_idle() {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        match conn.exchange(&request).await {
            Err(Retry::Stale) => self.connect().await?.exchange(&request).await,
            other => other,
        }
        .map_err(|e| match e {
            Retry::Stale => SendError::Io(io::ErrorKind::ConnectionReset.into()),
            Retry::Fail(e) => e,
        })
    }

    /// Returns a connection whose response was read to its end, for the next request.
    pub fn put_back(&self, mut conn: Conn) {
        conn.reused = true;
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    /// Opens connections until `count` are idle, all at once; failures are left to
    /// the requests that follow, which report them.
    pub async fn warm_up(&self, count: usize) {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).len();
        let missing = count.min(self.max_idle).saturating_sub(idle);
        let opened = futures_util::future::join_all((0..missing).map(|_| self.connect())).await;
        for conn in opened.into_iter().flatten() {
            self.put_back(conn);
        }
    }

    fn take_idle(&self) -> Option<Conn> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    async fn connect(&self) -> Result<Conn, SendError> {
        let addrs = self
            .addrs
            .get_or_try_init(|| async {
                let found: Vec<SocketAddr> =
                    tokio::net::lookup_host((self.host.as_str(), self.port))
                        .await?
                        .collect();
                if found.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("`{}` resolves to no address", self.host),
                    ));
                }
                Ok(found)
            })
            .await
            .map_err(SendError::Connect)?;
        let mut last = None;
        for addr in addrs {
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    stream.set_nodelay(true).map_err(SendError::Connect)?;
                    return Ok(Conn {
                        stream,
                        buf: vec![0; READ_BUFFER],
                        reused: false,
                    });
                }
                Ok(Err(e)) => last = Some(e),
                Err(_) => {
                    last = Some(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no connection within {:?}", self.connect_timeout),
                    ))
                }
            }
        }
        Err(SendError::Connect(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no address to connect to")
        })))
    }
}

enum Retry {
    /// A reused connection broke before any response byte.
    Stale,
    Fail(SendError),
}

impl Conn {
    /// Writes the request and reads up to the end of the response head.
    async fn exchange(mut self, request: &[u8]) -> Result<(Head, Body), Retry> {
        let reused = self.reused;
        let stale_or = |e: io::Error, reused: bool| {
            if reused {
                Retry::Stale
            } else {
                Retry::Fail(SendError::Io(e))
            }
        };
        if let Err(e) = self.stream.write_all(request).await {
            return Err(stale_or(e, reused));
        }
        let mut filled = 0;
        loop {
            if filled == self.buf.len() {
                if self.buf.len() >= MAX_HEAD {
                    return Err(Retry::Fail(SendError::Protocol(format!(
                        "the response head is longer than {} KiB",
                        MAX_HEAD / 1024
                    ))));
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = match self.stream.read(&mut self.buf[filled..]).await {
                Ok(0) if filled == 0 => {
                    return Err(stale_or(io::ErrorKind::UnexpectedEof.into(), reused))
                }
                Ok(0) => {
                    return Err(Retry::Fail(SendError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection inside the response head",
                    ))))
                }
                Ok(n) => n,
                Err(e) if filled == 0 => return Err(stale_or(e, reused)),
                Err(e) => return Err(Retry::Fail(SendError::Io(e))),
            };
            filled += n;
            let now = Instant::now();
            // Informational (1xx) heads are skipped: the real head follows.
            let mut start = 0;
            while let Some((head, len)) = parse_head(&self.buf[start..filled])
                .map_err(|why| Retry::Fail(SendError::Protocol(why)))?
            {
                start += len;
                if (100..200).contains(&head.status) {
                    continue;
                }
                let body = Body::new(self, head, start, filled, now);
                return Ok((head, body));
            }
            if start > 0 {
                self.buf.copy_within(start..filled, 0);
                filled -= start;
            }
        }
    }
}

/// Parses a response head; `Ok(None)` while it is incomplete.
fn parse_head(bytes: &[u8]) -> Result<Option<(Head, usize)>, String> {
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
    for h in response.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides (RFC 9112 §6.3): chunked, or read until close.
            let last = value.rsplit(',').next().unwrap_or("").trim();
            chunked = last.eq_ignore_ascii_case("chunked");
            other_coding = !chunked;
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value
                .parse()
                .map_err(|_| format!("invalid Content-Length `{value}`"))?;
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
    let keep_alive = !close && framing != Framing::UntilClose;
    Ok(Some((
        Head {
            status,
            framing,
            keep_alive,
        },
        len,
    )))
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
    fn new(conn: Conn, head: Head, start: usize, filled: usize, now: Instant) -> Body {
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
            return self.decode(start, end, self.head_time, payload);
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
                read = self.conn.stream.read(&mut self.conn.buf) => {
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
