//! Pushing the live metrics to a Prometheus Pushgateway, for CI jobs that end before
//! Prometheus would scrape them.
//!
//! Each push PUTs everything so far, in the Prometheus text format 0.0.4 (what
//! every Pushgateway takes), to the group `job="llm-bench", run_id=<run id>`: one
//! group per run, so parallel jobs never overwrite each other, and a later push of
//! the same run replaces its earlier one. A push that fails is retried a bounded
//! number of times, then reported as a warning: the benchmark's own results are
//! the files, and a monitoring system being down must not fail a run.

use std::time::Duration;

use super::options::PushTarget;
use super::LiveMetrics;

/// How often and how patiently a push is tried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    /// Per attempt, connecting included.
    pub timeout: Duration,
    /// Wait before the second attempt; doubled before each later one.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            timeout: Duration::from_secs(5),
            backoff: Duration::from_millis(250),
        }
    }
}

pub(super) struct Pusher {
    client: Option<reqwest::Client>,
    target: PushTarget,
    policy: RetryPolicy,
}

/// Why one attempt failed, and whether another could do better.
struct Failure {
    message: String,
    retry: bool,
}

impl Pusher {
    pub fn new(target: PushTarget, policy: RetryPolicy) -> Pusher {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .no_proxy()
            .build()
            .ok();
        Pusher {
            client,
            target,
            policy,
        }
    }

    /// Pushes the metrics as they are now; on failure prints one warning naming
    /// `when` ("after trial 2 of `chat`") and returns.
    pub async fn push(&self, metrics: &LiveMetrics, run_id: &str, when: &str) {
        if let Err(message) = self.try_push(metrics, run_id).await {
            eprintln!(
                "warning: could not push the live metrics {when} to the Pushgateway at {}: {message}; the run goes on (its results are in the results folder)",
                self.target.shown()
            );
        }
    }

    async fn try_push(&self, metrics: &LiveMetrics, run_id: &str) -> Result<(), String> {
        let client = self
            .client
            .as_ref()
            .ok_or("the HTTP client could not be built")?;
        let mut body = String::new();
        metrics
            .encode_prometheus_text(&mut body)
            .map_err(|_| "the metrics could not be encoded")?;
        let url = self.target.group_url(run_id);
        let mut wait = self.policy.backoff;
        let mut tried = 0;
        loop {
            tried += 1;
            let failure = match attempt(client, &url, &body).await {
                Ok(()) => return Ok(()),
                Err(f) => f,
            };
            if !failure.retry || tried >= self.policy.attempts {
                let attempts = if tried == 1 {
                    String::new()
                } else {
                    format!(" ({tried} attempts)")
                };
                return Err(format!("{}{attempts}", failure.message));
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
}

async fn attempt(client: &reqwest::Client, url: &reqwest::Url, body: &str) -> Result<(), Failure> {
    let response = client
        .put(url.clone())
        .header(
            reqwest::header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| Failure {
            message: causes(e),
            retry: true,
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // The Pushgateway says in its body why it refused a push; one line of it.
    let text = response.text().await.unwrap_or_default();
    let reason: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    let message = match reason.is_empty() {
        true => format!("HTTP {}", status.as_u16()),
        false => format!("HTTP {}: {reason}", status.as_u16()),
    };
    Err(Failure {
        message,
        retry: status.is_server_error() || status.as_u16() == 429,
    })
}

/// The error and its causes ("error sending request: connection refused"), without
/// the URL, which may hold credentials.
fn causes(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
