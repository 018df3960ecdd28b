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
//! the body framing is [`framing`]. `https://` adds rustls between the socket and
//! the same code ([`stream`]); reqwest serves only URLs with credentials in them.
//!
//! Each read of a streamed token makes the kernel send an ACK, about a third of the
//! client's CPU at 1,024 streams. Delaying ACKs (`TCP_QUICKACK` 0) would halve that,
//! and is not done: a server that leaves Nagle's algorithm on then holds every other
//! token until the delayed-ACK timer fires, ~40 ms, and the measured ITLs become the
//! client's (`tests::a_server_with_nagle_on_is_not_stalled_by_delayed_acks`).
//!
//! Requests are never replayed behind the caller's back: a pooled connection is
//! checked before use, and a request is sent again only when the kernel took none of
//! its bytes (see [`Attempts`]).

mod body;
pub mod framing;
mod head;
mod rx_time;
pub mod stream;
#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

pub use self::body::{Body, BodyError};
pub use self::head::{parse_head, Head};
use self::stream::Stream;
pub use self::stream::TlsSetup;

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
    /// The server closes a connection right after its response, without saying
    /// `Connection: close` (llama.cpp's server does, after every streamed one).
    /// Learnt from the first such close; from then on no connection is pooled, so
    /// no request races the server's close (a request sent on a connection whose
    /// close is still on its way fails, and cannot be sent again safely).
    closes_after_response: AtomicBool,
    /// `https://`: each new connection runs a TLS handshake first.
    tls: Option<TlsSetup>,
}

/// A pooled connection found closed within this long of its response taught us
/// that the server closes after each response (a keep-alive timeout is longer).
const CLOSED_SOON_AFTER: Duration = Duration::from_secs(1);

/// Bytes that must not reach a log.
struct SecretBytes(Vec<u8>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// One open connection and its read buffer.
pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    /// Came from the pool: a failure before the kernel took any byte of the
    /// request means the server closed it, and the request goes out on a new one.
    reused: bool,
    /// When its last response ended (it went back to the pool).
    idle_since: Option<Instant>,
    /// Whether reads ask the kernel how long their bytes waited: from each
    /// request's send until its first token.
    time_reads: bool,
    /// How long the newest bytes of the last read waited in the kernel, where
    /// known ([`rx_time`]).
    read_wait: Option<Duration>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.stream.tcp().peer_addr().ok())
            .field("reused", &self.reused)
            .finish_non_exhaustive()
    }
}

/// A failure on the way to a response head.
#[derive(Debug)]
pub enum SendError {
    Connect(io::Error),
    /// Writing the request failed after the kernel took `written` of its `total`
    /// bytes.
    Write {
        error: io::Error,
        written: usize,
        total: usize,
    },
    /// No progress for the stall limit while sending the request or waiting for
    /// the head.
    Stalled {
        limit: Duration,
        waiting_for: &'static str,
    },
    /// The server closed the connection after the request was sent, having sent
    /// `head_bytes` of a head.
    Closed {
        reused: bool,
        head_bytes: usize,
    },
    /// The connection broke after the request was sent, before the head was
    /// complete.
    Io {
        error: io::Error,
        reused: bool,
        head_bytes: usize,
    },
    /// The server's answer is not HTTP/1.x.
    Protocol(String),
    /// The response head is longer than `limit` bytes.
    HeadTooLarge {
        limit: usize,
    },
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Sent whole, then nothing back on a connection that served a response
        // before: the server's keep-alive may have closed it, or it may have read
        // the request and died. Either way the request is not sent again.
        let unanswered = "the request may have reached the server, so it was not sent again";
        match self {
            SendError::Connect(e) => write!(f, "connect: {e}"),
            SendError::Write {
                error,
                written,
                total,
            } => write!(
                f,
                "the connection failed while sending the request ({written} of {total} bytes \
                 sent): {error}"
            ),
            SendError::Stalled { limit, waiting_for } => write!(
                f,
                "no progress for {limit:?} (the stall timeout) waiting for {waiting_for}; \
                 if the server queues requests for longer before it answers, raise \
                 --stall-timeout"
            ),
            SendError::Closed {
                reused: true,
                head_bytes: 0,
            } => write!(
                f,
                "the server closed a reused keep-alive connection without answering; \
                 {unanswered}"
            ),
            SendError::Closed { head_bytes: 0, .. } => {
                f.write_str("the server closed the connection without answering")
            }
            SendError::Closed { head_bytes, .. } => write!(
                f,
                "the server closed the connection inside the response head (after \
                 {head_bytes} bytes)"
            ),
            SendError::Io {
                error,
                reused: true,
                head_bytes: 0,
            } => write!(
                f,
                "a reused keep-alive connection failed before any answer ({error}); \
                 {unanswered}"
            ),
            SendError::Io { error, .. } => {
                write!(f, "connection error before the response: {error}")
            }
            SendError::Protocol(why) => write!(f, "not an HTTP/1.1 response: {why}"),
            SendError::HeadTooLarge { limit } => {
                write!(f, "the response head is longer than {} KiB", limit / 1024)
            }
        }
    }
}

