//! Samples of one metric, in bounded memory.
//!
//! Up to a cap the samples are kept exactly and [`Stats`] are computed from them,
//! so ordinary runs get exact percentiles. Past the cap (a trial of more than
//! 16,384 requests, or 262,144 inter-token gaps) they are folded into an HDR
//! histogram of microseconds with 3 significant digits: count, mean, standard
//! deviation, min and max stay exact (running sums), percentiles are within 0.1%
//! of the exact value, and memory stops growing with run length. The exact samples the statistical tests
//! need are read from `requests.jsonl`, not from here.

use hdrhistogram::Histogram;

use super::Stats;

/// Per-request metrics (TTFT, E2E, …): exact for trials of up to this many
/// requests (128 KiB per metric). Small on purpose: a trial of a million requests
/// then holds what one of 16k does, so memory does not grow with run length, and
/// its percentiles are off by at most 0.1% (5 µs of a 5 ms value).
pub const PER_REQUEST_CAP: usize = 1 << 14;
/// Inter-token latencies: exact up to this many tokens (2 MiB; 2k requests × 128
/// tokens), then the same 0.1% histogram.
pub const PER_TOKEN_CAP: usize = 1 << 18;

/// Histogram units per sample unit: milliseconds are recorded as microseconds, the
/// resolution rows are written with.
const SCALE: f64 = 1000.0;

