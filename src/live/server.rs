//! The live metrics' own thread: serves `/metrics` and makes the pushes.
//!
//! A thread with a current-thread runtime of its own, so a scrape or a slow
//! Pushgateway never takes a turn on the runtime that timestamps tokens. It
//! answers [`Control`] messages in order: pushes after each trial, then `Close`,
//! which makes the final push, lingers for one more scrape if asked, and stops
//! the listener before the thread reports back.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;

use super::push::Pusher;
use super::{Control, LiveMetrics};

/// OpenMetrics 1.0, what Prometheus asks for first.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Everything the thread needs.
pub(super) struct Worker {
    pub listener: Option<std::net::TcpListener>,
    pub metrics: Arc<LiveMetrics>,
    pub run_id: Arc<OnceLock<String>>,
    pub pusher: Option<Pusher>,
    pub control: mpsc::UnboundedReceiver<Control>,
    /// Cuts a linger short (Ctrl-C).
    pub abort: CancellationToken,
    /// Told once the listener is closed and the last push is done.
    pub done: oneshot::Sender<()>,
}

struct ScrapeState {
    metrics: Arc<LiveMetrics>,
    /// Set once the run is over: the next scrape ends the linger.
    closing: AtomicBool,
    scraped: Notify,
}

impl Worker {
    pub fn spawn(self) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("llm-bench-live".into())
            .spawn(move || {
                let done = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => {
                        let done = runtime.block_on(self.run());
                        // Dropping the runtime closes every socket it still holds.
                        drop(runtime);
                        done
                    }
                    Err(e) => {
                        eprintln!("warning: live metrics stopped: cannot start their runtime: {e}");
                        self.done
                    }
                };
                let _ = done.send(());
            })
            .map(|_| ())
    }

    async fn run(self) -> oneshot::Sender<()> {
        let Worker {
            listener,
            metrics,
            run_id,
            pusher,
            mut control,
            abort,
            done,
        } = self;
        let state = Arc::new(ScrapeState {
            metrics: Arc::clone(&metrics),
            closing: AtomicBool::new(false),
            scraped: Notify::new(),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let server = listener.and_then(|l| match serve(l, Arc::clone(&state), stopped) {
            Ok(task) => Some(task),
            Err(e) => {
                eprintln!("warning: live metrics are not served: {e}");
                None
            }
        });
        let push = |when: String| {
            let (pusher, metrics, run_id) = (&pusher, &metrics, &run_id);
            async move {
                if let (Some(pusher), Some(id)) = (pusher, run_id.get()) {
                    pusher.push(metrics, id, &when).await;
                }
            }
        };
        while let Some(message) = control.recv().await {
            match message {
                Control::Push(when) => push(when).await,
                Control::Close { linger } => {
                    push("at the end of the run".into()).await;
                    if server.is_some() && !linger.is_zero() {
                        state.closing.store(true, Ordering::SeqCst);
                        tokio::select! {
                            () = tokio::time::sleep(linger) => {}
                            () = state.scraped.notified() => {}
                            () = abort.cancelled() => {}
                        }
                    }
                    break;
                }
            }
        }
        if let Some(mut task) = server {
            let _ = stop.send(());
            // Open keep-alive connections get a moment to finish their response.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        done
    }
}

fn serve(
    listener: std::net::TcpListener,
    state: Arc<ScrapeState>,
    stopped: oneshot::Receiver<()>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "llm-bench serves its live metrics at /metrics\n",
            )
        })
        .with_state(state);
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            eprintln!("warning: live metrics stopped serving: {e}");
        }
    }))
}

async fn scrape(State(state): State<Arc<ScrapeState>>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut body = String::with_capacity(64 * 1024);
    let (content_type, encoded) = match Format::negotiate(accept) {
        Format::OpenMetrics => (
            OPENMETRICS_CONTENT_TYPE,
            state.metrics.encode_openmetrics(&mut body),
        ),
        Format::Text => (
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            state.metrics.encode_prometheus_text(&mut body),
        ),
    };
    if state.closing.load(Ordering::SeqCst) {
        state.scraped.notify_one();
    }
    match encoded {
        Ok(()) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be encoded\n",
        )
            .into_response(),
    }
}

/// Which exposition format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    /// The Prometheus text format 0.0.4.
    Text,
}

impl Format {
    /// OpenMetrics, unless the `Accept` header names `text/plain` and not
    /// OpenMetrics (an older scraper). Prometheus lists OpenMetrics first; curl
    /// sends `*/*`.
    pub fn negotiate(accept: &str) -> Format {
        if !accept.contains("application/openmetrics-text") && accept.contains("text/plain") {
            Format::Text
        } else {
            Format::OpenMetrics
        }
    }
}

/// `http://ADDR/metrics`, for messages.
pub fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}/metrics")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_openmetrics_unless_only_text_is_accepted() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(prometheus), Format::OpenMetrics);
        assert_eq!(Format::negotiate(""), Format::OpenMetrics);
        assert_eq!(Format::negotiate("*/*"), Format::OpenMetrics);
        assert_eq!(Format::negotiate("text/plain;version=0.0.4"), Format::Text);
    }
}
