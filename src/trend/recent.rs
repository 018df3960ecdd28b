//! The recent-step check: is there a step in the newest few runs?
//!
//! E-divisive tests the split with the largest energy statistic of a whole
//! segment; a step with only 3 runs after it moves that statistic little (the
//! after side is tiny), so the permutation test finds a 5% step in 2% noise 3
//! runs after it only 71% of the time. The nightly cares most about exactly
//! those runs. This check compares the newest runs ([`TAIL`]) with the runs
//! before them since the last change point (at most [`WINDOW`]) by Student's t
//! on the log values (the test Hunter / Apache Otava use for a change point's
//! significance). When `TAIL` holds several sizes, the largest |t| over them is
//! what is tested, by permuting the window, so the p-value holds for the family
//! whatever the correlation between the `t`s. Measured: the newest 3 alone has
//! more power at the same false-alarm rate than the largest of 3, 4 and 5 (the
//! family's threshold is higher), and a step 4 or 5 runs old is E-divisive's.
//!
//! It spends part of the false-alarm budget ([`ALPHA_SHARE`] of α), so that
//! flat series stay as clean as the issue asks (docs/trends.md has the study).

use std::ops::RangeInclusive;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::edivisive::Split;
use crate::compare::stats;

/// The sizes of the newest group of runs tested (3..=5 measured worse: see the
/// module's doc).
pub const TAIL: RangeInclusive<usize> = 3..=3;
/// Most runs before the newest group that it is compared with.
pub const WINDOW: usize = 30;
/// Fewest runs before the largest newest group.
pub const MIN_BEFORE: usize = 6;
/// Permutations per test: more than E-divisive's, since each costs little and a
/// p-value from few permutations loses power near α.
pub const PERMUTATIONS: usize = 999;
/// The share of α the check spends.
pub const ALPHA_SHARE: f64 = 0.5;

/// `kept` (E-divisive's change points of `logs`, in order) with a step among the
/// newest runs when the check finds one. When the last change point leaves too
/// few runs after it for the check, it is itself a step among the newest runs,
/// placed by the energy statistic: the newest runs are then tested against those
/// since the change point before it, and of the two places the one whose two
/// levels fit those runs better (smaller residual sum of squares) is kept.
pub fn with_recent_step(
    logs: &[f64],
    mut kept: Vec<Split>,
    alpha: f64,
    permutations: usize,
    rng: &mut StdRng,
) -> Vec<Split> {
    let n = logs.len();
    let last = kept.last().map_or(0, |s| s.index);
    if n - last >= MIN_BEFORE + TAIL.end() {
        kept.extend(recent_step(logs, last, alpha, permutations, rng));
        return kept;
    }
    let Some(placed) = kept.pop() else {
        return kept;
    };
    let start = kept.last().map_or(0, |s| s.index);
    let x = &logs[start..];
    let better = recent_step(logs, start, alpha, permutations, rng)
        .filter(|s| two_level_rss(x, s.index - start) < two_level_rss(x, placed.index - start));
    kept.push(better.unwrap_or(placed));
    kept
}

/// Residual sum of squares of `x` as two flat levels split at `at`.
fn two_level_rss(x: &[f64], at: usize) -> f64 {
    let rss = |xs: &[f64]| {
        let m = stats::mean(xs);
        xs.iter().map(|v| (v - m).powi(2)).sum::<f64>()
    };
    rss(&x[..at]) + rss(&x[at..])
}

/// A step at the end of `logs` after `start` (the last change point, or 0), when
/// the permutation p-value of the largest |t| is at most `alpha`; its index is
/// the first run of the newest group with the largest |t|.
pub fn recent_step(
    logs: &[f64],
    start: usize,
    alpha: f64,
    permutations: usize,
    rng: &mut StdRng,
) -> Option<Split> {
    let n = logs.len();
    let from = start.max(n.saturating_sub(WINDOW + TAIL.end()));
    let window = &logs[from..];
    if window.len() < MIN_BEFORE + TAIL.end() {
        return None;
    }
    let (k, t) = largest_t(window)?;
    let p_value = permutation_p(window, t, alpha, permutations, rng);
    (p_value <= alpha).then_some(Split {
        index: n - k,
        q: t,
        p_value,
    })
}

