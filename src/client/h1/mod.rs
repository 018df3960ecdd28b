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
//! client's (`tests::timing::a_server_with_nagle_on_is_not_stalled_by_delayed_acks`).
//!
//! Requests are never replayed behind the caller's back: a pooled connection is
//! checked before use, and a request is sent again only when the kernel took none of
//! its bytes (see [`Attempts`]).
//!
//! Layout: this file holds the endpoint, a connection and sending a request;
//! `pool` the idle connections and opening new ones, `error` what can fail
//! before a response head, `head` and `body` reading the response.

mod body;
mod error;
pub mod framing;
mod head;
mod pool;
mod rx_time;
pub mod stream;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use self::body::{Body, BodyError};
use self::error::is_unanswered_reuse;
pub use self::error::SendError;
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
}
