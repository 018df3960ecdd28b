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
//!
//! This file holds the row and how it is derived; the kinds of failure are in
//! `error_kind`, the in-flight instants in `timing`, what the client hands over
//! in `outcome`.

mod error_kind;
pub mod flags;
pub mod itl;
mod outcome;
mod timing;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use error_kind::ErrorKind;
pub use flags::{Received, RowFlag, TokenCounts};
pub use itl::{ItlRest, TokenTimes, ITL_EXACT_CAP};
pub use outcome::{Connection, Outcome};
pub use timing::{FirstTokenWait, RequestTiming};

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
    /// How long the first token's bytes had waited in the kernel's socket buffer
    /// when llm-bench read them: the client's own share of `ttft_ms`. Absent
    /// where the kernel does not say (`https://`, URLs with credentials, systems
    /// other than Linux) and where the read also took later bytes (the kernel
    /// stamps only the newest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token_wait_ms: Option<f64>,
    /// The first token was read late because of the client (SIGSTOP, CPU steal,
    /// another process on its CPU, a runtime busy elsewhere), so its TTFT
    /// includes the client's own delay: it waited over 1 ms in the kernel
    /// (`first_token_wait_ms`) or, where that is not known, it was stamped during
    /// or right after a stall of the client process. Absent when false.
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
            first_token_wait_ms: t.first_token_wait.and_then(FirstTokenWait::exact).map(ms),
            client_stall: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_written_before_attempts_were_recorded_read_as_one_attempt() {
        let line = r#"{"scenario":"s","trial":0,"index":0,"warmup":false,"ok":true,"scheduled_ms":0.0,"start_ms":0.0,"end_ms":1.0,"send_lag_ms":0.0,"e2e_ms":1.0,"response_e2e_ms":1.0,"output_tokens":1,"chunks":1,"token_source":"usage","in_flight":1}"#;
        let row: RequestRow = serde_json::from_str(line).unwrap();
        assert_eq!(row.attempts, 1);
        assert_eq!((row.new_connection, row.connect_ms), (None, None));
        assert!(row.flags.is_empty() && row.itl_rest.is_none());
    }
}
