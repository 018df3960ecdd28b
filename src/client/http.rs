//! Sends one request and timestamps everything that comes back.
//!
//! Each response chunk is timestamped the moment it is read, before any parsing, and
//! parsed in place without building owned structures, so the client adds as little
//! as possible to what it measures. Every failure becomes an [`ErrorKind`] with a
//! short reason; nothing here panics on what a server sends.
//!
//! Two transports feed the same parsing: plain `http://` endpoints (a benchmark
//! runner next to its server, the case that must not distort the measurement) go
//! through the lean HTTP/1.1 client in [`super::h1`]; `https://` endpoints and URLs
//! with credentials go through reqwest (rustls).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use super::chunk::{parse_chunk, ChunkInfo};
use super::h1::{self, BodyError, Endpoint, SendError};
use super::request::Api;
use super::sse::{SseEvent, SseParser};
use crate::record::{ErrorKind, Outcome, RequestTiming};
use crate::status_hint::status_message;

/// Names each request so it can be found in the server's logs (vLLM, SGLang and most
/// proxies log or echo it).
const REQUEST_ID_HEADER: &str = "X-Request-Id";

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
    transport: Transport,
    options: Arc<ClientOptions>,
}

#[derive(Debug, Clone)]
enum Transport {
    /// `http://`: the lean HTTP/1.1 client.
    Plain(Arc<Endpoint>),
    /// `https://`, or a URL with credentials in it: reqwest.
    Reqwest {
        http: reqwest::Client,
        url: reqwest::Url,
    },
}

/// Longest non-streamed response body kept (a chat completion is a few KiB).
const MAX_WHOLE_BODY: usize = 16 * 1024 * 1024;
/// How long a finished stream may take to deliver the rest of its framing (the
/// final chunk after `data: [DONE]`) before its connection is closed instead of
/// reused.
const DRAIN_LIMIT: Duration = Duration::from_millis(100);

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
        let transport = if url.scheme() == "http" && url.username().is_empty() {
            Transport::Plain(Arc::new(plain_endpoint(&url, &headers, &options)?))
        } else {
            let http = reqwest::Client::builder()
                .default_headers(headers)
                .connect_timeout(options.connect_timeout)
                .pool_max_idle_per_host(options.max_connections.max(1))
                .pool_idle_timeout(Duration::from_secs(90))
                .tcp_nodelay(true)
                .http1_only()
                .no_proxy()
                .build()?;
            Transport::Reqwest { http, url }
        };
        Ok(Client {
            transport,
            options: Arc::new(options),
        })
    }

    /// Opens up to `connections` connections before a trial's clock starts, so the
    /// first wave of requests does not time TCP set-up (plain HTTP only; reqwest
    /// opens its connections on demand).
    pub async fn warm_up(&self, connections: usize) {
        if let Transport::Plain(endpoint) = &self.transport {
            endpoint.warm_up(connections).await;
        }
    }

    pub fn base_url(&self) -> &str {
        &self.options.base_url
    }

    /// Whether requests carry llm-bench's `X-Request-Id`: not when the target's own
    /// headers already set one.
    pub fn sends_request_ids(&self) -> bool {
        !self
            .options
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(REQUEST_ID_HEADER))
    }

    /// Sends `body` now, with `request_id` as its `X-Request-Id` when given;
    /// `scheduled` is when it should have been sent.
    pub async fn send(
        &self,
        body: Vec<u8>,
        request_id: Option<&str>,
        scheduled: Instant,
        stream: bool,
    ) -> Outcome {
        // Built from validated names; checked anyway, as it goes into a header.
        let request_id = request_id.filter(|id| id.bytes().all(|b| b.is_ascii_graphic()));
        let sent = Instant::now();
        let mut exchange = Exchange::new(RequestTiming::new(scheduled, sent));
        let work = exchange.run(self, body, request_id, stream);
        let open = match tokio::time::timeout(self.options.request_timeout, work).await {
            Ok(open) => open,
            Err(_) => {
                exchange.fail(
                    ErrorKind::Timeout,
                    format!(
                        "no complete response within the request timeout ({:?})",
                        self.options.request_timeout
                    ),
                );
                None
            }
        };
        let outcome = exchange.finish();
        if let (Some(body), Transport::Plain(endpoint)) = (open, &self.transport) {
            recycle(endpoint, body).await;
        }
        outcome
    }
}

