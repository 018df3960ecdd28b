//! Live metrics: the benchmark as Prometheus sees it, while it runs.
//!
//! llm-bench's results are files, complete once a trial ends. Teams that run
//! Prometheus and Grafana also want to watch the load generator on the dashboard
//! where the server's (`vllm:`) and the GPUs' (DCGM) series already are, and to
//! keep CI runs in the Prometheus they have. `run --metrics-listen ADDR` serves
//! the client's own metrics in the OpenMetrics text format while the run lasts;
//! `run --pushgateway URL` pushes them after each trial and at the end.
//!
//! The values come from where they already are, never from the token path
//! (`recorder`): finished rows on the sink thread, the runner's in-flight count,
//! the watchdog's lag. Scrapes and pushes are handled on a thread of their own
//! (`server`). Nothing here can fail a run once it has started: a failed push is
//! a warning. Only a listener that cannot bind stops it, before any request.

pub mod buckets;
mod metrics;
mod options;
mod push;
mod recorder;
mod server;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use metrics::{LiveMetrics, ScenarioLabels, TrialLabels, PREFIX};
pub use options::{LiveOptions, PushTarget};
pub use push::RetryPolicy;
pub use recorder::{Fate, LiveRun, Recorder, RunLabels, TrialProbe};
pub use server::{endpoint, Format, OPENMETRICS_CONTENT_TYPE};

/// What the live thread is asked to do, in order.
#[derive(Debug)]
pub(crate) enum Control {
    /// Push `body`, the metrics as they were when the trial ended (encoded then,
    /// so a push that waits for the live thread never carries later figures);
    /// `when` says when, for a warning.
    Push { when: String, body: String },
    /// The run is over: push once more, linger if asked, stop.
    Close { linger: Duration },
}

/// What the feeders and the live thread share.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    metrics: Arc<LiveMetrics>,
    /// The Pushgateway group's key; set when the run has an id.
    run_id: Arc<OnceLock<String>>,
    control: mpsc::UnboundedSender<Control>,
}

impl Shared {
    fn send(&self, message: Control) {
        // The thread only goes away after `Close`.
        let _ = self.control.send(message);
    }
}

/// Why the live metrics could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("--metrics-listen {addr}: cannot listen there: {source}{hint}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("cannot start the live metrics thread: {0}")]
    Thread(std::io::Error),
}

impl LiveError {
    /// A mistake in the flags (exit 2), not a failure of the run.
    pub fn is_usage(&self) -> bool {
        matches!(self, LiveError::Bind { .. })
    }
}

/// The running live metrics of one `llm-bench run`.
#[derive(Debug)]
pub struct Live {
    shared: Shared,
    listen: Option<SocketAddr>,
    linger: Duration,
    abort: CancellationToken,
    done: oneshot::Receiver<()>,
}

impl Live {
    /// Binds the listener (before anything is sent, so a port in use stops the run
    /// at once) and starts the live thread; `None` when neither flag was given.
    pub fn start(options: &LiveOptions, retry: RetryPolicy) -> Result<Option<Live>, LiveError> {
        if !options.is_enabled() {
            return Ok(None);
        }
        let listener = options
            .listen
            .map(|addr| {
                std::net::TcpListener::bind(addr).map_err(|source| LiveError::Bind {
                    addr,
                    hint: bind_hint(&source),
                    source,
                })
            })
            .transpose()?;
        let listen = listener
            .as_ref()
            .map(|l| l.local_addr().map_err(LiveError::Thread))
            .transpose()?;
        let (control, receiver) = mpsc::unbounded_channel();
        let (done_tx, done) = oneshot::channel();
        let shared = Shared {
            metrics: Arc::new(LiveMetrics::new()),
            run_id: Arc::default(),
            control,
        };
        let abort = CancellationToken::new();
        server::Worker {
            listener,
            metrics: Arc::clone(&shared.metrics),
            run_id: Arc::clone(&shared.run_id),
            pusher: options
                .pushgateway
                .clone()
                .map(|target| push::Pusher::new(target, retry)),
            control: receiver,
            abort: abort.clone(),
            done: done_tx,
        }
        .spawn()
        .map_err(LiveError::Thread)?;
        if let Some(addr) = listen {
            eprintln!("live metrics: {}", endpoint(addr));
        }
        Ok(Some(Live {
            shared,
            listen,
            linger: options.linger,
            abort,
            done,
        }))
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen
    }

    /// The run's metrics, labelled with its identity.
    pub fn run(&self, labels: RunLabels) -> LiveRun {
        let _ = self.shared.run_id.set(labels.run_id.clone());
        LiveRun {
            shared: self.shared.clone(),
            labels,
        }
    }

    /// Ends the live metrics: the final push, then, with `--metrics-linger`, the
    /// final values stay up until the next scrape (or the linger time, Ctrl-C or
    /// SIGTERM).
    /// Returns once the listener is closed.
    pub async fn close(self) {
        if self.listen.is_some() && !self.linger.is_zero() {
            eprintln!(
                "live metrics: serving the final values until the next scrape (at most {:?}; Ctrl-C stops now)",
                self.linger
            );
        }
        self.shared.send(Control::Close {
            linger: self.linger,
        });
        let mut done = self.done;
        tokio::select! {
            _ = &mut done => {}
            () = stop_signal() => {
                self.abort.cancel();
                let _ = done.await;
            }
        }
    }
}

/// Ctrl-C or SIGTERM: the run's own handlers are gone by the time it lingers, and
/// a handled signal no longer ends the process by itself.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn bind_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match e.kind() {
        AddrInUse => "; another process (an earlier llm-bench run, or an exporter) is using that port: pass another port, or port 0 for any free one",
        AddrNotAvailable => "; that address is not one of this machine's: use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
        PermissionDenied => "; ports below 1024 need privileges: pick one above, e.g. 9464",
        _ => "",
    }
}
