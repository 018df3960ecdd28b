//! How much of a response one request may buffer, chosen for the whole run.
//!
//! A server decides how long a line, an event or a non-streamed body is, and the
//! client must hold each whole before it can parse it. A fixed 16 MiB cap per
//! buffer let a hostile server cost ~40 MB per stream, ~40 GB at 1,024 streams.
//! Here the cap comes from one budget for the run, [`RUN_BUDGET`], shared by the
//! streams that can be in flight at once: every stream may fill its buffers
//! together and the run still fits. A stream holds at most two capped buffers at a
//! time (the SSE parser's unfinished line and its unfinished event; or one
//! non-streamed body), and they never grow past the cap (see `grow_within`), so per
//! stream the cost is at most 2 × [`Limits::per_buffer`], plus the fixed costs
//! listed in docs/performance.md. A response that needs more fails as `too_large`
//! with a message that says how to raise the cap.

/// Bytes the capped buffers of all streams together may hold.
pub const RUN_BUDGET: usize = 512 * 1024 * 1024;
/// The cap never goes above this (the cap before it was shared): far above any
/// real streamed chunk (under 1 KiB) or non-streamed completion (a few hundred
/// KiB).
pub const MAX_PER_BUFFER: usize = 16 * 1024 * 1024;
/// Nor below this, however many streams: a streamed chunk still has 64× its usual
/// size, a non-streamed completion of ~16k tokens still fits. Past 4,096 streams
/// the budget is exceeded by this floor rather than lowered further.
pub const MIN_PER_BUFFER: usize = 64 * 1024;

/// The caps of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on one SSE line, on one event's data, and on a whole non-streamed body.
    pub per_buffer: usize,
    /// The streams it was chosen for.
    pub streams: usize,
}

impl Limits {
    /// Caps for `streams` requests in flight at once.
    pub fn for_streams(streams: usize) -> Limits {
        let streams = streams.max(1);
        let per_buffer = (RUN_BUDGET / (2 * streams)).clamp(MIN_PER_BUFFER, MAX_PER_BUFFER);
        Limits {
            per_buffer,
            streams,
        }
    }

    /// Worst case for all streams' capped buffers together.
    pub fn run_worst_case(&self) -> usize {
        self.streams.saturating_mul(2 * self.per_buffer)
    }

    /// What to tell a user whose response hit the cap.
    pub fn explain(&self) -> String {
        let kib = self.per_buffer / 1024;
        if self.per_buffer >= MAX_PER_BUFFER {
            format!("the cap is {kib} KiB per request")
        } else {
            format!(
                "the cap is {kib} KiB per request: {} MiB shared by {} concurrent streams; \
                 lower the concurrency to raise it",
                RUN_BUDGET >> 20,
                self.streams
            )
        }
    }
}

/// How much to `reserve_exact` so that `extra` more bytes fit in a buffer of
/// `len` bytes and `capacity`: doubling, as `Vec` grows, but never past `cap`
/// (plain doubling would reach twice the cap). Callers check the cap first.
pub fn reserve_within(len: usize, capacity: usize, extra: usize, cap: usize) -> usize {
    let needed = len.saturating_add(extra);
    if needed <= capacity {
        return 0;
    }
    needed.max(capacity.saturating_mul(2)).min(cap.max(needed)) - len
}

/// Appends `bytes` to `buf` if the result stays within `cap`, growing it with
/// [`reserve_within`]; returns false (appending nothing) when it would not fit.
pub fn grow_within(buf: &mut Vec<u8>, bytes: &[u8], cap: usize) -> bool {
    if buf.len() + bytes.len() > cap {
        return false;
    }
    buf.reserve_exact(reserve_within(buf.len(), buf.capacity(), bytes.len(), cap));
    buf.extend_from_slice(bytes);
    true
}

/// Reads a whole body of at most `cap` bytes: for the pages llm-bench only probes
/// or scrapes (`/models`, `/version`, `/metrics`), whose length a server decides
/// too. An endless body made one such probe hold 2.5 GB before its timeout.
///
/// # Errors
///
/// A one-line reason: the body is larger than `cap`, or could not be read.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    let too_large = || format!("the answer is larger than {} KiB", cap / 1024);
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(bytes) = response
        .chunk()
        .await
        .map_err(|e| format!("cannot read the answer: {}", e.without_url()))?
    {
        if !grow_within(&mut body, &bytes, cap) {
            return Err(too_large());
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_fits_its_budget_up_to_the_floor() {
        for streams in [1, 16, 64, 256, 1024, 4096] {
            let l = Limits::for_streams(streams);
            assert!(
                l.run_worst_case() <= RUN_BUDGET.max(2 * MAX_PER_BUFFER),
                "{l:?}"
            );
        }
        assert_eq!(Limits::for_streams(1).per_buffer, MAX_PER_BUFFER);
        assert_eq!(Limits::for_streams(1024).per_buffer, 256 * 1024);
        assert_eq!(Limits::for_streams(4096).per_buffer, MIN_PER_BUFFER);
        assert_eq!(Limits::for_streams(100_000).per_buffer, MIN_PER_BUFFER);
        assert_eq!(Limits::for_streams(0), Limits::for_streams(1));
    }

    #[test]
    fn the_message_says_how_to_raise_a_shared_cap() {
        assert!(Limits::for_streams(1024)
            .explain()
            .contains("256 KiB per request: 512 MiB shared by 1024 concurrent streams"));
        assert!(!Limits::for_streams(1).explain().contains("lower"));
    }

    #[test]
    fn buffers_never_grow_past_their_cap() {
        let mut buf = Vec::new();
        let cap = 1000;
        for _ in 0..333 {
            assert!(grow_within(&mut buf, b"abc", cap));
        }
        assert_eq!(buf.len(), 999);
        assert!(buf.capacity() <= cap);
        assert!(!grow_within(&mut buf, b"ab", cap));
        assert_eq!(buf.len(), 999);
        assert!(grow_within(&mut buf, b"a", cap));
    }
}
