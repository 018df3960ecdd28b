//! State shared by every request of one server: the config, live counters and
//! the shutdown flag.
//!
//! Counters are plain atomics updated with `Relaxed` ordering: each is an
//! independent tally read only for reporting, so no request ever waits on a
//! lock, even at thousands of tokens per millisecond.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::pacer::Pacer;
use super::prefix_cache::PrefixCache;
use super::request_log::RequestLog;
use crate::config::SimConfig;

/// A snapshot of what the server has done so far.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SimStats {
    /// Requests to the completion endpoints, whatever their outcome.
    pub requests_total: u64,
    /// Responses served in full (not counting injected faults).
    pub requests_ok: u64,
    /// Requests broken on purpose: 429, 500, cut streams, malformed chunks.
    pub requests_failed_injected: u64,
    /// Tokens sent (or, for a cut stream, sent before the cut).
    pub output_tokens_total: u64,
    /// Prompt tokens of requests that were accepted for generation.
    pub prompt_tokens_total: u64,
    /// Requests being generated right now.
    pub active_requests: u64,
    /// Mean delay between a chunk's scheduled time and when it was handed to
    /// the connection; a large value means the simulator itself is the
    /// bottleneck.
    pub lateness_mean_ms: f64,
    /// 99th percentile of that delay, to 10 µs (from a fixed histogram, so the
    /// counters stay the same size however long the server runs).
    pub lateness_p99_ms: f64,
    /// Largest such delay.
    pub lateness_max_ms: f64,
    /// `--prefix-cache`: prompt tokens looked up, and found.
    pub prefix_cache_queries: u64,
    pub prefix_cache_hits: u64,
}

/// Width of one lateness bucket.
const LATENESS_BUCKET_NS: u64 = 10_000;
/// Buckets of 10 µs up to 10 ms; the last one collects everything later.
const LATENESS_BUCKETS: usize = 1001;

/// Live counters behind [`SimStats`] and `/metrics`.
#[derive(Debug)]
pub(crate) struct Counters {
    pub requests_total: AtomicU64,
    pub requests_ok: AtomicU64,
    pub requests_failed_injected: AtomicU64,
    pub output_tokens_total: AtomicU64,
    pub prompt_tokens_total: AtomicU64,
    pub active_requests: AtomicU64,
    pub lateness_sum_ns: AtomicU64,
    pub lateness_count: AtomicU64,
    pub lateness_max_ns: AtomicU64,
    lateness_buckets: Box<[AtomicU64]>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            requests_total: AtomicU64::new(0),
            requests_ok: AtomicU64::new(0),
            requests_failed_injected: AtomicU64::new(0),
            output_tokens_total: AtomicU64::new(0),
            prompt_tokens_total: AtomicU64::new(0),
            active_requests: AtomicU64::new(0),
            lateness_sum_ns: AtomicU64::new(0),
            lateness_count: AtomicU64::new(0),
            lateness_max_ns: AtomicU64::new(0),
            lateness_buckets: (0..LATENESS_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Counters {
    pub fn record_lateness(&self, late: Duration) {
        // u64 nanoseconds overflow after ~584 years of summed lateness.
        let ns = u64::try_from(late.as_nanos()).unwrap_or(u64::MAX);
        self.lateness_sum_ns.fetch_add(ns, Relaxed);
        self.lateness_count.fetch_add(1, Relaxed);
        self.lateness_max_ns.fetch_max(ns, Relaxed);
        let bucket = usize::try_from(ns / LATENESS_BUCKET_NS)
            .unwrap_or(usize::MAX)
            .min(LATENESS_BUCKETS - 1);
        self.lateness_buckets[bucket].fetch_add(1, Relaxed);
    }

    /// The `q` quantile (0–1) of lateness in ms: the upper edge of the bucket
    /// that holds it (the maximum when it falls in the overflow bucket).
    pub fn lateness_quantile_ms(&self, q: f64) -> f64 {
        let counts: Vec<u64> = self
            .lateness_buckets
            .iter()
            .map(|b| b.load(Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                if i == LATENESS_BUCKETS - 1 {
                    break;
                }
                let upper_ns = (i as u64 + 1) * LATENESS_BUCKET_NS;
                let max_ns = self.lateness_max_ns.load(Relaxed);
                return upper_ns.min(max_ns) as f64 / 1e6;
            }
        }
        self.lateness_max_ns.load(Relaxed) as f64 / 1e6
    }

    pub fn snapshot(&self) -> SimStats {
        let count = self.lateness_count.load(Relaxed);
        let sum_ns = self.lateness_sum_ns.load(Relaxed);
        SimStats {
            requests_total: self.requests_total.load(Relaxed),
            requests_ok: self.requests_ok.load(Relaxed),
            requests_failed_injected: self.requests_failed_injected.load(Relaxed),
            output_tokens_total: self.output_tokens_total.load(Relaxed),
            prompt_tokens_total: self.prompt_tokens_total.load(Relaxed),
            active_requests: self.active_requests.load(Relaxed),
            lateness_mean_ms: if count == 0 {
                0.0
            } else {
                sum_ns as f64 / count as f64 / 1e6
            },
            lateness_p99_ms: self.lateness_quantile_ms(0.99),
            lateness_max_ms: self.lateness_max_ns.load(Relaxed) as f64 / 1e6,
            prefix_cache_queries: 0,
            prefix_cache_hits: 0,
        }
    }
}

/// Everything a request handler needs, behind one `Arc`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: SimConfig,
    pub counters: Counters,
    /// Index of the next completion request; ids and fault draws derive from it.
    next_index: AtomicU64,
    /// Set when a graceful shutdown ran out of patience: streams still running
    /// end at their next chunk instead of holding the process open.
    closing: AtomicBool,
    /// Unix time the server started, reported as the model's `created`.
    pub started_unix: u64,
    /// `--request-log`: one line per request with its real timestamps.
    pub request_log: Option<RequestLog>,
    /// Wakes responses when their next chunk (or a whole answer) is due.
    pub pacer: Arc<Pacer>,
    /// `--prefix-cache`: the blocks earlier prompts computed.
    pub prefix_cache: Option<PrefixCache>,
}

impl Shared {
    pub fn new(config: SimConfig, request_log: Option<RequestLog>, pacer: Arc<Pacer>) -> Shared {
        Shared {
            pacer,
            prefix_cache: config.prefix_cache.then(PrefixCache::default),
            config,
            counters: Counters::default(),
            next_index: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            started_unix: unix_now(),
            request_log,
        }
    }

    pub fn next_index(&self) -> u64 {
        self.next_index.fetch_add(1, Relaxed)
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Relaxed)
    }

    pub fn close(&self) {
        self.closing.store(true, Relaxed);
    }
}

/// Seconds since the Unix epoch, as OpenAI's `created` fields carry.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Counts a request as active (for the capacity model and the gauges) for as
/// long as it lives: dropping it, whether the response finished or the client
/// went away, counts it out again.
#[derive(Debug)]
pub(crate) struct ActiveGuard {
    shared: Arc<Shared>,
}

impl ActiveGuard {
    /// Registers a new active request; returns the guard and how many requests
    /// are active including this one.
    pub fn enter(shared: Arc<Shared>) -> (ActiveGuard, u64) {
        let active = shared.counters.active_requests.fetch_add(1, Relaxed) + 1;
        (ActiveGuard { shared }, active)
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Requests active right now, this one included.
    pub fn active_now(&self) -> u64 {
        self.shared.counters.active_requests.load(Relaxed)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.shared.counters.active_requests.fetch_sub(1, Relaxed);
    }
}
