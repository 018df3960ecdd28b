//! The capacity rule: when a `capacity:` search's answer counts as having fallen.
//!
//! A search's answer is not a sample mean: it is one point inside a bracket, the
//! highest rate seen meeting the SLO (`lower`) and the lowest seen missing it
//! (`upper`), and the bracket's width is set by the search's `tolerance` and by
//! where bisection stopped, not by a standard error. There is no sampling
//! distribution of the answer to put a t-test on (one search per run, not trials),
//! so the rule compares brackets instead.
//!
//! With Δ = ln(baseline / current) (positive = capacity fell) and δ the minimum
//! effect from `thresholds.capacity` (a drop by `relative`, as for throughput),
//! the range of changes both brackets allow runs from ln(base.lower / cur.upper)
//! to ln(base.upper / cur.lower); an open side of a bracket (no step failed, or
//! none passed) leaves that end unbounded.
//!
//! - **regression**: Δ ≥ δ and the whole range is above 0 (the candidate's
//!   `upper` is below the baseline's `lower`: every rate the candidate may sustain
//!   is below every rate the baseline surely sustained);
//! - **improvement**: the mirror, Δ ≤ −δ and the range wholly below 0;
//! - **within noise**: the whole range lies inside ±δ;
//! - **inconclusive** otherwise (brackets too wide for the threshold: narrow
//!   `tolerance`, or send more requests per step).

use super::CapacityResult;
use crate::compare::metric::{EffectiveThreshold, MetricId};
use crate::compare::verdict::{Method, MetricComparison, Verdict};
use crate::config::thresholds::Tolerance;

/// The verdict of `current`'s capacity against `baseline`'s, as one metric row.
pub fn judge(
    current: &CapacityResult,
    baseline: &CapacityResult,
    tolerance: Tolerance,
) -> MetricComparison {
    let metric = MetricId::CapacityRate;
    let mut row = MetricComparison {
        metric,
        gated: true,
        method: Method::Bracket,
        low_confidence: false,
        baseline: baseline.capacity_rate,
        current: current.capacity_rate,
        delta: None,
        ci_low: None,
        ci_high: None,
        p_worse: None,
        p_better: None,
        p_adjusted: None,
        tolerance,
        min_effect: 0.0,
        threshold: None,
        trials_used: None,
        between_run_sd: None,
        partial: false,
        verdict: Verdict::NotComparable,
        note: None,
        forced: false,
    };
    let Some(base) = baseline.capacity_rate.filter(|r| *r > 0.0) else {
        row.gated = false;
        row.note = Some(
            "the baseline's search found no rate meeting the SLO; bless a run whose search \
             found one"
                .into(),
        );
        return row;
    };
    let threshold = EffectiveThreshold::of(metric, tolerance, base);
    let delta_min = threshold.delta(metric);
    row.threshold = Some(threshold);
    row.min_effect = delta_min;
    // No rate met the SLO: the capacity is below the lowest rate tried, which is
    // the estimate (the change can only be larger).
    let Some(point) = current
        .capacity_rate
        .or(current.upper_rate)
        .filter(|r| *r > 0.0)
    else {
        row.gated = false;
        row.note = Some("the search ran no step; nothing to compare".into());
        return row;
    };
    let ln = |a: Option<f64>, b: Option<f64>, open: f64| match (a, b) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => (a / b).ln(),
        _ => open,
    };
    let base_lower = baseline.lower_rate.or(Some(base));
    let low = ln(base_lower, current.upper_rate, f64::NEG_INFINITY);
    let high = ln(baseline.upper_rate, current.lower_rate, f64::INFINITY);
    let delta = (base / point).ln();
    row.delta = Some(delta);
    row.ci_low = low.is_finite().then_some(low);
    row.ci_high = high.is_finite().then_some(high);
    row.verdict = if delta >= delta_min && low > 0.0 {
        Verdict::Regression
    } else if delta <= -delta_min && high < 0.0 {
        Verdict::Improvement
    } else if low > -delta_min && high < delta_min {
        Verdict::WithinNoise
    } else {
        Verdict::Inconclusive
    };
    row.note = Some(sentence(current, baseline, point, base, row.verdict));
    row
}

/// "capacity at SLO fell 12.0% (80 → 70.4 req/s; brackets 76.2–84.0 and 67.3–73.6 req/s)".
fn sentence(
    current: &CapacityResult,
    baseline: &CapacityResult,
    point: f64,
    base: f64,
    verdict: Verdict,
) -> String {
    let change = point / base - 1.0;
    let moved = if change.abs() < 5e-4 {
        "unchanged,"
    } else if change < 0.0 {
        "fell"
    } else {
        "rose"
    };
    let found = if current.capacity_rate.is_some() {
        String::new()
    } else {
        " (no step met the SLO: below the lowest rate tried)".to_string()
    };
    let why = match verdict {
        Verdict::Regression => "; the candidate's bracket lies wholly below the baseline's",
        Verdict::Improvement => "; the candidate's bracket lies wholly above the baseline's",
        Verdict::Inconclusive => "; the brackets are too wide to tell a change of the threshold",
        _ => "",
    };
    format!(
        "capacity at SLO {moved} {:.1}% ({} → {} req/s{found}; brackets {} and {}){why}",
        change.abs() * 100.0,
        trim(base),
        trim(point),
        bracket(baseline),
        bracket(current),
    )
}

