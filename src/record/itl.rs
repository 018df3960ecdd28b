//! Inter-token gaps of one response, in memory that does not grow with its length.
//!
//! A server that ignores `max_tokens`, or loops, can stream for as long as the
//! request timeout allows: keeping one timestamp per chunk grew one stream to
//! hundreds of MB and its `requests.jsonl` row with it. So a response keeps its
//! first [`ITL_EXACT_CAP`] gaps exactly (4 bytes each, whole microseconds: the
//! resolution rows are written with) and folds every later gap into an
//! [`ItlRest`]: exact count, mean, standard deviation, min and max, plus an HDR
//! histogram with 3 significant digits (the resolution summaries use past their own
//! caps), so the gaps beyond the cap still reach the summary's percentiles within
//! 0.1%. Per response that is at most 64 KiB of exact gaps and ~92 KiB of
//! histogram, allocated only once a response passes the cap.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Gaps kept exactly per response: every response of up to 16,385 content chunks
/// keeps all of them. 64 KiB per response at most.
pub const ITL_EXACT_CAP: usize = 1 << 14;

/// Arrival times of one response's content chunks: the first and last instants, the
/// count, and the gaps between them (bounded, see the module doc).
#[derive(Debug, Clone, Default)]
pub struct TokenTimes {
    first: Option<Instant>,
    last: Option<Instant>,
    count: u64,
    /// The first [`ITL_EXACT_CAP`] gaps, in whole microseconds.
    gaps_us: Vec<u32>,
    rest: Option<Box<RestFolder>>,
}

impl TokenTimes {
    /// Records a content chunk that arrived at `now`. No allocation once the exact
    /// gaps are full (the vector grows by doubling before that, as `Vec` does).
    #[inline]
    pub fn push(&mut self, now: Instant) {
        self.count += 1;
        let Some(prev) = self.last.replace(now) else {
            self.first = Some(now);
            return;
        };
        // Whole microseconds, as `as_micros` gives them, in u64 arithmetic
        // (`as_micros` works in u128: it was most of this function's cost).
        let gap = now.saturating_duration_since(prev);
        let us = gap
            .as_secs()
            .saturating_mul(1_000_000)
            .saturating_add(u64::from(gap.subsec_micros()));
        let us = u32::try_from(us).unwrap_or(u32::MAX);
        if self.gaps_us.len() < ITL_EXACT_CAP {
            self.gaps_us.push(us);
        } else {
            self.rest.get_or_insert_with(Default::default).record(us);
        }
    }

    /// When the first content chunk arrived.
    pub fn first(&self) -> Option<Instant> {
        self.first
    }

    /// Content chunks received.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The exactly kept gaps, in order.
    pub fn exact_gaps(&self) -> impl ExactSizeIterator<Item = Duration> + '_ {
        self.gaps_us
            .iter()
            .map(|&us| Duration::from_micros(u64::from(us)))
    }

    /// The gaps past [`ITL_EXACT_CAP`], folded; `None` for responses within it.
    pub fn rest(&self) -> Option<ItlRest> {
        self.rest.as_deref().map(RestFolder::to_rest)
    }
}

/// Gaps past the cap while the response is in flight: integer sums, so the mean and
/// standard deviation written to the row are exact.
#[derive(Debug, Clone)]
struct RestFolder {
    count: u64,
    sum: u64,
    sum_sq: u128,
    min: u32,
    max: u32,
    histogram: Histogram<u32>,
}

impl Default for RestFolder {
    fn default() -> Self {
        RestFolder {
            count: 0,
            sum: 0,
            sum_sq: 0,
            min: u32::MAX,
            max: 0,
            histogram: new_histogram(),
        }
    }
}

/// Sized for gaps up to ~4 s (53 KiB), growing to at most ~92 KiB for gaps up to
/// `u32::MAX` µs; 3 significant digits, as the summaries' histograms.
fn new_histogram() -> Histogram<u32> {
    let mut h = Histogram::new_with_bounds(1, 1 << 22, 3).expect("valid histogram bounds");
    h.auto(true);
    h
}

impl RestFolder {
    fn record(&mut self, us: u32) {
        self.count += 1;
        self.sum += u64::from(us);
        self.sum_sq += u128::from(us) * u128::from(us);
        self.min = self.min.min(us);
        self.max = self.max.max(us);
        // Zero-length gaps (two chunks in one read) go to the lowest bucket.
        // `record` grows the histogram; `saturating_record` would clip instead.
        let v = u64::from(us.max(1));
        if self.histogram.record(v).is_err() {
            self.histogram.saturating_record(v);
        }
    }

