//! What can go wrong on the way to a response head, said so that the reader
//! knows whether the request may have reached the server.

use std::io;
use std::time::Duration;

/// A failure on the way to a response head.
#[derive(Debug)]
pub enum SendError {
    Connect(io::Error),
    /// Writing the request failed after the kernel took `written` of its `total`
    /// bytes.
    Write {
        error: io::Error,
        written: usize,
        total: usize,
    },
    /// No progress for the stall limit while sending the request or waiting for
    /// the head.
    Stalled {
        limit: Duration,
        waiting_for: &'static str,
    },
    /// The server closed the connection after the request was sent, having sent
    /// `head_bytes` of a head.
    Closed {
        reused: bool,
        head_bytes: usize,
    },
    /// The connection broke after the request was sent, before the head was
    /// complete.
    Io {
        error: io::Error,
        reused: bool,
        head_bytes: usize,
    },
    /// The server's answer is not HTTP/1.x.
    Protocol(String),
    /// The response head is longer than `limit` bytes.
    HeadTooLarge {
        limit: usize,
    },
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Sent whole, then nothing back on a connection that served a response
        // before: the server's keep-alive may have closed it, or it may have read
        // the request and died. Either way the request is not sent again.
        let unanswered = "the request may have reached the server, so it was not sent again";
        match self {
            SendError::Connect(e) => write!(f, "connect: {e}"),
            SendError::Write {
                error,
                written,
                total,
            } => write!(
                f,
                "the connection failed while sending the request ({written} of {total} bytes \
                 sent): {error}"
            ),
            SendError::Stalled { limit, waiting_for } => write!(
                f,
                "no progress for {limit:?} (the stall timeout) waiting for {waiting_for}; \
                 if the server queues requests for longer before it answers, raise \
                 --stall-timeout"
            ),
            SendError::Closed {
                reused: true,
                head_bytes: 0,
            } => write!(
                f,
                "the server closed a reused keep-alive connection without answering; \
                 {unanswered}"
            ),
            SendError::Closed { head_bytes: 0, .. } => {
                f.write_str("the server closed the connection without answering")
            }
            SendError::Closed { head_bytes, .. } => write!(
                f,
                "the server closed the connection inside the response head (after \
                 {head_bytes} bytes)"
            ),
            SendError::Io {
                error,
                reused: true,
                head_bytes: 0,
            } => write!(
                f,
                "a reused keep-alive connection failed before any answer ({error}); \
                 {unanswered}"
            ),
            SendError::Io { error, .. } => {
                write!(f, "connection error before the response: {error}")
            }
            SendError::Protocol(why) => write!(f, "not an HTTP/1.1 response: {why}"),
            SendError::HeadTooLarge { limit } => {
                write!(f, "the response head is longer than {} KiB", limit / 1024)
            }
        }
    }
}

/// A request sent whole (or not at all) on a pooled connection that the server
/// then closed without a byte of answer: how a close after each response shows
/// when the request raced it.
pub(super) fn is_unanswered_reuse(error: &SendError) -> bool {
    matches!(
        error,
        SendError::Closed {
            reused: true,
            head_bytes: 0
        } | SendError::Io {
            reused: true,
            head_bytes: 0,
            ..
        }
    )
}