#[derive(Debug, Clone)]
pub struct Samples {
    cap: usize,
    exact: Vec<f64>,
    /// Set once the cap was exceeded; `exact` is then empty.
    histogram: Option<Histogram<u64>>,
    count: u64,
    /// Running mean and sum of squared deviations (Welford), valid in both modes.
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Default for Samples {
    fn default() -> Self {
        Samples::with_cap(PER_REQUEST_CAP)
    }
}

impl Samples {
    pub fn with_cap(cap: usize) -> Samples {
        Samples {
            cap,
            exact: Vec::new(),
            histogram: None,
            count: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the cap was exceeded and percentiles are approximate.
    pub fn is_approximate(&self) -> bool {
        self.histogram.is_some()
    }

    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        match &mut self.histogram {
            Some(h) => record(h, x),
            None if self.exact.len() < self.cap => self.exact.push(x),
            None => {
                let mut h = new_histogram();
                for &y in &self.exact {
                    record(&mut h, y);
                }
                record(&mut h, x);
                self.exact = Vec::new();
                self.histogram = Some(h);
            }
        }
    }

    pub fn extend(&mut self, xs: impl IntoIterator<Item = f64>) {
        for x in xs {
            self.push(x);
        }
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Samples) {
        if other.histogram.is_none() && self.histogram.is_none() {
            self.extend(other.exact.iter().copied());
            return;
        }
        // At least one side is a histogram: combine the running sums (Chan et al.'s
        // parallel variance formula) and the histograms.
        let n = self.count + other.count;
        if n == 0 {
            return;
        }
        let delta = other.mean - self.mean;
        let mean = self.mean + delta * other.count as f64 / n as f64;
        let m2 =
            self.m2 + other.m2 + delta * delta * self.count as f64 * other.count as f64 / n as f64;
        let mut h = self.histogram.take().unwrap_or_else(|| {
            let mut h = new_histogram();
            for &y in &self.exact {
                record(&mut h, y);
            }
            h
        });
        match &other.histogram {
            Some(o) => {
                // Same bounds on both sides, so adding cannot fail.
                let _ = h.add(o);
            }
            None => {
                for &y in &other.exact {
                    record(&mut h, y);
                }
            }
        }
        self.exact = Vec::new();
        self.histogram = Some(h);
        self.count = n;
        self.mean = mean;
        self.m2 = m2;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Adds samples known only folded: their exact count, mean, m2 (sum of squared
    /// deviations), min and max, and a histogram of `(value, count)` pairs with 3
    /// significant digits (a row's `itl_rest`). Percentiles become approximate, as
    /// past the cap; the rest stays exact.
    pub fn merge_folded(
        &mut self,
        (count, mean, m2): (u64, f64, f64),
        (min, max): (f64, f64),
        buckets: &[(f64, u64)],
    ) {
        if count == 0 {
            return;
        }
        let mut h = new_histogram();
        for &(value, n) in buckets {
            record_n(&mut h, value, n);
        }
        let folded = Samples {
            cap: self.cap,
            exact: Vec::new(),
            histogram: Some(h),
            count,
            mean,
            m2,
            min,
            max,
        };
        self.merge(&folded);
    }

    /// The samples themselves while they are exact (in the order pushed, or sorted
    /// by an earlier call); `None` once the cap was exceeded.
    pub fn exact_mut(&mut self) -> Option<&mut [f64]> {
        self.histogram
            .is_none()
            .then_some(self.exact.as_mut_slice())
    }

    /// The `q`-quantile (0–1) from the histogram, clamped into the exact range as
    /// [`Samples::stats`] does; `None` while the samples are exact (use
    /// [`Samples::exact_mut`]) or empty.
    pub fn approximate_quantile(&self, q: f64) -> Option<f64> {
        let h = self.histogram.as_ref()?;
        (self.count > 0).then(|| (h.value_at_quantile(q) as f64 / SCALE).clamp(self.min, self.max))
    }

    /// Summary statistics: exact below the cap (sorted once), from the histogram
    /// above it. `None` when empty.
    pub fn stats(&mut self) -> Option<Stats> {
        let Some(h) = &self.histogram else {
            return Stats::from_samples(&mut self.exact);
        };
        if self.count == 0 {
            return None;
        }
        let q = |p: f64| h.value_at_quantile(p / 100.0) as f64 / SCALE;
        Some(Stats {
            count: self.count,
            mean: self.mean,
            stddev: if self.count > 1 {
                (self.m2 / (self.count - 1) as f64).sqrt()
            } else {
                0.0
            },
            min: self.min,
            // The histogram's value for a quantile is its bucket's upper edge:
            // clamp into the exact range.
            p50: q(50.0).clamp(self.min, self.max),
            p90: q(90.0).clamp(self.min, self.max),
            p95: q(95.0).clamp(self.min, self.max),
            p99: q(99.0).clamp(self.min, self.max),
            max: self.max,
        })
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to ~11.6 days in µs; auto-resize covers anything larger.
    let mut h = Histogram::new_with_bounds(1, 1 << 40, 3).expect("valid histogram bounds");
    h.auto(true);
    h
}

fn record(h: &mut Histogram<u64>, x: f64) {
    record_n(h, x, 1);
}

fn record_n(h: &mut Histogram<u64>, x: f64, n: u64) {
    let v = (x * SCALE).round();
    let v = if v.is_finite() && v > 0.0 {
        v as u64
    } else {
        0
    };
    h.saturating_record_n(v, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<f64> {
        // A skewed, deterministic spread of whole-microsecond values.
        (0..n)
            .map(|i| ((i * 7919) % 10_007) as f64 / 10.0 + ((i % 97) as f64).powi(2) / 100.0)
            .map(|x| (x * 1000.0).round() / 1000.0)
            .collect()
    }

    #[test]
    fn below_the_cap_stats_are_exact() {
        let xs = data(1000);
        let mut s = Samples::with_cap(1000);
        s.extend(xs.iter().copied());
        assert!(!s.is_approximate());
        assert_eq!(s.stats(), Stats::from_samples(&mut xs.clone()));
    }

    #[test]
    fn folded_samples_keep_exact_moments_and_close_percentiles() {
        let xs = data(5000);
        let exact = Stats::from_samples(&mut xs.clone()).unwrap();
        // The first 1000 exact, the rest folded as a row's `itl_rest` is.
        let rest = &xs[1000..];
        let mut h = new_histogram();
        rest.iter().for_each(|&x| record(&mut h, x));
        let buckets: Vec<(f64, u64)> = h
            .iter_recorded()
            .map(|v| (v.value_iterated_to() as f64 / SCALE, v.count_at_value()))
            .collect();
        let n = rest.len() as f64;
        let mean = rest.iter().sum::<f64>() / n;
        let m2 = rest.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
        let (lo, hi) = rest
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        let mut s = Samples::with_cap(PER_TOKEN_CAP);
        s.extend(xs[..1000].iter().copied());
        s.merge_folded((rest.len() as u64, mean, m2), (lo, hi), &buckets);
        assert!(s.is_approximate());
        let got = s.stats().unwrap();
        assert_eq!(
            (got.count, got.min, got.max),
            (exact.count, exact.min, exact.max)
        );
        assert!((got.mean - exact.mean).abs() < 1e-9 * exact.mean);
        assert!((got.stddev - exact.stddev).abs() < 1e-9 * exact.stddev);
        for (g, e) in [
            (got.p50, exact.p50),
            (got.p90, exact.p90),
            (got.p99, exact.p99),
        ] {
            assert!((g - e).abs() <= 1e-3 * e + 0.01, "{g} vs {e}");
        }
    }

    #[test]
    fn above_the_cap_percentiles_are_within_a_thousandth() {
        let xs = data(20_000);
        let exact = Stats::from_samples(&mut xs.clone()).unwrap();
        let mut one = Samples::with_cap(5000);
        one.extend(xs.iter().copied());
        // Also built by merging halves, one exact and one spilled.
        let mut a = Samples::with_cap(15_000);
        a.extend(xs[..12_000].iter().copied());
        let mut b = Samples::with_cap(5000);
        b.extend(xs[12_000..].iter().copied());
        a.merge(&b);
        for s in [&mut one, &mut a] {
            assert!(s.is_approximate());
            let got = s.stats().unwrap();
            assert_eq!(got.count, exact.count);
            assert_eq!((got.min, got.max), (exact.min, exact.max));
            assert!((got.mean - exact.mean).abs() < 1e-9 * exact.mean);
            assert!((got.stddev - exact.stddev).abs() < 1e-9 * exact.stddev);
            for (g, e) in [
                (got.p50, exact.p50),
                (got.p90, exact.p90),
                (got.p99, exact.p99),
            ] {
                assert!((g - e).abs() <= 1e-3 * e + 0.01, "{g} vs {e}");
            }
        }
    }
}