/// The newest group size with the largest |t| against the runs before it, and
/// that |t|. None when every t is undefined (no spread at all).
fn largest_t(x: &[f64]) -> Option<(usize, f64)> {
    TAIL.filter_map(|k| {
        let (before, after) = x.split_at(x.len() - k);
        student_t(before, after).map(|t| (k, t.abs()))
    })
    .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Student's two-sample t (pooled variance) of `b` against `a`.
fn student_t(a: &[f64], b: &[f64]) -> Option<f64> {
    let (m, k) = (a.len() as f64, b.len() as f64);
    let pooled = ((m - 1.0) * stats::sample_variance(a) + (k - 1.0) * stats::sample_variance(b))
        / (m + k - 2.0);
    let se = (pooled * (1.0 / m + 1.0 / k)).sqrt();
    (se > 0.0 && se.is_finite()).then(|| (stats::mean(b) - stats::mean(a)) / se)
}

/// P(largest |t| of a permutation ≥ `t`), as (1 + exceedances) / (1 + permutations),
/// stopping once it cannot end at or below α.
fn permutation_p(x: &[f64], t: f64, alpha: f64, permutations: usize, rng: &mut StdRng) -> f64 {
    let mut shuffled = x.to_vec();
    let limit = ((alpha * (permutations + 1) as f64).floor() as usize).max(1);
    let mut exceed = 0usize;
    for drawn in 1..=permutations {
        shuffled.shuffle(rng);
        if largest_t(&shuffled).is_some_and(|(_, pt)| pt >= t) {
            exceed += 1;
            if exceed >= limit {
                return ((1 + exceed) as f64 / (1 + drawn) as f64).max(alpha * 1.0001);
            }
        }
    }
    (1 + exceed) as f64 / (1 + permutations) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn noisy(levels: impl Iterator<Item = f64>) -> Vec<f64> {
        // Deterministic ±1% pattern, no spread-free segment.
        levels
            .enumerate()
            .map(|(i, l)| l + 0.01 * [0.3, -0.8, 1.0, -0.2, 0.6, -1.0, 0.1][i % 7])
            .collect()
    }

    #[test]
    fn a_step_in_the_newest_three_runs_is_found_where_it_is() {
        let x = noisy((0..23).map(|i| if i < 20 { 0.0 } else { 0.05 }));
        let mut rng = StdRng::seed_from_u64(1);
        let s = recent_step(&x, 0, 0.025, 199, &mut rng).expect("found");
        assert_eq!(s.index, 20);
        assert!(s.p_value <= 0.025 && s.q > 3.0, "{s:?}");
    }

    #[test]
    fn a_flat_end_or_a_short_window_has_none() {
        let x = noisy(std::iter::repeat_n(0.0, 40));
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(recent_step(&x, 0, 0.025, 199, &mut rng), None);
        // A step in the newest 3, but the last change point leaves too few runs
        // before them.
        let y = noisy((0..40).map(|i| if i < 37 { 0.0 } else { 0.05 }));
        let shortest = MIN_BEFORE + TAIL.end();
        assert_eq!(
            recent_step(&y, 40 - shortest + 1, 0.025, 199, &mut rng),
            None
        );
        assert!(recent_step(&y, 0, 0.025, 199, &mut rng).is_some());
        assert_eq!(recent_step(&[1.0; 20], 0, 0.025, 199, &mut rng), None);
    }

    #[test]
    fn a_change_point_placed_early_among_the_newest_runs_moves_to_the_step() {
        let x = noisy((0..23).map(|i| if i < 20 { 0.0 } else { 0.05 }));
        let mut rng = StdRng::seed_from_u64(1);
        let at = |index| Split {
            index,
            q: 1.0,
            p_value: 0.01,
        };
        let moved = with_recent_step(&x, vec![at(17)], 0.025, 199, &mut rng);
        assert_eq!(moved.iter().map(|s| s.index).collect::<Vec<_>>(), [20]);
        // Placed right, it stays (with E-divisive's p-value).
        let kept = with_recent_step(&x, vec![at(20)], 0.025, 199, &mut rng);
        assert_eq!(kept, [at(20)]);
        // Far enough back, the newest runs are tested after it: none here.
        let y = noisy((0..40).map(|i| if i < 20 { 0.0 } else { 0.05 }));
        assert_eq!(
            with_recent_step(&y, vec![at(20)], 0.025, 199, &mut rng),
            [at(20)]
        );
    }

    #[test]
    fn student_t_matches_a_hand_computation() {
        // a: mean 2, var 1; b: mean 5, var 1; pooled 1, se sqrt(1/3 + 1/3).
        let t = student_t(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert!((t - 3.0 / (2.0f64 / 3.0).sqrt()).abs() < 1e-12, "{t}");
    }
}
