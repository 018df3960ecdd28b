//! What happened to one request.
//!
//! The runner keeps raw [`Instant`]s while a request is in flight ([`RequestTiming`]);
//! every duration (TTFT, ITL, TPOT, E2E) is derived from them by a method, once, when
//! the request ends and becomes a flat [`RequestRow`]. The row is the contract: it is
//! what `requests.jsonl` holds, and what summaries are computed from, both at run
//! time and when `llm-bench report` re-reads an old run, so the two can never differ.

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Why a request failed. Counted by kind in every summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The TCP connection (or TLS handshake) could not be made.
    Connect,
    /// No response, or no bytes for longer than the stall timeout, or the whole request
    /// exceeded the request timeout.
    Timeout,
    /// HTTP 429: the server asked us to slow down.
    RateLimited,
    /// HTTP 400/422: the server rejected the request body (often an unknown field such
    /// as `ignore_eos`): a configuration problem, reported as such.
    InvalidRequest,
    /// HTTP 401/403: missing or wrong API key.
    Unauthorized,
    /// Any other 4xx.
    #[serde(rename = "http_4xx")]
    Http4xx,
    /// Any 5xx.
    #[serde(rename = "http_5xx")]
    Http5xx,
    /// The connection closed or reset before the response was complete.
    StreamReset,
    /// A `data:` payload that is not valid JSON, or a broken SSE stream.
    MalformedEvent,
    /// The server reported an error inside the stream.
    StreamError,
    /// The stream completed but carried no content token.
    EmptyResponse,
    /// Still in flight when the run was interrupted and the grace time ran out.
    Cancelled,
    /// Never sent: the open-loop arrival found `max_concurrency` requests in flight
    /// and the scenario drops arrivals instead of queueing them.
    Dropped,
}

impl ErrorKind {
    /// Classify an HTTP status that is not a success.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            429 => ErrorKind::RateLimited,
            400 | 422 => ErrorKind::InvalidRequest,
            401 | 403 => ErrorKind::Unauthorized,
            400..=499 => ErrorKind::Http4xx,
            _ => ErrorKind::Http5xx,
        }
    }

    /// The snake_case name used in files and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Http4xx => "http_4xx",
            ErrorKind::Http5xx => "http_5xx",
            ErrorKind::StreamReset => "stream_reset",
            ErrorKind::MalformedEvent => "malformed_event",
            ErrorKind::StreamError => "stream_error",
            ErrorKind::EmptyResponse => "empty_response",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Dropped => "dropped",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a request's token counts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The server's `usage` object.
    Usage,
    /// No usage was sent: one token per content chunk was assumed.
    Chunks,
}

/// Raw instants of one request, filled in by the client as events happen.
#[derive(Debug, Clone)]
pub struct RequestTiming {
    /// When the request should have been sent (open loop: from the arrival schedule;
    /// closed loop: equal to `sent`).
    pub scheduled: Instant,
    /// When the request was handed to the HTTP client.
    pub sent: Instant,
    /// When the response headers arrived.
    pub headers: Option<Instant>,
    /// When the first body byte arrived.
    pub first_byte: Option<Instant>,
    /// When the first reasoning delta arrived (reasoning models).
    pub first_reasoning: Option<Instant>,
    /// Arrival of every chunk that carried content; the first is the first token.
    pub content_chunks: Vec<Instant>,
    /// When the response was complete (or failed).
    pub end: Instant,
}

impl RequestTiming {
    pub fn new(scheduled: Instant, sent: Instant) -> Self {
        RequestTiming {
            scheduled,
            sent,
            headers: None,
            first_byte: None,
            first_reasoning: None,
            content_chunks: Vec::new(),
            end: sent,
        }
    }

    /// Time to first content token, from the actual send.
    pub fn ttft(&self) -> Option<Duration> {
        self.content_chunks.first().map(|t| *t - self.sent)
    }

    /// Time to first token from the intended send time: includes any queueing
    /// behind the client's schedule, so it is free of coordinated omission.
    pub fn response_ttft(&self) -> Option<Duration> {
        self.content_chunks.first().map(|t| *t - self.scheduled)
    }

    /// Time to first reasoning token, from the actual send.
    pub fn ttfr(&self) -> Option<Duration> {
        self.first_reasoning.map(|t| t - self.sent)
    }

    pub fn ttfb(&self) -> Option<Duration> {
        self.first_byte.map(|t| t - self.sent)
    }

    /// End-to-end latency from the actual send.
    pub fn e2e(&self) -> Duration {
        self.end - self.sent
    }

    /// End-to-end latency from the intended send time.
    pub fn response_e2e(&self) -> Duration {
        self.end - self.scheduled
    }

    /// How late the request left compared with its schedule.
    pub fn send_lag(&self) -> Duration {
        self.sent.saturating_duration_since(self.scheduled)
    }

    /// Inter-token latencies: every gap between successive content chunks.
    pub fn itls(&self) -> impl Iterator<Item = Duration> + '_ {
        self.content_chunks.windows(2).map(|w| w[1] - w[0])
    }

    /// Time per output token after the first: (E2E − TTFT) / (output_tokens − 1).
    /// None when the text came in one piece (`--no-stream`, or a stream with a single
    /// content chunk): nothing was timed after the first token.
    pub fn tpot(&self, output_tokens: u64) -> Option<Duration> {
        if self.content_chunks.len() < 2 {
            return None;
        }
        let ttft = self.ttft()?;
        let decode_tokens = u32::try_from(output_tokens.checked_sub(1)?).ok()?;
        if decode_tokens == 0 {
            return None;
        }
        Some(self.e2e().saturating_sub(ttft) / decode_tokens)
    }
}

