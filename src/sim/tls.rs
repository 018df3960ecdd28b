//! HTTPS for the simulated server (`serve-sim --tls`), so the client's TLS path can
//! be measured and tested against the same timing model as plain HTTP.
//!
//! The certificate is made at start (rcgen, self-signed, names `localhost`,
//! `127.0.0.1`, `::1` and the bind address), so no key ever ships in the
//! repository; its PEM is what a client must be told to trust (`--ca-cert`,
//! targets.yaml `ca_cert`). TLS is rustls on the ring provider that reqwest and
//! octocrab already pull in, and each connection is served by hyper directly
//! (axum's `serve` takes only plain TCP listeners), HTTP/1.1 only, as the plain
//! server is.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// How long a client may take over its TLS handshake before the connection is
/// dropped (a stuck handshake must not hold a task forever).
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// A self-signed certificate and the server configuration that presents it.
#[derive(Clone)]
pub struct SimTls {
    config: Arc<rustls::ServerConfig>,
    cert_pem: String,
}

impl std::fmt::Debug for SimTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs; the certificate is public but long.
        f.write_str("SimTls { .. }")
    }
}

/// Why a certificate could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot generate the simulated server's self-signed certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot set up TLS for the simulated server: {0}")]
    Config(#[from] rustls::Error),
}

impl SimTls {
    /// A fresh self-signed certificate for loopback, plus `bind` when it is a
    /// specific address (a client on another host connects to it by that address).
    pub fn self_signed(bind: IpAddr) -> Result<SimTls, TlsSetupError> {
        let mut names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        if !bind.is_unspecified() && !bind.is_loopback() {
            names.push(bind.to_string());
        }
        let certified = rcgen::generate_simple_self_signed(names)?;
        let cert_pem = certified.cert.pem();
        let key =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![certified.cert.der().clone()];
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(SimTls {
            config: Arc::new(config),
            cert_pem,
        })
    }

    /// The certificate, PEM-encoded: the file a client trusts as its CA.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }
}

/// Accepts TLS connections on `listener` and serves `app` on each until `stop`
/// resolves (or its sender is dropped); then lets the open connections finish
/// their responses, as axum's graceful shutdown does for plain HTTP.
pub(super) async fn serve(
    listener: TcpListener,
    app: axum::Router,
    tls: &SimTls,
    stop: oneshot::Receiver<()>,
) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(Arc::clone(&tls.config));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                // Out of descriptors and the like: back off briefly, keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Without TCP_NODELAY, Nagle's algorithm holds small SSE chunks back.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(tcp)).await
            else {
                // A client that does not trust the certificate aborts here.
                return;
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service);
            let _ = watcher.watch(connection).await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
