//! Starting, inspecting and stopping a simulated server.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::handlers;
use super::pacer::Pacer;
use super::request_log::RequestLog;
use super::state::{Shared, SimStats};
use super::tls::{self, SimTls};
use crate::config::SimConfig;

/// How long `shutdown` lets in-flight responses finish before cutting them.
const GRACE: Duration = Duration::from_secs(5);
/// How long cut streams get to notice (each checks at its next chunk).
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A running simulated server. Dropping it also starts a graceful shutdown,
/// but only [`SimServer::shutdown`] waits for it.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    /// Serves HTTPS (`serve-sim --tls`).
    tls: bool,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl SimServer {
    /// Binds `bind` (port 0 picks a free port) and serves in a tokio task.
    /// The config should have passed [`SimConfig::validate`].
    pub async fn start(config: SimConfig, bind: SocketAddr) -> io::Result<SimServer> {
        SimServer::start_logged(config, bind, None).await
    }

    /// [`SimServer::start`], also writing one line per request to `request_log`
    /// (created or truncated): see `llm-bench serve-sim --request-log`.
    pub async fn start_logged(
        config: SimConfig,
        bind: SocketAddr,
        request_log: Option<&Path>,
    ) -> io::Result<SimServer> {
        SimServer::start_with(config, bind, request_log, None).await
    }

    /// [`SimServer::start_logged`], over HTTPS when `tls` is given.
    pub async fn start_with(
        config: SimConfig,
        bind: SocketAddr,
        request_log: Option<&Path>,
        tls: Option<SimTls>,
    ) -> io::Result<SimServer> {
        let request_log = request_log.map(RequestLog::create).transpose()?;
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (pacer, pacer_task) = Pacer::start();
        // Ends by itself once the server and its last response are gone.
        tokio::spawn(pacer_task);
        let shared = Arc::new(Shared::new(config, request_log, pacer));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = handlers::router(Arc::clone(&shared));
        if let Some(tls) = tls {
            let task = tokio::spawn(async move { tls::serve(listener, app, &tls, stopped).await });
            return Ok(SimServer {
                addr,
                tls: true,
                shared,
                stop: Some(stop),
                task,
            });
        }
        let server = axum::serve(listener, app)
            // Without TCP_NODELAY, Nagle's algorithm holds small SSE chunks
            // back while an ACK is outstanding, adding up to tens of ms.
            .tcp_nodelay(true)
            // A dropped sender resolves too, so dropping the SimServer stops it.
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
        let task = tokio::spawn(async move { server.await });
        Ok(SimServer {
            addr,
            tls: false,
            shared,
            stop: Some(stop),
            task,
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for OpenAI clients, e.g. `http://127.0.0.1:PORT/v1` (`https://`
    /// when serving TLS). A
    /// wildcard bind address is replaced by loopback, which clients can reach.
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/v1", SocketAddr::new(ip, self.addr.port()))
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> SimStats {
        let mut stats = self.shared.counters.snapshot();
        if let Some(cache) = &self.shared.prefix_cache {
            stats.prefix_cache_queries = cache.queries.load(std::sync::atomic::Ordering::Relaxed);
            stats.prefix_cache_hits = cache.hits.load(std::sync::atomic::Ordering::Relaxed);
        }
        stats
    }

    /// Stops accepting connections, lets responses in flight finish for up to
    /// 5 s, then cuts the rest at their next chunk.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(GRACE, &mut self.task).await.is_ok() {
            return;
        }
        self.shared.close();
        if tokio::time::timeout(CLOSE_WAIT, &mut self.task)
            .await
            .is_err()
        {
            // Something still holds a connection open (e.g. a request still in
            // its time to first token); give up rather than hang the caller.
            self.task.abort();
        }
    }
}

/// Runs a server until Ctrl-C, for `llm-bench serve-sim`.
pub async fn serve_until_ctrl_c(
    config: SimConfig,
    bind: SocketAddr,
    request_log: Option<&Path>,
    tls: Option<SimTls>,
) -> io::Result<()> {
    let server = SimServer::start_with(config, bind, request_log, tls).await?;
    eprintln!(
        "simulated OpenAI-compatible server listening on {}",
        server.base_url()
    );
    let signal = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    signal
}
