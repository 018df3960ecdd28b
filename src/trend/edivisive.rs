//! E-divisive means: change points in a series by energy distance, with a
//! permutation test of each (Matteson & James 2014, "A nonparametric approach for
//! multiple change point analysis of multivariate data", JASA 109:334; the method
//! MongoDB's and DataStax's Hunter, now Apache Otava, runs over nightly series).
//!
//! For a segment split at τ into X = x[..τ] (m values) and Y = x[τ..] (k values),
//! with |·| the distance (α = 1):
//!
//! Ê = 2/(mk) Σ|Xᵢ − Yⱼ| − C(m,2)⁻¹ Σ_{i<l}|Xᵢ − Xₗ| − C(k,2)⁻¹ Σ_{j<l}|Yⱼ − Yₗ|
//! q̂(τ) = mk/(m + k) · Ê
//!
//! The best split of a segment maximises q̂. Bisection: of every segment's best
//! split, the largest q̂ is tested by permuting that segment's values (the
//! distribution of the largest q̂ when order does not matter); when its p-value
//! is at most α the split is kept and both halves are searched again, else the
//! search ends. Each q̂ over all τ is O(n²) from one distance matrix (the sums
//! move one value from Y to X per step), and a permutation loop stops as soon as
//! the p-value can no longer reach α (most permutations of a flat series are
//! never drawn).

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// How the search decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Largest permutation p-value of a kept change point.
    pub alpha: f64,
    /// Permutations per test.
    pub permutations: usize,
    /// Fewest values on each side of a split.
    pub min_segment: usize,
    /// Seed of the permutations: the same series always gives the same answer.
    pub seed: u64,
}

/// A change point: `index` is the first value after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub index: usize,
    pub q: f64,
    pub p_value: f64,
}

/// The change points of `x`, in series order.
pub fn change_points(x: &[f64], s: &Settings) -> Vec<Split> {
    let mut rng = StdRng::seed_from_u64(s.seed);
    let mut found: Vec<Split> = Vec::new();
    // Segments still searched, as [start, end).
    let mut segments = vec![(0usize, x.len())];
    loop {
        let best = segments
            .iter()
            .enumerate()
            .filter_map(|(i, &(a, b))| {
                best_split(&x[a..b], s.min_segment).map(|(t, q)| (i, a + t, q))
            })
            .max_by(|l, r| l.2.total_cmp(&r.2));
        let Some((seg, index, q)) = best else { break };
        let (a, b) = segments[seg];
        let p_value = permutation_p(&x[a..b], q, s, &mut rng);
        if p_value > s.alpha {
            break;
        }
        found.push(Split { index, q, p_value });
        segments.splice(seg..=seg, [(a, index), (index, b)]);
    }
    found.sort_by_key(|c| c.index);
    found
}

/// The split of `x` with the largest q̂ (its offset and q̂), when `x` is long
/// enough for `min_segment` values on each side.
pub fn best_split(x: &[f64], min_segment: usize) -> Option<(usize, f64)> {
    let n = x.len();
    let min = min_segment.max(2);
    if n < 2 * min {
        return None;
    }
    // Row sums of the distance matrix restricted as τ moves: `within_x` sums
    // pairs inside X, `within_y` inside Y, `across` pairs between them.
    let d = |i: usize, j: usize| (x[i] - x[j]).abs();
    let total: f64 = (0..n)
        .map(|i| (i + 1..n).map(|j| d(i, j)).sum::<f64>())
        .sum();
    let (mut within_x, mut within_y, mut across) = (0.0, total, 0.0);
    let mut best: Option<(usize, f64)> = None;
    for tau in 1..n - 1 {
        // Move x[tau − 1] from Y to X.
        let v = tau - 1;
        let to_x: f64 = (0..v).map(|i| d(i, v)).sum();
        let to_y: f64 = (v + 1..n).map(|j| d(v, j)).sum();
        within_x += to_x;
        within_y -= to_y;
        across += to_y - to_x;
        if tau < min || n - tau < min {
            continue;
        }
        let (m, k) = (tau as f64, (n - tau) as f64);
        let e = 2.0 * across / (m * k)
            - within_x / (m * (m - 1.0) / 2.0)
            - within_y / (k * (k - 1.0) / 2.0);
        let q = m * k / (m + k) * e;
        if best.is_none_or(|(_, b)| q > b) {
            best = Some((tau, q));
        }
    }
    best
}

/// P(best q̂ of a permutation ≥ `q`), as (1 + exceedances) / (1 + permutations),
/// stopping once it cannot end at or below α.
fn permutation_p(x: &[f64], q: f64, s: &Settings, rng: &mut StdRng) -> f64 {
    let mut shuffled = x.to_vec();
    let limit = (s.alpha * (s.permutations + 1) as f64).floor() as usize;
    let mut exceed = 0usize;
    for drawn in 1..=s.permutations {
        shuffled.shuffle(rng);
        if best_split(&shuffled, s.min_segment).is_some_and(|(_, pq)| pq >= q) {
            exceed += 1;
            if exceed >= limit.max(1) {
                // (1 + exceed) / (1 + permutations) > α whatever the rest show;
                // report the estimate so far.
                return ((1 + exceed) as f64 / (1 + drawn) as f64).max(s.alpha * 1.0001);
            }
        }
    }
    (1 + exceed) as f64 / (1 + s.permutations) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// q̂ straight from the definition, O(n²) per split.
    fn naive_q(x: &[f64], tau: usize) -> f64 {
        let (a, b) = x.split_at(tau);
        let (m, k) = (a.len() as f64, b.len() as f64);
        let across: f64 = a
            .iter()
            .flat_map(|p| b.iter().map(move |q| (p - q).abs()))
            .sum();
        let within = |s: &[f64]| {
            let mut t = 0.0;
            for i in 0..s.len() {
                for j in i + 1..s.len() {
                    t += (s[i] - s[j]).abs();
                }
            }
            t
        };
        let e = 2.0 * across / (m * k)
            - within(a) / (m * (m - 1.0) / 2.0)
            - within(b) / (k * (k - 1.0) / 2.0);
        m * k / (m + k) * e
    }

    #[test]
    fn the_incremental_statistic_equals_the_definition() {
        let x = [1.0, 3.0, 2.0, 2.5, 7.0, 8.0, 6.5, 7.2, 1.1, 0.4];
        for min in 2..=4 {
            let (tau, q) = best_split(&x, min).unwrap();
            let (want_tau, want_q) = (min..=x.len() - min)
                .map(|t| (t, naive_q(&x, t)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            assert_eq!(tau, want_tau, "min {min}");
            assert!((q - want_q).abs() < 1e-9, "{q} vs {want_q}");
        }
        assert_eq!(best_split(&x[..5], 3), None, "too short for 3 a side");
    }

    #[test]
    fn two_clean_steps_are_found_where_they_are() {
        let x: Vec<f64> = (0..30)
            .map(|i| match i {
                0..10 => 0.0,
                10..20 => 1.0,
                _ => 0.3,
            } + 0.01 * ((i * 7 % 5) as f64))
            .collect();
        let s = Settings {
            alpha: 0.05,
            permutations: 199,
            min_segment: 3,
            seed: 1,
        };
        let found: Vec<usize> = change_points(&x, &s).iter().map(|c| c.index).collect();
        assert_eq!(found, [10, 20]);
        assert!(
            change_points(&[1.0; 30], &s).is_empty(),
            "a constant has none"
        );
    }
}
