//! The comparison of one metric's per-trial log statistics with drift between runs
//! in the model.
//!
//! Trials of one run share the server's state, the machine's neighbours and its
//! clocks; the baseline is another run, on another day. So a trial's log statistic
//! is modelled as y = μ + b_run + e_trial, with a between-run effect b ~ N(0, τ²)
//! and a within-run one e ~ N(0, σ²) (a one-way random-effects model). A candidate
//! (one run, n_c trials) against a baseline of R runs (n_r trials each, run means
//! weighted equally) then has
//!
//! Var(Δ̂) = σ_c²/n_c + Σ_r σ_b²/(n_r R²) + τ² (1 + 1/R)
//!
//! where the last term is what a Welch test on the trials leaves out: with one
//! run on each side, drift enters the difference twice, whatever the trial count.
//!
//! * σ_c² and σ_b² are the sample variances within the current run and pooled
//!   within the baseline's runs, each raised to at least the noise floor; a side
//!   with one trial borrows the other side's (so one current trial against a
//!   one-run baseline is the prediction interval of Hahn & Meeker 1991, §4.4).
//! * τ² cannot be estimated from one or two runs: it is a stated prior, τ₀
//!   (`between_run_sd`), worth [`PRIOR_DF`] degrees of freedom. From 3 runs on, the
//!   method-of-moments estimate from the run means (their variance less the
//!   within-run part, DerSimonian & Laird 1986, Control. Clin. Trials 7:177) is
//!   pooled with the prior as a scaled-inverse-χ² posterior mode would be:
//!   τ² = (ν₀ τ₀² + (R − 1) τ̂²) / (ν₀ + R − 1). The estimate alone would rest on 2–4
//!   degrees of freedom, and a t with 2 df at a Holm-corrected 1% level needs ~7
//!   standard errors: the gate would never find anything.
//! * The degrees of freedom of the sum follow Welch–Satterthwaite over its three
//!   parts.

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::stats::{self, Estimate};

/// Degrees of freedom the prior between-run SD is worth: as much as four runs'
/// worth of evidence, so five appended runs weigh as much as the prior.
pub const PRIOR_DF: f64 = 4.0;

/// One metric's log statistics: the current run's trials and the baseline's, by run.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    pub current: &'a [f64],
    /// One slice per baseline run (empty runs are ignored).
    pub baseline_runs: &'a [Vec<f64>],
}

/// What the model assumes where the data cannot say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assumptions {
    /// Smallest within-run SD of a log statistic ever assumed.
    pub sd_floor: f64,
    /// τ₀, the prior between-run SD of a log statistic.
    pub between_run_sd: f64,
}

/// The estimate of Δ = current − baseline with its parts, for the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftEstimate {
    pub estimate: Estimate,
    /// The between-run SD used (prior, or pooled with the runs' estimate).
    pub between_run_sd: f64,
    /// Baseline runs the estimate used.
    pub runs: usize,
}

/// Δ with its `confidence` interval and two-sided p-value against 0; `None` when
/// a side has no value, or when both sides have a single trial (no within-run
/// spread to borrow: the caller bootstraps requests instead).
pub fn estimate(sides: Sides<'_>, a: Assumptions, confidence: f64) -> Option<DriftEstimate> {
    let runs: Vec<&Vec<f64>> = sides
        .baseline_runs
        .iter()
        .filter(|r| !r.is_empty())
        .collect();
    let current = sides.current;
    let r = runs.len();
    if current.is_empty() || r == 0 {
        return None;
    }
    let floor2 = a.sd_floor * a.sd_floor;
    // Within-run variances and their degrees of freedom.
    let df_b: usize = runs.iter().map(|v| v.len() - 1).sum();
    let pooled_b = (df_b > 0).then(|| {
        runs.iter()
            .map(|v| stats::sample_variance(v) * (v.len() - 1) as f64)
            .sum::<f64>()
            / df_b as f64
    });
    let own_c = (current.len() >= 2).then(|| stats::sample_variance(current));
    let df_c = current.len().saturating_sub(1);
    let (var_c, df_c, var_b, df_b) = match (own_c, pooled_b) {
        (Some(c), Some(b)) => (c, df_c, b, df_b),
        (Some(c), None) => (c, df_c, c, df_c),
        (None, Some(b)) => (b, df_b, b, df_b),
        (None, None) => return None,
    };
    let (var_c, var_b) = (var_c.max(floor2), var_b.max(floor2));
    let run_means: Vec<f64> = runs.iter().map(|v| stats::mean(v)).collect();
    let rf = r as f64;
    let v_c = var_c / current.len() as f64;
    let v_b = runs.iter().map(|v| var_b / v.len() as f64).sum::<f64>() / (rf * rf);
    let (tau2, df_tau) = between_run_variance(&run_means, &runs, var_b, a.between_run_sd);
    let v_tau = tau2 * (1.0 + 1.0 / rf);
    let se2 = v_c + v_b + v_tau;
    let parts = [(v_c, df_c as f64), (v_b, df_b as f64), (v_tau, df_tau)];
    let denominator: f64 = parts
        .iter()
        .filter(|(v, df)| *v > 0.0 && *df > 0.0)
        .map(|(v, df)| v * v / df)
        .sum();
    let df = if denominator > 0.0 {
        se2 * se2 / denominator
    } else {
        (df_c + df_b).max(1) as f64
    };
    let delta = stats::mean(current) - stats::mean(&run_means);
    Some(DriftEstimate {
        estimate: stats::t_interval(delta, se2.sqrt(), Some(df), confidence),
        between_run_sd: tau2.sqrt(),
        runs: r,
    })
}

