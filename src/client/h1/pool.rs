//! The connections an [`Endpoint`] keeps and opens: the idle pool (a pooled
//! connection is checked before use) and new connections (DNS once, connect and,
//! for `https://`, the TLS handshake within the connect timeout).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::stream::{Stream, TlsSetup};
use super::{rx_time, Conn, Endpoint, SendError, READ_BUFFER};

/// A pooled connection found closed within this long of its response taught us
/// that the server closes after each response (a keep-alive timeout is longer).
const CLOSED_SOON_AFTER: Duration = Duration::from_secs(1);

impl Endpoint {
    /// A pooled connection the server has not closed. Servers close idle
    /// connections (a keep-alive timeout; llama.cpp's server after every streamed
    /// response): sending on one would fail after the request left, when it can no
    /// longer be sent again safely.
    pub(super) fn take_open_idle(&self) -> Option<Conn> {
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

    pub(super) async fn connect(&self) -> Result<Conn, SendError> {
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

impl Conn {
    /// Whether the server still holds this idle connection open: a request sent
    /// on one it closed would fail after it left, when it can no longer be sent
    /// again safely.
    fn is_open(&mut self) -> bool {
        self.stream.is_open()
    }
}
