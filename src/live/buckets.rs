//! Histogram bucket bounds, in seconds, chosen for LLM serving latencies.
//!
//! Prometheus computes quantiles by interpolating inside a bucket, so a bucket's
//! width is the error a quantile can have: bounds are dense where latencies of a
//! healthy server fall and sparse in the tails. Every bound of vLLM's own TTFT and
//! inter-token histograms (`vllm:time_to_first_token_seconds`,
//! `vllm:inter_token_latency_seconds`, `vllm:time_per_output_token_seconds`) is a
//! bound here too (tests/live_dashboard.rs checks it on the fixture), so the
//! client's and the server's quantiles on one Grafana panel are interpolated over
//! the same edges and differ only by what happened between them.

/// Time to first token: 1 ms (a warm prefix cache on a small model) to 10+ minutes
/// (a long prompt queued behind a saturated server).
pub const TTFT_S: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75,
    1.0, 1.5, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0,
];

/// Gaps between streamed chunks, and time per output token: 0.1 ms (several tokens
/// read at once, speculative decoding) to seconds (a stalled stream).
pub const ITL_S: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04,
    0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
];

/// Whole requests: 10 ms (a short non-streamed answer) to half an hour.
pub const E2E_S: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
    40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0,
];

/// How late the client was: 50 µs (a precise timer on a quiet machine) to a minute
/// (an open loop far behind its schedule). 1 ms and 2 ms are bounds, as they are
/// the limits of a late send and of a late runtime (`metrics::health`).
pub const LAG_S: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0, 30.0, 60.0,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::health::{DISPATCH_LAG_LIMIT_MS, SCHED_LAG_LIMIT_MS};
    use crate::metrics::summary::LATE_THRESHOLD_MS;

    #[test]
    fn bounds_increase_strictly() {
        for bounds in [TTFT_S, ITL_S, E2E_S, LAG_S] {
            assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
        }
    }

    /// A quantile near a limit the verdicts use is exact at the limit itself.
    #[test]
    fn the_verdicts_limits_are_bounds() {
        for limit_ms in [SCHED_LAG_LIMIT_MS, DISPATCH_LAG_LIMIT_MS, LATE_THRESHOLD_MS] {
            assert!(LAG_S.contains(&(limit_ms / 1000.0)), "{limit_ms} ms");
        }
    }
}
