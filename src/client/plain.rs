//! One request over the lean HTTP/1.1 client ([`super::h1`]): send, classify the
//! head, then feed the body to the exchange as it is read.

use std::time::{Duration, Instant};

use super::exchange::{EventStream, Exchange};
use super::h1::{self, Attempts, BodyError, Endpoint, SendError};
use super::limits::grow_within;
use super::status::{status_message, ErrorBody};
use crate::record::{ErrorKind, FirstTokenWait};

impl Exchange {
    /// Sends the request and reads the response. Returns the body of a response
    /// that is finished for the measurement but not yet read to its end, so its
    /// connection can be reused.
    pub(super) async fn run_plain(
        &mut self,
        endpoint: &Endpoint,
        body: &[u8],
        request_id: Option<&str>,
        stream: bool,
        stall: Duration,
    ) -> Option<h1::Body> {
        let attempts = self.attempts.insert(Attempts::default());
        let (head, mut response) = match endpoint.send(request_id, body, stall, attempts).await {
            Ok(r) => r,
            Err(e) => {
                let kind = match e {
                    SendError::Connect(_) => ErrorKind::Connect,
                    SendError::Stalled { .. } => ErrorKind::Timeout,
                    SendError::Write { .. } | SendError::Closed { .. } | SendError::Io { .. } => {
                        ErrorKind::StreamReset
                    }
                    SendError::Protocol(_) => ErrorKind::MalformedEvent,
                    SendError::HeadTooLarge { .. } => ErrorKind::TooLarge,
                };
                self.fail(kind, e.to_string());
                return None;
            }
        };
        self.timing.headers = Some(response.head_time());
        self.status = Some(head.status);
        if !(200..300).contains(&head.status) {
            let error = read_error_body(&mut response, stall).await;
            self.fail(
                ErrorKind::from_status(head.status),
                status_message(head.status, head.location.as_deref(), &error),
            );
            return Some(response);
        }
        if !self.check_content_type(head.content_type.as_deref(), stream) {
            return None;
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
        let mut events = EventStream::new(self.limits);
        while !events.done {
            let had_token = !self.timing.tokens.is_empty();
            let more = response
                .next(stall, |bytes, now| events.feed(self, bytes, now))
                .await?;
            if !had_token && !self.timing.tokens.is_empty() {
                self.timing.first_token_wait = response.read_wait().map(|waited| {
                    if events.ends_with_first_token() {
                        FirstTokenWait::Exact(waited)
                    } else {
                        FirstTokenWait::AtLeast(waited)
                    }
                });
                response.stop_timing_reads();
            }
            if events.take_broken(self) {
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
        let cap = self.limits.per_buffer;
        let mut body = Vec::new();
        let mut too_large = false;
        while let Some(now) = response
            .next(stall, |bytes, _| {
                too_large = too_large || !grow_within(&mut body, bytes, cap);
            })
            .await?
        {
            self.timing.first_byte.get_or_insert(now);
            if too_large {
                self.too_large(format!("the response body is larger than {cap} bytes"));
                return Ok(());
            }
        }
        // The one token is stamped now, as the last read ends: its wait is that
        // of the body's last bytes.
        self.timing.first_token_wait = response.read_wait().map(FirstTokenWait::Exact);
        self.on_whole_body(&body, Instant::now());
        Ok(())
    }
}

/// Reads the start of an error body, noting whether the connection cut it short.
async fn read_error_body(response: &mut h1::Body, stall: Duration) -> ErrorBody {
    let mut body = ErrorBody::default();
    while !body.is_full() {
        match response.next(stall, |b, _| body.push(b)).await {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                body.cut(match e {
                    BodyError::Io(e) => format!("the connection failed ({e})"),
                    BodyError::Closed => "the server closed the connection".into(),
                    BodyError::Stalled(d) => format!("nothing more arrived for {d:?}"),
                    BodyError::Framing(e) => format!("its framing broke ({e})"),
                });
                break;
            }
        }
    }
    body
}
