//! What happened to one request.
//!
//! The runner keeps raw [`Instant`]s while a request is in flight ([`RequestTiming`]);
//! every duration (TTFT, ITL, TPOT, E2E) is derived from them by a method, once, when
//! the request ends and becomes a flat [`RequestRow`]. The row is the contract: it is
//! what `requests.jsonl` holds, and what summaries are computed from, both at run
//! time and when `llm-bench report` re-reads an old run, so the two can never differ.
//!
//! What a remote peer can grow is bounded here too: a response's gaps ([`itl`]) and
//! its flags ([`flags`]) take the same memory whatever the server sends.

pub mod flags;
pub mod itl;

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use flags::{Received, RowFlag, TokenCounts};
pub use itl::{ItlRest, TokenTimes, ITL_EXACT_CAP};

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
    /// A 3xx: llm-bench does not follow redirects (a POST must not be replayed to
    /// another URL unasked); the message names the `Location`.
    Redirect,
    /// A status outside 2xx–5xx, such as a `101 Switching Protocols` nobody asked
    /// for, or a code above 599.
    UnexpectedStatus,
    /// A 2xx whose body is not what was asked for: an HTML page (a login page or a
    /// proxy), or one JSON completion from a server that ignores `stream: true`.
    /// The message names the content type.
    WrongContentType,
    /// The connection closed or reset before the response was complete.
    StreamReset,
    /// A `data:` payload that is not valid JSON, or a broken SSE stream.
    MalformedEvent,
    /// A line, an event or a whole body larger than this run's per-request cap
    /// (chosen from the concurrency so that every stream's buffers fit at once).
    TooLarge,
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
            300..=399 => ErrorKind::Redirect,
            400..=499 => ErrorKind::Http4xx,
            500..=599 => ErrorKind::Http5xx,
            _ => ErrorKind::UnexpectedStatus,
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
            ErrorKind::Redirect => "redirect",
            ErrorKind::UnexpectedStatus => "unexpected_status",
            ErrorKind::WrongContentType => "wrong_content_type",
            ErrorKind::StreamReset => "stream_reset",
            ErrorKind::MalformedEvent => "malformed_event",
            ErrorKind::TooLarge => "too_large",
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
    /// No usage was sent: the text was counted with the model's `tokenizer:`.
    Tokenizer,
}