/// τ² and its degrees of freedom: the prior alone below 3 runs, else pooled with
/// the runs' method-of-moments estimate.
fn between_run_variance(
    run_means: &[f64],
    runs: &[&Vec<f64>],
    within: f64,
    prior_sd: f64,
) -> (f64, f64) {
    let prior = prior_sd * prior_sd;
    let r = run_means.len();
    if r < 3 {
        return (prior, PRIOR_DF);
    }
    let mean_inverse_n = runs.iter().map(|v| 1.0 / v.len() as f64).sum::<f64>() / r as f64;
    let observed = (stats::sample_variance(run_means) - within * mean_inverse_n).max(0.0);
    let df = (r - 1) as f64;
    (
        (PRIOR_DF * prior + df * observed) / (PRIOR_DF + df),
        PRIOR_DF + df,
    )
}

/// One-sided p-value of the minimum-effect hypothesis H0: Δ ≤ δ against Δ > δ,
/// for an estimate with standard error `se` on `df` degrees of freedom (`None`:
/// normal): P(T > (Δ̂ − δ)/se). Rejecting it at α means the change is beyond δ
/// with confidence 1 − α, so a true change inside the threshold is flagged at
/// most α of the time (Murphy & Myors 1999, "Testing the hypothesis that
/// treatments have negligible effects", J. Appl. Psychol. 84:234).
pub fn p_beyond(estimate: f64, delta: f64, se: f64, df: Option<f64>) -> f64 {
    if !(se > 0.0 && se.is_finite()) {
        return if estimate > delta { 0.0 } else { 1.0 };
    }
    let z = (estimate - delta) / se;
    let p = match df.map(|df| StudentsT::new(0.0, 1.0, df)) {
        Some(Ok(t)) => t.sf(z),
        _ => statrs::distribution::Normal::standard().sf(z),
    };
    p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Assumptions = Assumptions {
        sd_floor: 0.01,
        between_run_sd: 0.02,
    };

    #[test]
    fn one_run_each_side_adds_twice_the_prior_variance() {
        let current = [0.10, 0.12, 0.11, 0.13];
        let runs = vec![vec![0.0, 0.02, 0.01, 0.03, 0.02]];
        let d = estimate(
            Sides {
                current: &current,
                baseline_runs: &runs,
            },
            A,
            0.95,
        )
        .unwrap();
        let vc = stats::sample_variance(&current).max(1e-4) / 4.0;
        let vb = stats::sample_variance(&runs[0]).max(1e-4) / 5.0;
        let se = (vc + vb + 2.0 * 0.02f64.powi(2)).sqrt();
        assert!((d.estimate.std_error - se).abs() < 1e-12);
        assert!((d.estimate.estimate - (0.115 - 0.016)).abs() < 1e-12);
        assert_eq!(d.between_run_sd, 0.02);
        assert_eq!(d.runs, 1);
        // Mostly the prior's 4 df: the t is wide.
        assert!(d.estimate.df.unwrap() < 8.0, "{:?}", d.estimate.df);
    }

    /// From three runs on, run means that wobble by 5% pull τ up from the 2%
    /// prior; identical run means pull it down.
    #[test]
    fn three_or_more_runs_estimate_the_drift() {
        let within = [0.0, 0.005, -0.005];
        let wobbly: Vec<Vec<f64>> = [0.0, 0.05, -0.05, 0.04, -0.04]
            .iter()
            .map(|m| within.iter().map(|w| m + w).collect())
            .collect();
        let steady: Vec<Vec<f64>> = (0..5).map(|_| within.to_vec()).collect();
        let current = [0.0, 0.01, -0.01];
        let tau = |runs: &[Vec<f64>]| {
            estimate(
                Sides {
                    current: &current,
                    baseline_runs: runs,
                },
                A,
                0.95,
            )
            .unwrap()
            .between_run_sd
        };
        assert!(tau(&wobbly) > 0.03, "{}", tau(&wobbly));
        assert!(
            tau(&steady) < 0.02 && tau(&steady) > 0.013,
            "{}",
            tau(&steady)
        );
        assert_eq!(tau(&wobbly[..2]), 0.02, "two runs: the prior alone");
    }

    #[test]
    fn single_trials_borrow_or_give_up() {
        let runs = vec![vec![0.0, 0.01, 0.02]];
        let one = estimate(
            Sides {
                current: &[0.05],
                baseline_runs: &runs,
            },
            A,
            0.95,
        )
        .unwrap();
        // Prediction interval: s_b² (1 + 1/3) + 2τ₀².
        let s2 = stats::sample_variance(&runs[0]).max(1e-4);
        let se = (s2 * (1.0 + 1.0 / 3.0) + 2.0 * 4e-4).sqrt();
        assert!((one.estimate.std_error - se).abs() < 1e-12);
        let single = vec![vec![0.0]];
        assert!(estimate(
            Sides {
                current: &[0.05],
                baseline_runs: &single
            },
            A,
            0.95
        )
        .is_none());
    }

    #[test]
    fn minimum_effect_p_values() {
        // Exactly at the threshold: p = 1/2; well beyond it: small; inside: large.
        assert!((p_beyond(0.05, 0.05, 0.01, Some(10.0)) - 0.5).abs() < 1e-12);
        assert!(p_beyond(0.12, 0.05, 0.01, Some(10.0)) < 1e-3);
        assert!(p_beyond(0.04, 0.05, 0.01, Some(10.0)) > 0.8);
        assert_eq!(p_beyond(0.06, 0.05, 0.0, None), 0.0);
    }
}
