//! What the client hands the runner when a request ends: its instants, status,
//! error, usage and connection, before it becomes a row.

use std::time::Duration;

use super::error_kind::ErrorKind;
use super::flags::Received;
use super::timing::RequestTiming;

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
