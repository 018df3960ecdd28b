//! The byte stream under a connection: plain TCP, or TLS over TCP (rustls via
//! tokio-rustls), so `https://` takes the same lean path as `http://`: the same
//! pool, the same read buffer, the same timestamps, one TLS layer added.
//!
//! TLS is set up once per endpoint ([`TlsSetup`]): the web roots plus any CA file
//! the target names, ALPN `http/1.1`, SNI from the URL's host, the ring provider
//! reqwest already uses.

use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::client::trust::CaCert;

/// How to open TLS sessions to one server.
#[derive(Clone)]
pub struct TlsSetup {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsSetup {
    /// Trusts the web roots and `ca`; verifies the certificate against `host` (a
    /// DNS name or an IP address, as in the URL).
    pub fn new(host: &str, ca: Option<&CaCert>) -> Result<TlsSetup, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = ca {
            for cert in ca.certs() {
                roots.add(cert.clone()).map_err(|e| {
                    format!(
                        "{} holds a certificate that cannot be a trust anchor: {e}",
                        ca.path().display()
                    )
                })?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let server_name = ServerName::try_from(host.to_string())
            .map_err(|_| format!("`{host}` is not a host name TLS can verify"))?;
        Ok(TlsSetup {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }

    /// Runs the handshake on a connected socket.
    pub(super) async fn handshake(&self, tcp: TcpStream) -> io::Result<Stream> {
        let tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await?;
        Ok(Stream::Tls(Box::new(tls)))
    }
}

/// A connection's byte stream.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// Reads what is there into `buf`, waiting until something is. With `timed`,
    /// also how long the newest of those bytes waited in the kernel, where that is
    /// known (plain TCP on Linux: [`super::rx_time`]); it costs a `recvmsg` in
    /// place of a `read`, so it is asked for only until the first token.
    pub(super) async fn read_timed(
        &mut self,
        buf: &mut [u8],
        timed: bool,
    ) -> io::Result<(usize, Option<std::time::Duration>)> {
        use tokio::io::AsyncReadExt;
        match self {
            Stream::Plain(tcp) if timed => super::rx_time::recv(tcp, buf).await,
            Stream::Plain(tcp) => tcp.read(buf).await.map(|n| (n, None)),
            Stream::Tls(tls) => tls.read(buf).await.map(|n| (n, None)),
        }
    }

    /// The socket underneath.
    pub(super) fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref().0,
        }
    }

    /// Whether the server still holds this idle connection open: no end of
    /// stream, no reset, nothing sent that nobody asked for. Asks the kernel
    /// directly (without waiting), since the runtime's readiness may not have
    /// seen a close yet. Over TLS, what is waiting is read and handed to rustls:
    /// servers send session tickets after the handshake (harmless) and a
    /// `close_notify` before they close (the connection is done).
    pub(super) fn is_open(&mut self) -> bool {
        match self {
            Stream::Plain(tcp) => matches!(recv_now(tcp, &mut [0u8; 1], true), Recv::WouldBlock),
            Stream::Tls(tls) => tls_is_open(tls),
        }
    }
}

enum Recv {
    Bytes(usize),
    Closed,
    WouldBlock,
    Failed,
}

/// One `recv` that does not wait (`peek`: leaves the bytes in the socket).
fn recv_now(tcp: &TcpStream, buf: &mut [u8], peek: bool) -> Recv {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let flags = libc::MSG_DONTWAIT | if peek { libc::MSG_PEEK } else { 0 };
        // SAFETY: the descriptor is open for as long as `tcp` lives, and the
        // buffer is valid for `buf.len()` bytes.
        let n = unsafe { libc::recv(tcp.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
        match n {
            0 => Recv::Closed,
            n if n > 0 => Recv::Bytes(n.unsigned_abs()),
            _ if io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock => Recv::WouldBlock,
            _ => Recv::Failed,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (tcp, buf, peek);
        Recv::WouldBlock
    }
}

fn tls_is_open(tls: &mut TlsStream<TcpStream>) -> bool {
    let (tcp, session) = tls.get_mut();
    let mut buf = [0u8; 4096];
    loop {
        match recv_now(tcp, &mut buf, false) {
            Recv::WouldBlock => break,
            Recv::Closed | Recv::Failed => return false,
            Recv::Bytes(n) => {
                let mut records = &buf[..n];
                while !records.is_empty() {
                    if session.read_tls(&mut records).is_err()
                        || session.process_new_packets().is_err()
                    {
                        return false;
                    }
                }
            }
        }
    }
    // Nothing readable is what an idle, open connection shows; a close_notify
    // reads as the end, unasked-for data as bytes.
    matches!(
        session.reader().read(&mut [0u8; 1]),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock
    )
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