/// Raw instants of one request, filled in by the client as events happen.
#[derive(Debug, Clone)]
pub struct RequestTiming {
    /// When the request should have been sent (open loop: from the arrival schedule;
    /// closed loop: equal to `sent`).
    pub scheduled: Instant,
    /// When the request was handed to the HTTP client; when an earlier attempt
    /// failed without any of it reaching the server, when the last attempt started.
    pub sent: Instant,
    /// When the response headers arrived.
    pub headers: Option<Instant>,
    /// When the first body byte arrived.
    pub first_byte: Option<Instant>,
    /// When the first reasoning delta arrived (reasoning models).
    pub first_reasoning: Option<Instant>,
    /// Arrivals of the chunks that carried content: the first is the first token;
    /// their gaps are kept in bounded memory.
    pub tokens: TokenTimes,
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
            tokens: TokenTimes::default(),
            end: sent,
        }
    }

    /// Time to first content token, from the actual send.
    pub fn ttft(&self) -> Option<Duration> {
        self.tokens
            .first()
            .map(|t| t.saturating_duration_since(self.sent))
    }

    /// Time to first token from the intended send time: includes any queueing
    /// behind the client's schedule, so it is free of coordinated omission.
    pub fn response_ttft(&self) -> Option<Duration> {
        self.tokens
            .first()
            .map(|t| t.saturating_duration_since(self.scheduled))
    }

    /// Time to first reasoning token, from the actual send.
    pub fn ttfr(&self) -> Option<Duration> {
        self.first_reasoning
            .map(|t| t.saturating_duration_since(self.sent))
    }

    pub fn ttfb(&self) -> Option<Duration> {
        self.first_byte
            .map(|t| t.saturating_duration_since(self.sent))
    }

    /// End-to-end latency from the actual send.
    pub fn e2e(&self) -> Duration {
        self.end.saturating_duration_since(self.sent)
    }

    /// End-to-end latency from the intended send time.
    pub fn response_e2e(&self) -> Duration {
        self.end.saturating_duration_since(self.scheduled)
    }

    /// How late the request left compared with its schedule.
    pub fn send_lag(&self) -> Duration {
        self.sent.saturating_duration_since(self.scheduled)
    }

    /// Inter-token latencies: the gaps between successive content chunks, the first
    /// [`ITL_EXACT_CAP`] of them (the rest are in [`TokenTimes::rest`]).
    pub fn itls(&self) -> impl ExactSizeIterator<Item = Duration> + '_ {
        self.tokens.exact_gaps()
    }

    /// Time per output token after the first: (E2E − TTFT) / (output_tokens − 1).
    /// None when the text came in one piece (`--no-stream`, or a stream with a single
    /// content chunk): nothing was timed after the first token.
    pub fn tpot(&self, output_tokens: u64) -> Option<Duration> {
        if self.tokens.count() < 2 {
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
    /// The gaps between successive content chunks: all of them, or the first
    /// [`ITL_EXACT_CAP`] when the response had more (the rest are in `itl_rest`).
    #[serde(default)]
    pub itl_ms: Vec<f64>,
    /// The gaps past the first [`ITL_EXACT_CAP`], folded; absent for shorter
    /// responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl_rest: Option<Box<ItlRest>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    pub output_tokens: u64,
    /// The output length this request asked for (`max_tokens` drawn from the
    /// scenario's `output_tokens:`); absent when every request asks the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_output_tokens: Option<u64>,
    /// Content chunks received (several tokens may share one chunk).
    pub chunks: u64,
    pub token_source: TokenSource,
    /// What the token counts and gaps should be read with; absent when nothing is
    /// to be said.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<RowFlag>,
    /// Requests in flight (including this one) when it was sent.
    pub in_flight: u32,
    /// Times the request was sent: 2 when a reused connection failed before any
    /// byte of the first attempt could reach the server. A request that may have
    /// reached the server is never sent again. Rows from before it was recorded
    /// read as 1.
    #[serde(default = "one")]
    pub attempts: u32,
    /// Why the first attempt failed, when there was a second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_attempt_error: Option<String>,
    /// Whether the request opened a new connection (`false`: it reused one, or one
    /// opened before the trial's clock started). Absent for `https://` targets,
    /// whose connection pool does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_connection: Option<bool>,
    /// How long opening that connection took (part of `ttft_ms` and `e2e_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<f64>,
    /// The conversation this request is a turn of (`conversation:` scenarios),
    /// numbered from 0 per trial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<u64>,
    /// Which turn of its conversation, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    /// The first token was stamped while the client process was stopped (or
    /// right after: SIGSTOP, CPU steal, another process on its CPU), so its
    /// TTFT includes the client's own delay. Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_stall: bool,
}

fn one() -> u32 {
    1
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
    /// What arrived of the response's text, to check usage against.
    pub received: Received,
    /// How the request was sent; `None` when the transport does not say.
    pub connection: Option<Connection>,
    pub attempts: u32,
    pub first_attempt_error: Option<String>,
    /// The generated text, when the client was asked to keep it (a model with a
    /// tokenizer) and it fit the per-request cap.
    pub content_text: Option<String>,
}

/// The connection a request went out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// How long opening it took, when this request opened it.
    pub opened_in: Option<Duration>,
}

impl Outcome {
    /// A request that has not learned anything yet: one attempt, no response.
    pub fn new(timing: RequestTiming) -> Outcome {
        Outcome {
            timing,
            status: None,
            error: None,
            usage_prompt_tokens: None,
            usage_output_tokens: None,
            received: Received::default(),
            connection: None,
            attempts: 1,
            first_attempt_error: None,
            content_text: None,
        }
    }
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
    /// The most output tokens the request allowed, over all its choices (`max_tokens`
    /// × `n`); `None` when the body does not say.
    pub max_tokens: Option<u64>,
    /// The output length drawn for this request (`output_tokens:`), if any.
    pub requested_output_tokens: Option<u64>,
    /// The response's text counted with the model's tokenizer, when there is one.
    pub tokenizer_output_tokens: Option<u64>,
}