/// The endpoint of the lean client: the request head rendered once.
fn plain_endpoint(
    url: &reqwest::Url,
    headers: &HeaderMap,
    options: &ClientOptions,
) -> anyhow::Result<Endpoint> {
    let Some(host) = url.host_str() else {
        anyhow::bail!("the base URL `{}` has no host", options.base_url);
    };
    // IPv6 literals come bracketed.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    let mut path = url.path().to_string();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            // Checked by `HeaderValue::from_str` above: visible ASCII only.
            let value = value.to_str().unwrap_or_default().to_string();
            (name.as_str().to_string(), value)
        })
        .collect();
    Ok(Endpoint::new(
        host,
        port,
        &path,
        &headers,
        options.max_connections,
        options.connect_timeout,
    ))
}

/// Reads what is left of a finished response (usually just the final chunk) and
/// returns its connection to the pool; gives up after [`DRAIN_LIMIT`].
async fn recycle(endpoint: &Endpoint, mut body: h1::Body) {
    let drain = async { while let Ok(Some(_)) = body.next(DRAIN_LIMIT, |_, _| {}).await {} };
    if tokio::time::timeout(DRAIN_LIMIT, drain).await.is_ok() {
        if let Some(conn) = body.into_reusable() {
            endpoint.put_back(conn);
        }
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

    /// Sends the request and reads the response. Returns the body of a plain-HTTP
    /// response that is finished for the measurement but not yet read to its end, so
    /// its connection can be reused.
    async fn run(
        &mut self,
        client: &Client,
        body: Vec<u8>,
        request_id: Option<&str>,
        stream: bool,
    ) -> Option<h1::Body> {
        let stall = client.options.stall_timeout;
        match &client.transport {
            Transport::Plain(endpoint) => {
                self.run_plain(endpoint, &body, request_id, stream, stall)
                    .await
            }
            Transport::Reqwest { http, url } => {
                self.run_reqwest(http, url, body, request_id, stream, stall)
                    .await;
                None
            }
        }
    }

    async fn run_plain(
        &mut self,
        endpoint: &Endpoint,
        body: &[u8],
        request_id: Option<&str>,
        stream: bool,
        stall: Duration,
    ) -> Option<h1::Body> {
        let (head, mut response) = match endpoint.send(request_id, body).await {
            Ok(r) => r,
            Err(e) => {
                let kind = match e {
                    SendError::Connect(_) => ErrorKind::Connect,
                    SendError::Io(_) => ErrorKind::StreamReset,
                    SendError::Protocol(_) => ErrorKind::MalformedEvent,
                };
                self.fail(kind, e.to_string());
                return None;
            }
        };
        self.timing.headers = Some(response.head_time());
        self.status = Some(head.status);
        if !(200..300).contains(&head.status) {
            let mut bytes = Vec::new();
            while bytes.len() < 4096 {
                match response
                    .next(stall, |b, _| bytes.extend_from_slice(b))
                    .await
                {
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
            let excerpt = excerpt(&String::from_utf8_lossy(&bytes));
            self.fail(
                ErrorKind::from_status(head.status),
                status_message(head.status, &excerpt),
            );
            return Some(response);
        }
        let read = if stream {
            self.read_stream_plain(&mut response, stall).await
        } else {
            self.read_whole_plain(&mut response, stall).await
        };
        match read {
            Ok(()) => Some(response),
            Err(e) => {
                let kind = match e {
                    BodyError::Stalled(_) => ErrorKind::Timeout,
                    BodyError::Io(_) | BodyError::Closed => ErrorKind::StreamReset,
                    BodyError::Framing(_) => ErrorKind::MalformedEvent,
                };
                self.fail(kind, e.to_string());
                None
            }
        }
    }

    /// Feeds the body to the SSE parser until `[DONE]`, an error event or the end.
    async fn read_stream_plain(
        &mut self,
        response: &mut h1::Body,
        stall: Duration,
    ) -> Result<(), BodyError> {
        let mut events = EventStream::default();
        while !events.done {
            let more = response
                .next(stall, |bytes, now| events.feed(self, bytes, now))
                .await?;
            if let Some(e) = events.broken.take() {
                self.fail(
                    ErrorKind::MalformedEvent,
                    format!("broken event stream: {e}"),
                );
                return Ok(());
            }
            if more.is_none() {
                break;
            }
        }
        events.finish(self);
        Ok(())
    }

    async fn read_whole_plain(
        &mut self,
        response: &mut h1::Body,
        stall: Duration,
    ) -> Result<(), BodyError> {
        let mut body = Vec::new();
        let mut too_large = false;
        while let Some(now) = response
            .next(stall, |bytes, _| {
                if body.len() + bytes.len() <= MAX_WHOLE_BODY {
                    body.extend_from_slice(bytes);
                } else {
                    too_large = true;
                }
            })
            .await?
        {
            self.timing.first_byte.get_or_insert(now);
        }
        if too_large {
            self.fail(
                ErrorKind::MalformedEvent,
                format!(
                    "the response body is larger than {} MiB",
                    MAX_WHOLE_BODY >> 20
                ),
            );
            return Ok(());
        }
        self.on_whole_body(&body, Instant::now());
        Ok(())
    }

    async fn run_reqwest(
        &mut self,
        http: &reqwest::Client,
        url: &reqwest::Url,
        body: Vec<u8>,
        request_id: Option<&str>,
        stream: bool,
        stall: Duration,
    ) {
        let mut request = http.post(url.clone()).body(body);
        if let Some(id) = request_id {
            request = request.header(REQUEST_ID_HEADER, id);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return self.fail(classify_send_error(&e), describe(e)),
        };
        self.timing.headers = Some(Instant::now());
        let status = response.status();
        self.status = Some(status.as_u16());
        if !status.is_success() {
            let excerpt = read_excerpt(response, stall).await;
            return self.fail(
                ErrorKind::from_status(status.as_u16()),
                status_message(status.as_u16(), &excerpt),
            );
        }
        if stream {
            self.read_stream_reqwest(response, stall).await;
        } else {
            self.read_whole_reqwest(response, stall).await;
        }
    }

    async fn read_stream_reqwest(&mut self, mut response: reqwest::Response, stall: Duration) {
        let mut events = EventStream::default();
        while !events.done {
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
            events.feed(self, &bytes, Instant::now());
            if let Some(e) = events.broken.take() {
                return self.fail(
                    ErrorKind::MalformedEvent,
                    format!("broken event stream: {e}"),
                );
            }
        }
        events.finish(self);
    }

    async fn read_whole_reqwest(&mut self, response: reqwest::Response, stall: Duration) {
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
        self.on_whole_body(&body, now);
    }

    /// A non-streamed response: one JSON object.
    fn on_whole_body(&mut self, body: &[u8], now: Instant) {
        let text = match std::str::from_utf8(body) {
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
}

/// The SSE side of a streamed response, fed read by read.
#[derive(Default)]
struct EventStream {
    parser: SseParser,
    /// `[DONE]`, an error event or a failing chunk ended the stream.
    done: bool,
    broken: Option<super::sse::SseError>,
}

impl EventStream {
    fn feed(&mut self, exchange: &mut Exchange, bytes: &[u8], now: Instant) {
        if self.done || self.broken.is_some() {
            return;
        }
        exchange.timing.first_byte.get_or_insert(now);
        let done = &mut self.done;
        let fed = self.parser.feed(bytes, |event| {
            if !*done {
                *done = exchange.on_event(event, now);
            }
        });
        if let Err(e) = fed {
            self.broken = Some(e);
        }
    }

    /// At the end of the body: servers may close without `data: [DONE]`; that is
    /// fine if every event was complete.
    fn finish(&mut self, exchange: &mut Exchange) {
        if self.done {
            return;
        }
        let now = Instant::now();
        let finished = self.parser.finish(|event| {
            exchange.on_event(event, now);
        });
        if let Err(e) = finished {
            exchange.fail(
                ErrorKind::StreamReset,
                format!("the stream ended mid-event: {e}"),
            );
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