fn bracket(c: &CapacityResult) -> String {
    let side = |v: Option<f64>| v.map_or("?".to_string(), trim);
    format!("{}–{}", side(c.lower_rate), side(c.upper_rate))
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(rate: f64, lower: f64, upper: f64) -> CapacityResult {
        CapacityResult {
            capacity_rate: Some(rate),
            lower_rate: Some(lower),
            upper_rate: Some(upper),
            ..CapacityResult::default()
        }
    }

    fn ten_percent() -> Tolerance {
        Tolerance {
            relative: 0.10,
            absolute: 0.0,
        }
    }

    #[test]
    fn a_fall_beyond_the_threshold_and_outside_the_bracket_is_a_regression() {
        let base = found(80.0, 78.0, 82.0);
        let cur = found(70.0, 68.0, 72.0);
        let row = judge(&cur, &base, ten_percent());
        assert_eq!(row.verdict, Verdict::Regression);
        assert!(row.gated);
        let (change, lo, hi) = row.change().unwrap();
        assert!((change + 0.125).abs() < 1e-9, "{change}");
        // 68/82 − 1 … 72/78 − 1.
        assert!((lo - (68.0 / 82.0 - 1.0)).abs() < 1e-9, "{lo}");
        assert!((hi - (72.0 / 78.0 - 1.0)).abs() < 1e-9, "{hi}");
        let note = row.note.unwrap();
        assert!(
            note.starts_with("capacity at SLO fell 12.5% (80 → 70 req/s"),
            "{note}"
        );
    }

    #[test]
    fn a_fall_within_the_brackets_is_not_a_regression() {
        // 12.5% lower, but the brackets overlap: the candidate may sustain 81.
        let row = judge(
            &found(70.0, 60.0, 81.0),
            &found(80.0, 78.0, 90.0),
            ten_percent(),
        );
        assert_eq!(row.verdict, Verdict::Inconclusive);
        assert!(row.note.unwrap().contains("too wide"));
    }

    #[test]
    fn a_fall_outside_the_bracket_but_inside_the_threshold_is_not_a_regression() {
        let row = judge(
            &found(75.0, 74.0, 76.0),
            &found(80.0, 79.0, 81.0),
            ten_percent(),
        );
        assert_eq!(row.verdict, Verdict::WithinNoise);
        let tight = judge(
            &found(75.0, 74.0, 76.0),
            &found(80.0, 79.0, 81.0),
            Tolerance {
                relative: 0.05,
                absolute: 0.0,
            },
        );
        assert_eq!(tight.verdict, Verdict::Regression, "6.25% beats 5%");
    }

    #[test]
    fn a_rise_beyond_both_is_an_improvement() {
        let row = judge(
            &found(100.0, 98.0, 102.0),
            &found(80.0, 78.0, 82.0),
            ten_percent(),
        );
        assert_eq!(row.verdict, Verdict::Improvement);
        assert!(row.note.unwrap().starts_with("capacity at SLO rose 25.0%"));
    }

    #[test]
    fn the_absolute_floor_raises_the_threshold() {
        let row = judge(
            &found(8.0, 7.8, 8.2),
            &found(10.0, 9.8, 10.2),
            Tolerance {
                relative: 0.10,
                absolute: 3.0,
            },
        );
        // 20% lower, but 2 req/s is under the 3 req/s floor.
        assert_eq!(row.verdict, Verdict::WithinNoise);
    }

    #[test]
    fn open_brackets_leave_their_end_unbounded() {
        // The candidate never failed a step: its capacity may be anywhere above 60.
        let cur = CapacityResult {
            capacity_rate: Some(60.0),
            lower_rate: Some(60.0),
            upper_rate: None,
            ..CapacityResult::default()
        };
        let row = judge(&cur, &found(80.0, 78.0, 82.0), ten_percent());
        assert_eq!(row.verdict, Verdict::Inconclusive);
        assert_eq!(row.ci_low, None);
        // Nothing met the SLO, even at 20 req/s: below every rate the baseline held.
        let none = CapacityResult {
            capacity_rate: None,
            lower_rate: None,
            upper_rate: Some(20.0),
            ..CapacityResult::default()
        };
        let row = judge(&none, &found(80.0, 78.0, 82.0), ten_percent());
        assert_eq!(row.verdict, Verdict::Regression);
        assert!(row.note.unwrap().contains("no step met the SLO"));
        // A baseline that found nothing cannot be fallen from.
        let row = judge(&found(80.0, 78.0, 82.0), &none, ten_percent());
        assert_eq!(row.verdict, Verdict::NotComparable);
        assert!(!row.gated);
    }
}