    fn to_rest(&self) -> ItlRest {
        let n = self.count;
        let mean_us = self.sum as f64 / n as f64;
        // n·Σx² − (Σx)² is exact in integers; only the last division rounds.
        let spread = u128::from(n) * self.sum_sq - u128::from(self.sum) * u128::from(self.sum);
        let stddev_us = if n > 1 {
            (spread as f64 / (n as f64 * (n - 1) as f64)).sqrt()
        } else {
            0.0
        };
        ItlRest {
            count: n,
            mean_ms: mean_us / 1000.0,
            stddev_ms: stddev_us / 1000.0,
            min_ms: f64::from(self.min) / 1000.0,
            max_ms: f64::from(self.max) / 1000.0,
            histogram: self
                .histogram
                .iter_recorded()
                .map(|v| {
                    let us = self.histogram.highest_equivalent(v.value_iterated_to());
                    (us as f64 / 1000.0, v.count_at_value().into())
                })
                .collect(),
        }
    }
}

/// The inter-token gaps of a response beyond its first [`ITL_EXACT_CAP`]: written
/// to its row as `itl_rest`, folded into the summary's ITL statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItlRest {
    /// Gaps folded here.
    pub count: u64,
    pub mean_ms: f64,
    /// Sample standard deviation (n − 1).
    pub stddev_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// `[value_ms, count]` per non-empty bucket of an HDR histogram with 3
    /// significant digits, in increasing order; each value is its bucket's upper
    /// edge, so recording it again lands in the same bucket.
    pub histogram: Vec<(f64, u64)>,
}

impl ItlRest {
    /// m2, the sum of squared deviations from the mean, as running-variance
    /// merges (Chan et al.) take it.
    pub fn m2_ms(&self) -> f64 {
        if self.count > 1 {
            self.stddev_ms * self.stddev_ms * (self.count - 1) as f64
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(gaps_us: impl IntoIterator<Item = u64>) -> TokenTimes {
        let t0 = Instant::now();
        let mut t = TokenTimes::default();
        let mut at = t0;
        t.push(at);
        for g in gaps_us {
            at += Duration::from_micros(g);
            t.push(at);
        }
        t
    }

    #[test]
    fn short_responses_keep_every_gap() {
        let t = times([5000, 5001, 4999]);
        assert_eq!(t.count(), 4);
        let gaps: Vec<u128> = t.exact_gaps().map(|d| d.as_micros()).collect();
        assert_eq!(gaps, [5000, 5001, 4999]);
        assert!(t.rest().is_none());
    }

    #[test]
    fn gaps_past_the_cap_are_folded_with_exact_moments() {
        let extra: Vec<u64> = (0..10_000u64).map(|i| 1000 + (i * 7919) % 3000).collect();
        let all: Vec<u64> = std::iter::repeat_n(5000, ITL_EXACT_CAP)
            .chain(extra.iter().copied())
            .collect();
        let t = times(all.iter().copied());
        assert_eq!(t.count(), all.len() as u64 + 1);
        assert_eq!(t.exact_gaps().len(), ITL_EXACT_CAP);
        let rest = t.rest().expect("folded");
        assert_eq!(rest.count, extra.len() as u64);
        let n = extra.len() as f64;
        let mean = extra.iter().sum::<u64>() as f64 / n;
        let var = extra
            .iter()
            .map(|&x| (x as f64 - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0);
        assert!((rest.mean_ms - mean / 1000.0).abs() < 1e-12);
        assert!((rest.stddev_ms - var.sqrt() / 1000.0).abs() < 1e-9);
        assert_eq!(rest.min_ms, 1.0);
        assert_eq!(rest.max_ms, *extra.iter().max().unwrap() as f64 / 1000.0);
        assert_eq!(
            rest.histogram.iter().map(|(_, c)| c).sum::<u64>(),
            extra.len() as u64
        );
        // Every value sits within 0.1% of a gap it stands for.
        assert!(rest.histogram.windows(2).all(|w| w[0].0 < w[1].0));
        for (v, _) in &rest.histogram {
            let us = v * 1000.0;
            assert!(extra
                .iter()
                .any(|&x| (x as f64 - us).abs() <= 1e-3 * x as f64 + 1.0));
        }
    }

    #[test]
    fn memory_stops_growing_at_the_cap() {
        let mut t = times(std::iter::repeat_n(10, ITL_EXACT_CAP));
        let capacity = t.gaps_us.capacity();
        let mut at = Instant::now() + Duration::from_secs(1);
        for _ in 0..100_000 {
            at += Duration::from_micros(7);
            t.push(at);
        }
        assert_eq!(t.gaps_us.capacity(), capacity);
        assert!(capacity * 4 <= 64 * 1024);
        assert_eq!(t.rest().unwrap().count, 100_000);
    }
}
