//! Sends one request and timestamps everything that comes back.
//!
//! Each response chunk is timestamped the moment it is read, before any parsing, and
//! parsed in place without building owned structures, so the client adds as little
//! as possible to what it measures. Every failure becomes an [`ErrorKind`] with a
//! short reason; nothing here panics on what a server sends.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;

use super::chunk::{parse_chunk, ChunkInfo};
use super::request::Api;
use super::sse::{SseEvent, SseParser};
use crate::record::{ErrorKind, Outcome, RequestTiming};

/// Longest excerpt of a server's error body kept in a record.
const ERROR_EXCERPT_CHARS: usize = 300;

/// How to reach the endpoint.
#[derive(Clone)]
pub struct ClientOptions {
    /// Base URL, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api: Api,
    /// Sent as `Authorization: Bearer …`; never printed.
    pub api_key: Option<String>,
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    /// Limit for a whole request.
    pub request_timeout: Duration,
    /// Limit for the gap between two reads of a response.
    pub stall_timeout: Duration,
    /// Expected peak concurrency: sizes the connection pool.
    pub max_connections: usize,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &self.base_url)
            .field("api", &self.api)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("headers", &self.headers.len())
            .finish_non_exhaustive()
    }
}

/// A cheap-to-clone handle; all requests share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    url: reqwest::Url,
    options: std::sync::Arc<ClientOptions>,
}

impl Client {
    pub fn new(options: ClientOptions) -> anyhow::Result<Client> {
        let base = options.base_url.trim_end_matches('/');
        let url = reqwest::Url::parse(&format!("{base}/{}", options.api.path()))
            .map_err(|e| anyhow::anyhow!("invalid base URL `{base}`: {e}"))?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = &options.api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                anyhow::anyhow!("the API key contains characters not allowed in an HTTP header")
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        for (name, value) in &options.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| anyhow::anyhow!("invalid HTTP header name `{name}`"))?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                anyhow::anyhow!("the value of header `{name}` is not a valid HTTP header value")
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(options.connect_timeout)
            .pool_max_idle_per_host(options.max_connections.max(1))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .http1_only()
            .no_proxy()
            .build()?;
        Ok(Client {
            http,
            url,
            options: std::sync::Arc::new(options),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.options.base_url
    }

    /// Sends `body` now; `scheduled` is when it should have been sent.
    pub async fn send(&self, body: Vec<u8>, scheduled: Instant, stream: bool) -> Outcome {
        let sent = Instant::now();
        let mut exchange = Exchange::new(RequestTiming::new(scheduled, sent));
        let work = exchange.run(self, body, stream);
        if tokio::time::timeout(self.options.request_timeout, work)
            .await
            .is_err()
        {
            exchange.fail(
                ErrorKind::Timeout,
                format!(
                    "no complete response within the request timeout ({:?})",
                    self.options.request_timeout
                ),
            );
        }
        exchange.finish()
    }
}

/// The state of one request while it is in flight.
struct Exchange {
    timing: RequestTiming,
    status: Option<u16>,
    error: Option<(ErrorKind, String)>,
    usage_prompt: Option<u64>,
    usage_output: Option<u64>,
}

impl Exchange {
    fn new(timing: RequestTiming) -> Self {
        Exchange {
            timing,
            status: None,
            error: None,
            usage_prompt: None,
            usage_output: None,
        }
    }

    /// Records the first failure only: later ones are consequences of it.
    fn fail(&mut self, kind: ErrorKind, message: String) {
        if self.error.is_none() {
            self.error = Some((kind, message));
        }
    }

    fn finish(mut self) -> Outcome {
        self.timing.end = Instant::now();
        if self.error.is_none() && self.timing.content_chunks.is_empty() {
            self.fail(
                ErrorKind::EmptyResponse,
                "the response completed without any content token".into(),
            );
        }
        Outcome {
            timing: self.timing,
            status: self.status,
            error: self.error,
            usage_prompt_tokens: self.usage_prompt,
            usage_output_tokens: self.usage_output,
        }
    }

    async fn run(&mut self, client: &Client, body: Vec<u8>, stream: bool) {
        let response = match client.http.post(client.url.clone()).body(body).send().await {
            Ok(r) => r,
            Err(e) => return self.fail(classify_send_error(&e), describe(e)),
        };
        self.timing.headers = Some(Instant::now());
        let status = response.status();
        self.status = Some(status.as_u16());
        if !status.is_success() {
            let excerpt = read_excerpt(response, client.options.stall_timeout).await;
            return self.fail(
                ErrorKind::from_status(status.as_u16()),
                status_message(status, &excerpt),
            );
        }
        if stream {
            self.read_stream(response, client.options.stall_timeout)
                .await;
        } else {
            self.read_whole(response, client.options.stall_timeout)
                .await;
        }
    }

