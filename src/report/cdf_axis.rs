//! Where a latency CDF's x-axis ends. One very slow request would otherwise stretch
//! the axis to its latency and squeeze every other request into the first few
//! pixels, so the axis ends at the 99.5th percentile when the tail reaches much
//! further, the curves stop there, and the axis title says how far the tail goes.

use std::ops::Range;

/// The share of requests the axis always shows.
const SHOWN_SHARE: f64 = 0.995;
/// The tail is cut only when the slowest request lies this many times further from
/// the axis start than the 99.5th percentile.
const STRETCH: f64 = 1.5;

/// The x-range of CDFs `curves` (points `(latency, share at or below)`, sorted), and,
/// when the tail was cut, the slowest latency left out.
pub fn x_range(
    curves: &[&[(f64, f64)]],
    padded: impl Fn(Vec<f64>) -> Range<f64>,
) -> (Range<f64>, Option<f64>) {
    let all: Vec<f64> = curves.iter().flat_map(|c| c.iter().map(|p| p.0)).collect();
    let full = padded(all.clone());
    let slowest = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let fastest = all.iter().copied().fold(f64::INFINITY, f64::min);
    let shown = curves
        .iter()
        .filter_map(|c| c.iter().find(|p| p.1 >= SHOWN_SHARE).map(|p| p.0))
        .fold(f64::NEG_INFINITY, f64::max);
    if !shown.is_finite() || !slowest.is_finite() {
        return (full, None);
    }
    let origin = full.start.min(fastest);
    if slowest - origin <= STRETCH * (shown - origin) {
        return (full, None);
    }
    let kept: Vec<f64> = all.into_iter().filter(|&x| x <= shown).collect();
    (padded(kept), Some(slowest))
}

/// `points` up to `end`, with the curve carried to `end` at the share it had there.
pub fn clip(points: &[(f64, f64)], end: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = points.iter().copied().take_while(|p| p.0 <= end).collect();
    if out.len() < points.len() {
        let share = out.last().map_or(0.0, |p| p.1);
        out.push((end, share));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(values: Vec<f64>) -> Range<f64> {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        lo.min(0.0)..hi
    }

    /// 1,000 requests between 10 and 20 ms.
    fn body() -> Vec<(f64, f64)> {
        (1..=1000)
            .map(|i| (10.0 + i as f64 / 100.0, i as f64 / 1000.0))
            .collect()
    }

    #[test]
    fn one_slow_request_does_not_stretch_the_axis() {
        let mut run = body();
        for p in &mut run {
            p.1 *= 1000.0 / 1001.0;
        }
        run.push((5000.0, 1.0));
        let (range, cut) = x_range(&[&run], plain);
        assert_eq!(cut, Some(5000.0));
        assert!(range.end < 20.0, "{range:?}");
        let clipped = clip(&run, range.end);
        assert_eq!(clipped.last().unwrap().0, range.end);
        assert!(clipped.iter().all(|p| p.0 <= range.end));
    }

    #[test]
    fn a_tail_close_to_the_body_is_drawn_whole() {
        let run = body();
        let (range, cut) = x_range(&[&run], plain);
        assert_eq!((range, cut), (0.0..20.0, None));
        // The baseline's tail counts too: both curves end inside the axis.
        let slower: Vec<(f64, f64)> = run.iter().map(|&(x, y)| (x * 1.3, y)).collect();
        let (range, cut) = x_range(&[&run, &slower], plain);
        assert_eq!((range, cut), (0.0..26.0, None));
        assert_eq!(clip(&run, 26.0), run);
    }
}
