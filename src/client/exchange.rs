//! The state of one request while it is in flight, whichever transport carries it:
//! what has been received, the first failure, and how the request was sent.
//!
//! Both transports feed it the same way (head, then each read's bytes with the
//! instant they were read), so a response means the same whether it came over the
//! lean HTTP/1.1 client or reqwest. Nothing here waits or reads a clock but to
//! stamp the end.

use std::time::Instant;

use super::chunk::{parse_chunk, ChunkInfo};
use super::h1::Attempts;
use super::limits::Limits;
use super::sse::{SseError, SseEvent, SseParser};
use super::status::{excerpt, wrong_content_type};
use crate::record::{Connection, ErrorKind, Outcome, Received, RequestTiming};

/// The state of one request while it is in flight.
pub(super) struct Exchange {
    pub timing: RequestTiming,
    pub status: Option<u16>,
    error: Option<(ErrorKind, String)>,
    usage_prompt: Option<u64>,
    usage_output: Option<u64>,
    received: Received,
    /// How the lean client sent it; `None` for reqwest, which does not say.
    pub attempts: Option<Attempts>,
    pub limits: Limits,
    /// The response's `Content-Type`, to explain an empty response.
    pub content_type: Option<String>,
    /// The generated text, when kept for a tokenizer to count (at most
    /// `limits.per_buffer` bytes; past that it is dropped and not counted).
    text: Option<String>,
}

impl Exchange {
    pub fn new(timing: RequestTiming, limits: Limits) -> Self {
        Exchange {
            timing,
            status: None,
            error: None,
            usage_prompt: None,
            usage_output: None,
            received: Received::default(),
            attempts: None,
            limits,
            content_type: None,
            text: None,
        }
    }

    /// Keep the generated text, for [`Outcome::content_text`].
    pub fn keep_text(&mut self) {
        self.text = Some(String::new());
    }

    /// Adds a payload's text to the kept text, if it is kept.
    fn keep(&mut self, payload: &str, chunk: &ChunkInfo<'_>) {
        let Some(text) = &mut self.text else {
            return;
        };
        if chunk.content_bytes == 0 {
            return;
        }
        super::content::append_content(payload, text);
        if text.len() > self.limits.per_buffer {
            self.text = None;
        }
    }

    /// Records the first failure only: later ones are consequences of it.
    pub fn fail(&mut self, kind: ErrorKind, message: String) {
        if self.error.is_none() {
            self.error = Some((kind, message));
        }
    }

    /// A cap of this run was hit.
    pub fn too_large(&mut self, what: impl std::fmt::Display) {
        let explain = self.limits.explain();
        self.fail(ErrorKind::TooLarge, format!("{what}; {explain}"));
    }

    /// Whether a 2xx response's content type rules out the body asked for; fails
    /// the request if so.
    pub fn check_content_type(&mut self, content_type: Option<&str>, stream: bool) -> bool {
        self.content_type = content_type.map(str::to_string);
        match wrong_content_type(content_type, stream) {
            Some(why) => {
                self.fail(ErrorKind::WrongContentType, why);
                false
            }
            None => true,
        }
    }

    pub fn finish(mut self) -> Outcome {
        self.timing.end = Instant::now();
        let attempts = self.attempts.take();
        if let Some(a) = &attempts {
            // A hidden attempt is not part of the request's timing: nothing of it
            // reached the server.
            if a.count > 1 {
                if let Some(start) = a.last_start {
                    self.timing.sent = start;
                }
            }
        }
        if self.error.is_none() && self.timing.tokens.is_empty() {
            self.no_content();
        }
        let mut outcome = Outcome::new(self.timing);
        outcome.status = self.status;
        outcome.error = self.error;
        outcome.usage_prompt_tokens = self.usage_prompt;
        outcome.usage_output_tokens = self.usage_output;
        outcome.received = self.received;
        outcome.content_text = self.text;
        if let Some(a) = attempts {
            outcome.attempts = a.count.max(1);
            outcome.first_attempt_error = a.first_error;
            outcome.connection = Some(Connection {
                opened_in: a.opened_in,
            });
        }
        outcome
    }

