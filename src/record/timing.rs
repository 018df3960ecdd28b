//! The raw instants of a request in flight, and every duration derived from them
//! (TTFT, ITL, TPOT, E2E), each by one method.

use std::time::{Duration, Instant};

use super::itl::TokenTimes;

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
    /// How long the bytes of the first token had waited in the kernel's socket
    /// buffer when the client read them (and stamped the token): the client's own
    /// share of the TTFT. `None` where the kernel does not say (TLS, reqwest, not
    /// Linux, a packet it did not stamp).
    pub first_token_wait: Option<FirstTokenWait>,
    /// When the response was complete (or failed).
    pub end: Instant,
}

/// The first token's wait in the kernel before the client read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstTokenWait {
    /// The read ended with the first token: the kernel's stamp is its own.
    Exact(Duration),
    /// The read also took what came after it; the kernel stamps the newest
    /// bytes of a read, so the first token waited at least this long.
    AtLeast(Duration),
}

impl FirstTokenWait {
    /// The wait when it is the first token's own.
    pub fn exact(self) -> Option<Duration> {
        match self {
            FirstTokenWait::Exact(d) => Some(d),
            FirstTokenWait::AtLeast(_) => None,
        }
    }
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
            first_token_wait: None,
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
    /// [`ITL_EXACT_CAP`](super::ITL_EXACT_CAP) of them (the rest are in [`TokenTimes::rest`]).
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

#[cfg(test)]
mod tests {
    use super::*;

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