    async fn read_stream(&mut self, mut response: reqwest::Response, stall: Duration) {
        let mut parser = SseParser::new();
        let mut done = false;
        while !done {
            let bytes = match tokio::time::timeout(stall, response.chunk()).await {
                Err(_) => {
                    return self.fail(
                        ErrorKind::Timeout,
                        format!("the stream stalled: no data for {stall:?}"),
                    )
                }
                Ok(Err(e)) => return self.fail(ErrorKind::StreamReset, describe(e)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(bytes))) => bytes,
            };
            let now = Instant::now();
            self.timing.first_byte.get_or_insert(now);
            let fed = parser.feed(&bytes, |event| {
                if !done {
                    done = self.on_event(event, now);
                }
            });
            if let Err(e) = fed {
                return self.fail(
                    ErrorKind::MalformedEvent,
                    format!("broken event stream: {e}"),
                );
            }
        }
        if !done {
            // Servers may close without `data: [DONE]`; that is fine if every event
            // was complete.
            let now = Instant::now();
            let finished = parser.finish(|event| {
                self.on_event(event, now);
            });
            if let Err(e) = finished {
                self.fail(
                    ErrorKind::StreamReset,
                    format!("the stream ended mid-event: {e}"),
                );
            }
        }
    }

    /// Handles one SSE event; returns true at the end of the stream.
    fn on_event(&mut self, event: SseEvent<'_>, now: Instant) -> bool {
        match event {
            SseEvent::Done => true,
            SseEvent::Error(data) => {
                self.fail(
                    ErrorKind::StreamError,
                    format!("the server sent an error event: {}", excerpt(data)),
                );
                true
            }
            SseEvent::Data(data) => match parse_chunk(data) {
                Ok(chunk) => self.on_chunk(&chunk, now),
                Err(e) => {
                    self.fail(ErrorKind::MalformedEvent, e.to_string());
                    true
                }
            },
        }
    }

    fn on_chunk(&mut self, chunk: &ChunkInfo<'_>, now: Instant) -> bool {
        if let Some(message) = &chunk.error {
            self.fail(
                ErrorKind::StreamError,
                format!(
                    "the server reported an error in the stream: {}",
                    excerpt(message)
                ),
            );
            return true;
        }
        if chunk.has_reasoning {
            self.timing.first_reasoning.get_or_insert(now);
        }
        if chunk.content_bytes > 0 {
            self.timing.content_chunks.push(now);
        }
        if let Some(usage) = &chunk.usage {
            self.usage_prompt = usage.prompt_tokens.or(self.usage_prompt);
            self.usage_output = usage.completion_tokens.or(self.usage_output);
        }
        false
    }

    async fn read_whole(&mut self, response: reqwest::Response, stall: Duration) {
        let body = match tokio::time::timeout(stall, response.bytes()).await {
            Err(_) => {
                return self.fail(
                    ErrorKind::Timeout,
                    format!("no complete response body within {stall:?}"),
                )
            }
            Ok(Err(e)) => return self.fail(ErrorKind::StreamReset, describe(e)),
            Ok(Ok(body)) => body,
        };
        let now = Instant::now();
        self.timing.first_byte = Some(now);
        let text = match std::str::from_utf8(&body) {
            Ok(t) => t,
            Err(_) => {
                return self.fail(
                    ErrorKind::MalformedEvent,
                    "the response body is not UTF-8".into(),
                )
            }
        };
        match parse_chunk(text) {
            Ok(chunk) => {
                // A whole response counts as one chunk: TTFT equals E2E.
                self.on_chunk(&chunk, now);
            }
            Err(e) => self.fail(ErrorKind::MalformedEvent, e.to_string()),
        }
    }
}

fn classify_send_error(e: &reqwest::Error) -> ErrorKind {
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else {
        ErrorKind::StreamReset
    }
}

/// reqwest's error with its source chain, without the URL (which may carry
/// credentials in its userinfo).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn read_excerpt(mut response: reqwest::Response, stall: Duration) -> String {
    let mut buf = Vec::new();
    while buf.len() < 4096 {
        match tokio::time::timeout(stall, response.chunk()).await {
            Ok(Ok(Some(b))) => buf.extend_from_slice(&b),
            _ => break,
        }
    }
    excerpt(&String::from_utf8_lossy(&buf))
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(ERROR_EXCERPT_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn status_message(status: StatusCode, body: &str) -> String {
    let code = status.as_u16();
    let hint = match code {
        400 | 422 => " (the server rejected the request body: if it names a field such as `ignore_eos`, remove it from the model's `extra_body` or drop --ignore-eos)",
        401 | 403 => " (check the API key: targets.yaml `api_key`, OPENAI_API_KEY or --api-key-env)",
        404 => " (check the base URL: it usually ends in /v1)",
        429 => " (the server is rate limiting: lower the load)",
        _ => "",
    };
    if body.is_empty() {
        format!("HTTP {code}{hint}")
    } else {
        format!("HTTP {code}{hint}: {body}")
    }
}