    /// A response that completed without content text: a generation with nothing
    /// visible when the server counted generated tokens (recorded as a success,
    /// flagged `no_visible_text`), an empty response otherwise.
    fn no_content(&mut self) {
        let reported = match self.usage_output {
            Some(n) if n > 0 => return,
            Some(_) => " (the server reported 0 generated tokens)",
            None => " (and no token usage)",
        };
        let content_type = match self.content_type.as_deref() {
            Some(ct) if !ct.to_ascii_lowercase().starts_with("text/event-stream") => {
                format!("; its Content-Type was {ct}")
            }
            _ => String::new(),
        };
        self.fail(
            ErrorKind::EmptyResponse,
            format!("the response completed without any content token{reported}{content_type}"),
        );
    }

    /// A non-streamed response: one JSON object.
    pub fn on_whole_body(&mut self, body: &[u8], now: Instant) {
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
                self.keep(text, &chunk);
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
                Ok(chunk) => {
                    self.keep(data, &chunk);
                    self.on_chunk(&chunk, now)
                }
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
        let r = &mut self.received;
        r.events += 1;
        r.content_bytes = r.content_bytes.saturating_add(chunk.content_bytes as u64);
        r.reasoning_bytes = r
            .reasoning_bytes
            .saturating_add(chunk.reasoning_bytes as u64);
        if chunk.has_reasoning {
            self.timing.first_reasoning.get_or_insert(now);
        }
        if chunk.content_bytes > 0 {
            self.timing.tokens.push(now);
        }
        if let Some(usage) = &chunk.usage {
            self.usage_prompt = usage.prompt_tokens.or(self.usage_prompt);
            self.usage_output = usage.completion_tokens.or(self.usage_output);
        }
        false
    }
}

/// The SSE side of a streamed response, fed read by read.
pub(super) struct EventStream {
    parser: SseParser,
    /// `[DONE]`, an error event or a failing chunk ended the stream.
    pub done: bool,
    broken: Option<SseError>,
    /// Events dispatched so far, and which of them brought the first token.
    events: u64,
    first_token_event: Option<u64>,
}

impl EventStream {
    pub fn new(limits: Limits) -> Self {
        EventStream {
            parser: SseParser::with_limit(limits.per_buffer),
            done: false,
            broken: None,
            events: 0,
            first_token_event: None,
        }
    }

    /// Whether the first token's event was the last thing fed: nothing came
    /// after it, not even part of another event. Then the newest bytes read
    /// were the first token's own.
    pub fn ends_with_first_token(&self) -> bool {
        self.first_token_event == Some(self.events) && self.parser.is_between_events()
    }

    pub fn feed(&mut self, exchange: &mut Exchange, bytes: &[u8], now: Instant) {
        if self.done || self.broken.is_some() {
            return;
        }
        exchange.timing.first_byte.get_or_insert(now);
        let (done, events, first) = (
            &mut self.done,
            &mut self.events,
            &mut self.first_token_event,
        );
        let fed = self.parser.feed(bytes, |event| {
            *events += 1;
            if !*done {
                // Only until the first token: after it, one check of `first`.
                let awaiting_first = first.is_none() && exchange.timing.tokens.is_empty();
                *done = exchange.on_event(event, now);
                if awaiting_first && !exchange.timing.tokens.is_empty() {
                    *first = Some(*events);
                }
            }
        });
        if let Err(e) = fed {
            self.broken = Some(e);
        }
    }

    /// Fails the request if the stream broke in the last [`feed`](Self::feed);
    /// returns whether it did.
    pub fn take_broken(&mut self, exchange: &mut Exchange) -> bool {
        let Some(e) = self.broken.take() else {
            return false;
        };
        match e {
            SseError::LineTooLong { .. } | SseError::EventTooLarge { .. } => {
                exchange.too_large(format!("broken event stream: {e}"));
            }
            _ => exchange.fail(
                ErrorKind::MalformedEvent,
                format!("broken event stream: {e}"),
            ),
        }
        true
    }

    /// At the end of the body: servers may close without `data: [DONE]`; that is
    /// fine if every event was complete.
    pub fn finish(&mut self, exchange: &mut Exchange) {
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
