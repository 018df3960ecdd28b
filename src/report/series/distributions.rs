//! Distributions downsampled for a chart: latency CDFs as quantile points and the
//! inter-token latencies as an equal-width histogram.

use hdrhistogram::Histogram;

use super::{ItlHistogram, ITL_BINS, ITL_RANGE_QUANTILE, MAX_CDF_POINTS};
use crate::metrics::percentile::percentile_sorted;
use crate::metrics::samples::Samples;

/// Quantile points of `samples` (sorted here). Few samples give the empirical CDF
/// as steps (each sample a riser, so twelve requests do not look like a smooth
/// curve); up to [`MAX_CDF_POINTS`] give every sample; more give evenly spaced
/// quantiles plus a denser tail, computed with the same linear interpolation as
/// the summary's percentiles so the curve passes through the table's p50 and p99.
pub fn cdf(samples: &mut [f64]) -> Vec<(f64, f64)> {
    crate::metrics::percentile::sort_floats(samples);
    let n = samples.len();
    if n == 0 {
        return Vec::new();
    }
    if 2 * n <= MAX_CDF_POINTS {
        let share = |i: usize| i as f64 / n as f64;
        return samples
            .iter()
            .enumerate()
            .flat_map(|(i, &x)| [(x, share(i)), (x, share(i + 1))])
            .collect();
    }
    if n <= MAX_CDF_POINTS {
        return samples
            .iter()
            .enumerate()
            .map(|(i, &x)| (x, (i + 1) as f64 / n as f64))
            .collect();
    }
    quantile_points(|q| percentile_sorted(samples, q * 100.0))
}

/// [`cdf`] of bounded samples: exact while they are, else the same quantiles read
/// from their histogram (within 0.1%, as the summary's percentiles beyond its cap).
pub(super) fn cdf_of(samples: &mut Samples) -> Vec<(f64, f64)> {
    if let Some(exact) = samples.exact_mut() {
        return cdf(exact);
    }
    quantile_points(|q| samples.approximate_quantile(q))
}

/// Evenly spaced quantiles plus a denser tail, at most [`MAX_CDF_POINTS`].
fn quantile_points(value: impl Fn(f64) -> Option<f64>) -> Vec<(f64, f64)> {
    const TAIL: [f64; 5] = [0.99, 0.995, 0.999, 0.9995, 0.9999];
    let even = MAX_CDF_POINTS - TAIL.len() - 1;
    let mut qs: Vec<f64> = (0..=even).map(|i| i as f64 / even as f64).collect();
    qs.extend(TAIL);
    qs.sort_unstable_by(f64::total_cmp);
    qs.dedup();
    qs.into_iter()
        .filter_map(|q| value(q).map(|x| (x, q)))
        .collect()
}

pub(super) fn itl_histogram(h: &Histogram<u64>) -> ItlHistogram {
    let total = h.len();
    if total == 0 {
        return ItlHistogram::default();
    }
    let lo_us = h.min() as f64;
    let hi_us = (h.value_at_quantile(ITL_RANGE_QUANTILE) as f64).max(lo_us + 1.0);
    let bin_us = (hi_us - lo_us) / ITL_BINS as f64;
    let mut counts = vec![0u64; ITL_BINS];
    let mut above = 0;
    for v in h.iter_recorded() {
        // hdrhistogram reports the highest value equivalent to the recorded ones;
        // the lowest keeps the minimum in the first bin.
        let value = h.lowest_equivalent(v.value_iterated_to()) as f64;
        if value > hi_us {
            above += v.count_at_value();
            continue;
        }
        let i = (((value - lo_us) / bin_us) as usize).min(ITL_BINS - 1);
        counts[i] += v.count_at_value();
    }
    ItlHistogram {
        bin_ms: bin_us / 1000.0,
        bins: counts
            .into_iter()
            .enumerate()
            .map(|(i, c)| ((lo_us + i as f64 * bin_us) / 1000.0, c))
            .collect(),
        above,
        total,
    }
}