/// How a request was sent: filled in by [`Endpoint::send`] as it goes, so a
/// caller that gives up on it (the request timeout) still knows.
#[derive(Debug, Clone, Default)]
pub struct Attempts {
    /// Attempts started: 2 when a pooled connection refused the first one's first
    /// byte and a new connection took the request.
    pub count: u32,
    /// Why the first attempt failed, when there was a second.
    pub first_error: Option<String>,
    /// When the last attempt started (before connecting, if it did).
    pub last_start: Option<Instant>,
    /// How long opening the last attempt's connection took; `None` when it came
    /// from the pool (opened by an earlier request, or before the trial).
    pub opened_in: Option<Duration>,
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
            closes_after_response: AtomicBool::new(false),
            tls: None,
        }
    }

    /// This endpoint over TLS (`https://`): connections shake hands first, and the
    /// `Host` header leaves out the default port 443 instead of 80.
    pub fn over_tls(mut self, tls: TlsSetup) -> Endpoint {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let (with_port, without) = (
            format!("\r\nHost: {host}:{}\r\n", self.port),
            format!("\r\nHost: {host}\r\n"),
        );
        let head = String::from_utf8_lossy(&self.head.0).into_owned();
        let head = match self.port {
            443 => head.replacen(&with_port, &without, 1),
            80 => head.replacen(&without, &with_port, 1),
            _ => head,
        };
        self.head = SecretBytes(head.into_bytes());
        self.tls = Some(tls);
        self
    }

    /// Sends `body` and waits for the response head, at most `stall` without
    /// progress. Pooled connections the server has closed are skipped; a pooled
    /// connection that fails before taking a single byte of the request is replaced
    /// by a new one, once (recorded in `attempts`). A request any byte of which may
    /// have reached the server is never sent again.
    pub async fn send(
        &self,
        request_id: Option<&str>,
        body: &[u8],
        stall: Duration,
        attempts: &mut Attempts,
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
        attempts.count = 1;
        attempts.last_start = Some(Instant::now());
        let conn = match self.take_open_idle() {
            Some(conn) => conn,
            None => self.open(attempts).await?,
        };
        match conn.exchange(&request, stall).await {
            Ok(sent) => Ok(sent),
            Err(failed) if is_unanswered_reuse(&failed.error) => {
                self.closes_after_response.store(true, Ordering::Relaxed);
                if failed.may_resend {
                    attempts.first_error = Some(failed.error.to_string());
                    attempts.count = 2;
                    attempts.last_start = Some(Instant::now());
                    let conn = self.open(attempts).await?;
                    return conn.exchange(&request, stall).await.map_err(|f| f.error);
                }
                Err(failed.error)
            }
            Err(failed) if failed.may_resend => {
                attempts.first_error = Some(failed.error.to_string());
                attempts.count = 2;
                attempts.last_start = Some(Instant::now());
                let conn = self.open(attempts).await?;
                conn.exchange(&request, stall).await.map_err(|f| f.error)
            }
            Err(failed) => Err(failed.error),
        }
    }

    /// A new connection for a request, timed.
    async fn open(&self, attempts: &mut Attempts) -> Result<Conn, SendError> {
        let start = Instant::now();
        let conn = self.connect().await?;
        attempts.opened_in = Some(start.elapsed());
        Ok(conn)
    }

    /// A pooled connection the server has not closed. Servers close idle
    /// connections (a keep-alive timeout; llama.cpp's server after every streamed
    /// response): sending on one would fail after the request left, when it can no
    /// longer be sent again safely.
    fn take_open_idle(&self) -> Option<Conn> {
        while let Some(mut conn) = self.take_idle() {
            if conn.is_open() {
                return Some(conn);
            }
            if conn
                .idle_since
                .is_some_and(|since| since.elapsed() < CLOSED_SOON_AFTER)
            {
                self.closes_after_response.store(true, Ordering::Relaxed);
            }
        }
        None
    }

    /// Whether this server was seen closing connections right after responses.
    pub fn closes_after_response(&self) -> bool {
        self.closes_after_response.load(Ordering::Relaxed)
    }

    /// Returns a connection whose response was read to its end, for the next request.
    pub fn put_back(&self, mut conn: Conn) {
        if self.closes_after_response() {
            return;
        }
        conn.reused = true;
        conn.idle_since = Some(Instant::now());
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    /// Connections idle in the pool.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
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
                Ok(Ok(tcp)) => {
                    tcp.set_nodelay(true).map_err(SendError::Connect)?;
                    let stream = match &self.tls {
                        None => {
                            rx_time::enable(&tcp);
                            Stream::Plain(tcp)
                        }
                        Some(tls) => self.handshake(tls, tcp).await?,
                    };
                    return Ok(Conn {
                        stream,
                        buf: vec![0; READ_BUFFER],
                        reused: false,
                        idle_since: None,
                        time_reads: true,
                        read_wait: None,
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

impl Endpoint {
    /// The TLS handshake on a new connection, within the connect timeout.
    async fn handshake(&self, tls: &TlsSetup, tcp: TcpStream) -> Result<Stream, SendError> {
        let limit = self.connect_timeout;
        match tokio::time::timeout(limit, tls.handshake(tcp)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(SendError::Connect(io::Error::new(
                e.kind(),
                format!(
                    "TLS handshake with {}: {e}; if the server's certificate is self-signed \
                     or from a private CA, trust it with --ca-cert FILE (targets.yaml \
                     `ca_cert`)",
                    self.host
                ),
            ))),
            Err(_) => Err(SendError::Connect(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no TLS handshake within {limit:?} (the connect timeout)"),
            ))),
        }
    }
}

/// A request sent whole (or not at all) on a pooled connection that the server
/// then closed without a byte of answer: how a close after each response shows
/// when the request raced it.
fn is_unanswered_reuse(error: &SendError) -> bool {
    matches!(
        error,
        SendError::Closed {
            reused: true,
            head_bytes: 0
        } | SendError::Io {
            reused: true,
            head_bytes: 0,
            ..
        }
    )
}

impl Conn {
    /// Whether the server still holds this idle connection open: a request sent
    /// on one it closed would fail after it left, when it can no longer be sent
    /// again safely.
    fn is_open(&mut self) -> bool {
        self.stream.is_open()
    }
}
