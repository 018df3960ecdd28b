//! The streamed response body: one SSE chunk per scheduled deadline.
//!
//! `TokenStream` is a hand-written `Stream` rather than a spawned task feeding
//! a channel: hyper polls it directly from the connection task, so a stream
//! costs one timer entry and one reusable buffer, and a chunk costs one wake-up
//! from the server's pacer, a few `memcpy`s and one socket write. Every
//! deadline is the previous deadline plus one step (see `timing`), so late
//! wake-ups never accumulate. Returning `Err` from the stream makes hyper abort
//! the connection without the final chunk of the chunked encoding, which is how
//! a crashed server looks to a client.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;

use super::faults::Faults;
use super::frames::{Frames, Usage};
use super::pacer::PacedSleep;
use super::request::Api;
use super::request_log::Stamps;
use super::state::ActiveGuard;
use super::timing::Pace;
use crate::config::UsageMode;

/// Everything decided about an accepted request when it arrives.
#[derive(Debug)]
pub(crate) struct Plan {
    pub api: Api,
    /// Request number: the id is `chatcmpl-<index>` / `cmpl-<index>`.
    pub index: u64,
    /// Unix time of arrival.
    pub created: u64,
    /// Model name echoed back: the requested one, else the configured one.
    pub model: String,
    pub frames: Frames,
    /// Tokens to generate.
    pub tokens: u32,
    /// `"length"` when max_tokens was reached, `"stop"` otherwise.
    pub finish: &'static str,
    pub prompt_tokens: u64,
    pub tokens_per_chunk: u32,
    /// How usage is sent; `None` when the client did not ask for it.
    pub usage: Option<UsageMode>,
    pub send_done: bool,
    pub faults: Faults,
    /// Length of an injected stall.
    pub stall: std::time::Duration,
    /// Timestamps for `--request-log`; `None` when there is no log.
    pub stamps: Option<Stamps>,
}

impl Plan {
    pub fn chunks(&self) -> u32 {
        self.tokens.div_ceil(self.tokens_per_chunk.max(1))
    }

    /// Chunk at which a cut, stall or malformed chunk happens: "half-way".
    pub fn midpoint(&self) -> u32 {
        self.chunks() / 2
    }

    pub fn usage(&self) -> Usage {
        Usage {
            prompt: self.prompt_tokens,
            completion: u64::from(self.tokens),
        }
    }
}

/// The body of a streamed response.
pub(crate) struct TokenStream {
    active: ActiveGuard,
    plan: Plan,
    pace: Pace,
    /// When the next chunk is due.
    deadline: Instant,
    sleep: PacedSleep,
    /// Index of the next chunk.
    chunk: u32,
    tokens_sent: u32,
    /// Reused for every chunk: `split()` hands out the written bytes and, once
    /// hyper has dropped them, the allocation is reclaimed by the next write.
    buf: BytesMut,
    /// An injected cut is due: abort at the next poll.
    cutting: bool,
    finished: bool,
    /// The last chunk went out and the response is well formed.
    complete: bool,
}

impl TokenStream {
    /// `first_deadline` is when the first chunk is due (arrival + TTFT).
    pub fn new(
        active: ActiveGuard,
        plan: Plan,
        pace: Pace,
        first_deadline: Instant,
    ) -> TokenStream {
        let sleep = active.shared().pacer.sleep_until(first_deadline);
        TokenStream {
            active,
            plan,
            pace,
            deadline: first_deadline,
            sleep,
            chunk: 0,
            tokens_sent: 0,
            buf: BytesMut::with_capacity(1024),
            cutting: false,
            finished: false,
            complete: false,
        }
    }

    /// Renders the next chunk (plus, after the last, the usage chunk and
    /// `[DONE]`) into `buf`; returns whether the response is complete.
    fn render_chunk(&mut self) -> bool {
        let plan = &self.plan;
        let first = self.tokens_sent;
        let count = plan.tokens_per_chunk.min(plan.tokens - first);
        let last = first + count == plan.tokens;
        let out = &mut self.buf;
        if self.chunk == 0 {
            // Sent together with the first token rather than at arrival, as
            // vLLM does, so clients that time the first event see the TTFT.
            plan.frames.role(out);
        }
        if plan.faults.malformed && self.chunk == plan.midpoint() {
            plan.frames.malformed(out, first, count);
        } else {
            let finish = last.then_some(plan.finish);
            let usage = (last && plan.usage == Some(UsageMode::OnLastChunk)).then(|| plan.usage());
            plan.frames.content(out, first, count, finish, usage);
        }
        if last {
            if plan.usage == Some(UsageMode::Separate) {
                plan.frames.usage(out, plan.usage());
            }
            if plan.send_done {
                Frames::done(out);
            }
        }
        self.tokens_sent += count;
        self.chunk += 1;
        let counters = &self.active.shared().counters;
        counters
            .output_tokens_total
            .fetch_add(u64::from(count), Relaxed);
        last
    }

    /// Ends the stream with an error, which makes hyper drop the connection.
    fn abort(&mut self, why: &'static str) -> Poll<Option<io::Result<Bytes>>> {
        self.finished = true;
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            why,
        ))))
    }
}

impl Stream for TokenStream {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // All fields are Unpin, so the stream is too.
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if this.cutting {
            this.active
                .shared()
                .counters
                .requests_failed_injected
                .fetch_add(1, Relaxed);
            return this.abort("injected disconnect");
        }
        ready!(Pin::new(&mut this.sleep).poll(cx));
        let shared = this.active.shared();
        let now = Instant::now();
        shared
            .counters
            .record_lateness(now.saturating_duration_since(this.deadline));
        if shared.is_closing() {
            return this.abort("simulated server is shutting down");
        }
        if this.plan.faults.disconnect && this.chunk == this.plan.midpoint() {
            // hyper discards its unflushed write buffer when a body fails, and
            // it only flushes when the body is pending. Yielding once first
            // makes the chunks sent before the cut reach the client, as they
            // would from a server that crashed mid-stream.
            this.cutting = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Some(stamps) = &mut this.plan.stamps {
            stamps.chunk(now);
        }
        if this.render_chunk() {
            this.finished = true;
            let counters = &this.active.shared().counters;
            if this.plan.faults.malformed {
                counters.requests_failed_injected.fetch_add(1, Relaxed);
            } else {
                counters.requests_ok.fetch_add(1, Relaxed);
                this.complete = true;
            }
        } else {
            // The capacity model reads the load now, so a stream slows down
            // and speeds up as other requests come and go.
            let mut next = this.deadline + this.pace.step(this.active.active_now());
            if this.plan.faults.stall && this.chunk == this.plan.midpoint() {
                next += this.plan.stall;
            }
            this.deadline = next;
            this.sleep.reset(next);
        }
        Poll::Ready(Some(Ok(this.buf.split().freeze())))
    }
}

/// Logs the request when it ends, however it ended (finished, cut, or the client
/// went away).
impl Drop for TokenStream {
    fn drop(&mut self) {
        if let (Some(log), Some(stamps)) = (&self.active.shared().request_log, &self.plan.stamps) {
            log.write(&stamps.entry(self.plan.index, self.complete));
        }
    }
}
