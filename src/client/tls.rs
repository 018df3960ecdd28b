//! One request over reqwest: URLs with credentials in them (`https://user:pass@…`). The
//! same classification as the lean client, with what reqwest lets us see: it does
//! not say whether a connection was reused, so those rows carry no connection
//! fields.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, LOCATION};

use super::exchange::{EventStream, Exchange};
use super::limits::grow_within;
use super::status::{status_message, ErrorBody};
use crate::record::ErrorKind;

/// Names each request so it can be found in the server's logs (vLLM, SGLang and most
/// proxies log or echo it).
pub(super) const REQUEST_ID_HEADER: &str = "X-Request-Id";

impl Exchange {
    /// `head_limit` bounds sending the request and waiting for its head (reqwest
    /// does both in one call): the connect timeout plus the stall timeout.
    pub(super) async fn run_reqwest(
        &mut self,
        http: &reqwest::Client,
        url: &reqwest::Url,
        body: Vec<u8>,
        request_id: Option<&str>,
        stream: bool,
        (stall, head_limit): (Duration, Duration),
    ) {
        let mut request = http.post(url.clone()).body(body);
        if let Some(id) = request_id {
            request = request.header(REQUEST_ID_HEADER, id);
        }
        let response = match tokio::time::timeout(head_limit, request.send()).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return self.fail(classify_send_error(&e), describe(e)),
            Err(_) => {
                return self.fail(
                    ErrorKind::Timeout,
                    format!(
                        "no response head within {head_limit:?} (the connect and stall \
                         timeouts): the server accepted the request and sent nothing; if it \
                         queues requests for longer before it answers, raise --stall-timeout"
                    ),
                )
            }
        };
        self.timing.headers = Some(Instant::now());
        let status = response.status();
        self.status = Some(status.as_u16());
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &reqwest::header::HeaderValue| {
                    String::from_utf8_lossy(v.as_bytes())
                        .chars()
                        .take(200)
                        .collect::<String>()
                })
        };
        let (content_type, location) = (header(CONTENT_TYPE), header(LOCATION));
        if !status.is_success() {
            let error = read_error_body(response, stall).await;
            return self.fail(
                ErrorKind::from_status(status.as_u16()),
                status_message(status.as_u16(), location.as_deref(), &error),
            );
        }
        if !self.check_content_type(content_type.as_deref(), stream) {
            return;
        }
        if stream {
            self.read_stream_reqwest(response, stall).await;
        } else {
            self.read_whole_reqwest(response, stall).await;
        }
    }

    async fn read_stream_reqwest(&mut self, mut response: reqwest::Response, stall: Duration) {
        let mut events = EventStream::new(self.limits);
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
            if events.take_broken(self) {
                return;
            }
        }
        events.finish(self);
    }

    async fn read_whole_reqwest(&mut self, mut response: reqwest::Response, stall: Duration) {
        let cap = self.limits.per_buffer;
        let mut body = Vec::new();
        loop {
            let bytes = match tokio::time::timeout(stall, response.chunk()).await {
                Err(_) => {
                    return self.fail(
                        ErrorKind::Timeout,
                        format!("the response stalled: no data for {stall:?}"),
                    )
                }
                Ok(Err(e)) => return self.fail(ErrorKind::StreamReset, describe(e)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(bytes))) => bytes,
            };
            self.timing.first_byte.get_or_insert_with(Instant::now);
            if !grow_within(&mut body, &bytes, cap) {
                return self.too_large(format!("the response body is larger than {cap} bytes"));
            }
        }
        self.on_whole_body(&body, Instant::now());
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

async fn read_error_body(mut response: reqwest::Response, stall: Duration) -> ErrorBody {
    let mut body = ErrorBody::default();
    while !body.is_full() {
        match tokio::time::timeout(stall, response.chunk()).await {
            Ok(Ok(Some(b))) => body.push(&b),
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                body.cut(format!("the connection failed ({})", describe(e)));
                break;
            }
            Err(_) => {
                body.cut(format!("nothing more arrived for {stall:?}"));
                break;
            }
        }
    }
    body
}
