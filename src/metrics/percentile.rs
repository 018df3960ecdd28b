//! The one percentile method used everywhere: linear interpolation between closest
//! ranks (Hyndman & Fan definition 7), numpy's default and what vLLM's benchmark
//! uses, so our p99 is comparable with theirs.

/// The `p`-th percentile (0–100) of already **sorted** data; `None` when empty.
///
/// rank = p/100 · (n − 1); the result interpolates between the samples on either
/// side of that rank.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from `numpy.percentile(x, q)` (method="linear").
    #[test]
    fn matches_numpy_linear() {
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(percentile_sorted(&x, 50.0), Some(3.0));
        // np.percentile([1,2,3,4,10], 90) = 7.6
        assert!((percentile_sorted(&x, 90.0).unwrap() - 7.6).abs() < 1e-12);
        assert!((percentile_sorted(&x, 99.0).unwrap() - 9.76).abs() < 1e-12);
        assert_eq!(percentile_sorted(&x, 0.0), Some(1.0));
        assert_eq!(percentile_sorted(&x, 100.0), Some(10.0));
        assert_eq!(percentile_sorted(&[5.0], 99.0), Some(5.0));
        assert_eq!(percentile_sorted(&[], 50.0), None);
    }
}
