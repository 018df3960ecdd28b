//! Sends one request and timestamps everything that comes back.
//!
//! Each response chunk is timestamped the moment it is read, before any parsing, and
//! parsed in place without building owned structures, so the client adds as little
//! as possible to what it measures. Every failure becomes an [`ErrorKind`] with a
//! short reason; nothing here panics on what a server sends.
//!
//! Two transports feed the same parsing (`super::exchange`): `http://` and
//! `https://` endpoints (a benchmark runner next to its server, the case that must
//! not distort the measurement) go through the lean HTTP/1.1 client in
//! `super::h1` (`super::plain`; rustls under it for `https://`); URLs with
//! credentials in them go through reqwest (`super::tls`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use super::exchange::Exchange;
use super::h1::{self, Endpoint, TlsSetup};
use super::limits::Limits;
use super::request::Api;
use super::tls::REQUEST_ID_HEADER;
use super::trust::{trusting, CaCert};
use crate::record::{ErrorKind, Outcome, RequestTiming};

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
    /// Expected peak concurrency: sizes the connection pool, and the per-request
    /// buffer caps ([`Limits`]).
    pub max_connections: usize,
    /// Certificates to trust for `https://` besides the web roots (`--ca-cert`).
    pub ca_cert: Option<CaCert>,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &self.base_url)
            .field("api", &self.api)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("headers", &self.headers.len())
            .field("ca_cert", &self.ca_cert.as_ref().map(CaCert::path))
            .finish_non_exhaustive()
    }
}

/// A cheap-to-clone handle; all requests share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
    options: Arc<ClientOptions>,
    limits: Limits,
    /// Keep each response's text ([`Client::keeping_text`]).
    keep_text: bool,
}

#[derive(Debug, Clone)]
enum Transport {
    /// `http://` and `https://`: the lean HTTP/1.1 client.
    Plain(Arc<Endpoint>),
    /// A URL with credentials in it: reqwest.
    Reqwest {
        http: reqwest::Client,
        url: reqwest::Url,
    },
}

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
        let lean = matches!(url.scheme(), "http" | "https") && url.username().is_empty();
        let transport = if lean {
            Transport::Plain(Arc::new(plain_endpoint(&url, &headers, &options)?))
        } else {
            let builder = trusting(reqwest::Client::builder(), options.ca_cert.as_ref());
            let http = builder
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
            limits: Limits::for_streams(options.max_connections),
            options: Arc::new(options),
            keep_text: false,
        })
    }

    /// This client, keeping each response's generated text in its outcome
    /// (`Outcome::content_text`), for a tokenizer to count when the server sends
    /// no usage. Costs a second parse of each chunk that carries text.
    pub fn keeping_text(mut self, keep: bool) -> Client {
        self.keep_text = keep;
        self
    }

    /// Opens up to `connections` connections before a trial's clock starts, so the
    /// first wave of requests does not time TCP and TLS set-up (the lean client
    /// only; reqwest opens its connections on demand).
    pub async fn warm_up(&self, connections: usize) {
        if let Transport::Plain(endpoint) = &self.transport {
            endpoint.warm_up(connections).await;
        }
    }

    pub fn base_url(&self) -> &str {
        &self.options.base_url
    }

    /// The per-request buffer caps of this run.
    pub fn limits(&self) -> Limits {
        self.limits
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
        let mut exchange = Exchange::new(RequestTiming::new(scheduled, sent), self.limits);
        if self.keep_text {
            exchange.keep_text();
        }
        let work = self.run(&mut exchange, body, request_id, stream);
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

    /// Sends the request and reads the response over this client's transport.
    /// Returns the body of a plain-HTTP response that is finished for the
    /// measurement but not yet read to its end, so its connection can be reused.
    async fn run(
        &self,
        exchange: &mut Exchange,
        body: Vec<u8>,
        request_id: Option<&str>,
        stream: bool,
    ) -> Option<h1::Body> {
        let stall = self.options.stall_timeout;
        match &self.transport {
            Transport::Plain(endpoint) => {
                exchange
                    .run_plain(endpoint, &body, request_id, stream, stall)
                    .await
            }
            Transport::Reqwest { http, url } => {
                let head_limit = self.options.connect_timeout + stall;
                exchange
                    .run_reqwest(http, url, body, request_id, stream, (stall, head_limit))
                    .await;
                None
            }
        }
    }
}

/// The endpoint of the lean client: the request head rendered once, and TLS set
/// up once for `https://`.
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
    let endpoint = Endpoint::new(
        host,
        port,
        &path,
        &headers,
        options.max_connections,
        options.connect_timeout,
    );
    if url.scheme() != "https" {
        return Ok(endpoint);
    }
    let tls = TlsSetup::new(host, options.ca_cert.as_ref()).map_err(|e| anyhow::anyhow!(e))?;
    Ok(endpoint.over_tls(tls))
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
