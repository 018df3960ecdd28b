//! Why a request failed: one kind per cause, counted by kind in every summary,
//! with the names files and tables use.

use std::fmt;

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
}
