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

/// Sorts floats into [`f64::total_cmp`] order: exactly what
/// `v.sort_unstable_by(f64::total_cmp)` leaves (values equal under `total_cmp`
/// have the same bits, so no order among them can show), several times faster for
/// the tens of thousands of latencies a chart's CDF is drawn from.
///
/// An LSD radix sort, one byte at a time, of each float's bits mapped to an
/// unsigned key in the same order (the mapping `total_cmp` itself uses, with the
/// sign bit flipped); bytes that every key shares (the sign and most of the
/// exponent, for latencies) are skipped. Short slices use the comparison sort.
pub fn sort_floats(v: &mut [f64]) {
    const SIGN: u64 = 1 << 63;
    if v.len() < 512 {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    // total_cmp's key: negative numbers get every bit but the sign flipped; then
    // flipping the sign bit turns signed order into unsigned order.
    let key = |x: f64| {
        let bits = x.to_bits();
        (bits ^ ((((bits as i64) >> 63) as u64) >> 1)) ^ SIGN
    };
    let float = |k: u64| {
        let bits = k ^ SIGN;
        f64::from_bits(bits ^ ((((bits as i64) >> 63) as u64) >> 1))
    };
    let mut keys: Vec<u64> = v.iter().map(|&x| key(x)).collect();
    let mut counts = [[0usize; 256]; 8];
    for k in &keys {
        for (byte, count) in counts.iter_mut().enumerate() {
            count[(k >> (8 * byte)) as usize & 0xff] += 1;
        }
    }
    let mut spare = vec![0u64; keys.len()];
    for (byte, count) in counts.iter().enumerate() {
        if count.contains(&keys.len()) {
            continue;
        }
        let mut next = [0usize; 256];
        let mut at = 0;
        for (slot, n) in next.iter_mut().zip(count) {
            *slot = at;
            at += n;
        }
        for &k in &keys {
            let digit = (k >> (8 * byte)) as usize & 0xff;
            spare[next[digit]] = k;
            next[digit] += 1;
        }
        std::mem::swap(&mut keys, &mut spare);
    }
    for (x, k) in v.iter_mut().zip(keys) {
        *x = float(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The radix sort leaves the very bits the comparison sort does, whatever the
    /// values: negatives, both zeros, infinities, NaNs of either sign, subnormals,
    /// repeats.
    #[test]
    fn sort_floats_is_sort_by_total_cmp() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let specials = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::MIN_POSITIVE / 4.0,
            -1e-310,
            f64::MAX,
            f64::MIN,
        ];
        for n in [0, 1, 511, 512, 5000, 50_000] {
            let mut v: Vec<f64> = (0..n)
                .map(|i| match i % 7 {
                    0 => specials[rng.gen_range(0..specials.len())],
                    1 => -rng.gen::<f64>() * 1e3,
                    2 => (rng.gen_range(0..50) as f64) * 0.5,
                    _ => 40.0 + rng.gen::<f64>() * 30.0,
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_unstable_by(f64::total_cmp);
            sort_floats(&mut v);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&v), bits(&expected), "n = {n}");
        }
    }

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