/// One finished request as written to `requests.jsonl`: flat, snake_case, units in
/// the names, times in milliseconds rounded to the microsecond.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRow {
    pub scenario: String,
    pub trial: u32,
    /// Index of the request within its scenario trial, in schedule order.
    pub index: u64,
    /// The `X-Request-Id` header it was sent with (`<run id>-<scenario>-<trial>-<index>`),
    /// for finding it in the server's logs. Absent when the target's own headers set
    /// one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Warm-up requests are recorded but excluded from statistics.
    pub warmup: bool,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Intended send time, since the start of the trial.
    pub scheduled_ms: f64,
    /// Actual send time, since the start of the trial.
    pub start_ms: f64,
    /// Completion time, since the start of the trial.
    pub end_ms: f64,
    pub send_lag_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfr_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_ttft_ms: Option<f64>,
    pub e2e_ms: f64,
    pub response_e2e_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_ms: Option<f64>,
    #[serde(default)]
    pub itl_ms: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    pub output_tokens: u64,
    /// Content chunks received (several tokens may share one chunk).
    pub chunks: u64,
    pub token_source: TokenSource,
    /// Requests in flight (including this one) when it was sent.
    pub in_flight: u32,
}

/// Milliseconds rounded to whole microseconds, so a row survives a JSON round trip
/// bit for bit.
pub fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

impl RequestRow {
    /// Whether this row counts toward statistics: warm-up requests, requests cut off
    /// by an interrupt and arrivals the client dropped say nothing about the server.
    pub fn measured(&self) -> bool {
        !self.warmup
            && !matches!(
                self.error_kind,
                Some(ErrorKind::Cancelled | ErrorKind::Dropped)
            )
    }
}

/// Everything the client learned about one request.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub timing: RequestTiming,
    pub status: Option<u16>,
    /// Set when the request failed; the message never contains secrets.
    pub error: Option<(ErrorKind, String)>,
    pub usage_prompt_tokens: Option<u64>,
    pub usage_output_tokens: Option<u64>,
}

/// Where a request sits in the run, for its row.
#[derive(Debug, Clone, Copy)]
pub struct RowContext<'a> {
    pub scenario: &'a str,
    pub trial: u32,
    pub index: u64,
    pub request_id: Option<&'a str>,
    pub warmup: bool,
    pub trial_start: Instant,
    pub in_flight: u32,
}

impl RequestRow {
    /// Derive every duration once, from the raw instants.
    pub fn new(ctx: RowContext<'_>, outcome: &Outcome) -> RequestRow {
        let t = &outcome.timing;
        let chunks = t.content_chunks.len() as u64;
        let (output_tokens, token_source) = match outcome.usage_output_tokens {
            Some(n) => (n, TokenSource::Usage),
            None => (chunks, TokenSource::Chunks),
        };
        let since_start = |i: Instant| ms(i.saturating_duration_since(ctx.trial_start));
        let (error_kind, error) = match &outcome.error {
            Some((kind, message)) => (Some(*kind), Some(message.clone())),
            None => (None, None),
        };
        RequestRow {
            scenario: ctx.scenario.to_string(),
            trial: ctx.trial,
            index: ctx.index,
            request_id: ctx.request_id.map(str::to_string),
            warmup: ctx.warmup,
            ok: error_kind.is_none(),
            status: outcome.status,
            error_kind,
            error,
            scheduled_ms: since_start(t.scheduled),
            start_ms: since_start(t.sent),
            end_ms: since_start(t.end),
            send_lag_ms: ms(t.send_lag()),
            ttfb_ms: t.ttfb().map(ms),
            ttft_ms: t.ttft().map(ms),
            ttfr_ms: t.ttfr().map(ms),
            response_ttft_ms: t.response_ttft().map(ms),
            e2e_ms: ms(t.e2e()),
            response_e2e_ms: ms(t.response_e2e()),
            tpot_ms: t.tpot(output_tokens).map(ms),
            itl_ms: t.itls().map(ms).collect(),
            prompt_tokens: outcome.usage_prompt_tokens,
            output_tokens,
            chunks,
            token_source,
            in_flight: ctx.in_flight,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names in files, tables and the JSON Schema are one and the same.
    #[test]
    fn error_kind_names_match_their_serialized_form() {
        use ErrorKind::*;
        for kind in [
            Connect,
            Timeout,
            RateLimited,
            InvalidRequest,
            Unauthorized,
            Http4xx,
            Http5xx,
            StreamReset,
            MalformedEvent,
            StreamError,
            EmptyResponse,
            Cancelled,
            Dropped,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn durations_derive_from_instants() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut t = RequestTiming::new(t0, t0 + ms(2));
        t.content_chunks = vec![t0 + ms(52), t0 + ms(57), t0 + ms(62)];
        t.end = t0 + ms(63);
        assert_eq!(t.ttft(), Some(ms(50)));
        assert_eq!(t.response_ttft(), Some(ms(52)));
        assert_eq!(t.send_lag(), ms(2));
        assert_eq!(t.itls().collect::<Vec<_>>(), vec![ms(5), ms(5)]);
        // (E2E 61 − TTFT 50) / (12 − 1) tokens = 1 ms.
        assert_eq!(t.tpot(12), Some(ms(1)));
        assert_eq!(t.tpot(1), None);
        // One chunk (`--no-stream`): nothing was timed after the first token.
        t.content_chunks.truncate(1);
        assert_eq!(t.tpot(12), None);
    }
}