impl RequestRow {
    /// Derive every duration once, from the raw instants.
    pub fn new(ctx: RowContext<'_>, outcome: &Outcome) -> RequestRow {
        let t = &outcome.timing;
        let chunks = t.tokens.count();
        let (output_tokens, token_source) =
            match (outcome.usage_output_tokens, ctx.tokenizer_output_tokens) {
                (Some(n), _) => (n, TokenSource::Usage),
                (None, Some(n)) => (n, TokenSource::Tokenizer),
                (None, None) => (chunks, TokenSource::Chunks),
            };
        let itl_rest = t.tokens.rest().map(Box::new);
        let mut flags = TokenCounts {
            usage: outcome.usage_output_tokens,
            chunks,
            received: outcome.received,
            output_tokens,
            max_tokens: ctx.max_tokens,
        }
        .flags();
        if itl_rest.is_some() {
            flags.push(RowFlag::ItlFolded);
        }
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
            itl_rest,
            prompt_tokens: outcome.usage_prompt_tokens,
            output_tokens,
            requested_output_tokens: ctx.requested_output_tokens,
            chunks,
            token_source,
            flags,
            in_flight: ctx.in_flight,
            attempts: outcome.attempts,
            first_attempt_error: outcome.first_attempt_error.clone(),
            new_connection: outcome.connection.map(|c| c.opened_in.is_some()),
            connect_ms: outcome.connection.and_then(|c| c.opened_in).map(ms),
            conversation: None,
            turn: None,
            client_stall: false,
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
            Redirect,
            UnexpectedStatus,
            WrongContentType,
            StreamReset,
            MalformedEvent,
            TooLarge,
            StreamError,
            EmptyResponse,
            Cancelled,
            Dropped,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn every_status_class_has_its_own_kind() {
        use ErrorKind::*;
        for (status, kind) in [
            (101, UnexpectedStatus),
            (301, Redirect),
            (307, Redirect),
            (308, Redirect),
            (400, InvalidRequest),
            (401, Unauthorized),
            (404, Http4xx),
            (429, RateLimited),
            (500, Http5xx),
            (599, Http5xx),
            (600, UnexpectedStatus),
            (999, UnexpectedStatus),
        ] {
            assert_eq!(ErrorKind::from_status(status), kind, "{status}");
        }
    }

    #[test]
    fn rows_written_before_attempts_were_recorded_read_as_one_attempt() {
        let line = r#"{"scenario":"s","trial":0,"index":0,"warmup":false,"ok":true,"scheduled_ms":0.0,"start_ms":0.0,"end_ms":1.0,"send_lag_ms":0.0,"e2e_ms":1.0,"response_e2e_ms":1.0,"output_tokens":1,"chunks":1,"token_source":"usage","in_flight":1}"#;
        let row: RequestRow = serde_json::from_str(line).unwrap();
        assert_eq!(row.attempts, 1);
        assert_eq!((row.new_connection, row.connect_ms), (None, None));
        assert!(row.flags.is_empty() && row.itl_rest.is_none());
    }

    #[test]
    fn durations_derive_from_instants() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut t = RequestTiming::new(t0, t0 + ms(2));
        for at in [52, 57, 62] {
            t.tokens.push(t0 + ms(at));
        }
        t.end = t0 + ms(63);
        assert_eq!(t.ttft(), Some(ms(50)));
        assert_eq!(t.response_ttft(), Some(ms(52)));
        assert_eq!(t.send_lag(), ms(2));
        assert_eq!(t.itls().collect::<Vec<_>>(), vec![ms(5), ms(5)]);
        // (E2E 61 − TTFT 50) / (12 − 1) tokens = 1 ms.
        assert_eq!(t.tpot(12), Some(ms(1)));
        assert_eq!(t.tpot(1), None);
        // One chunk (`--no-stream`): nothing was timed after the first token.
        let mut one = RequestTiming::new(t0, t0 + ms(2));
        one.tokens.push(t0 + ms(52));
        one.end = t0 + ms(63);
        assert_eq!(one.tpot(12), None);
    }
}
