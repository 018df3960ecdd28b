//! Drawing token lengths from the distributions of workloads.yaml
//! ([`Lengths`]): each request's prompt length and its `max_tokens`.
//!
//! Every draw comes from a generator seeded by the scenario's seed, the trial and
//! the request index, so a request's lengths do not depend on the order requests
//! are built in, and the same seed gives the same lengths in every run.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal};

pub use crate::config::Lengths;

/// One draw, at least 1 and at most [`crate::config::MAX_LENGTH_TOKENS`].
pub fn draw(lengths: &Lengths, rng: &mut impl Rng) -> u32 {
    let drawn = match lengths {
        Lengths::Fixed(n) => return (*n).max(1),
        Lengths::Uniform { lo, hi } => return rng.gen_range(*lo..=*hi).max(1),
        Lengths::Empirical(values) => return values[rng.gen_range(0..values.len())].max(1),
        Lengths::Normal { mean, sd } => Normal::new(*mean, *sd).map_or(*mean, |d| d.sample(rng)),
        Lengths::LogNormal { mean, sd } => {
            // The mean and sd are of the length; the log-normal's parameters are of
            // its logarithm: sigma² = ln(1 + sd²/mean²), mu = ln(mean) - sigma²/2.
            let sigma2 = (1.0 + (sd * sd) / (mean * mean)).ln();
            LogNormal::new(mean.ln() - sigma2 / 2.0, sigma2.sqrt()).map_or(*mean, |d| d.sample(rng))
        }
    };
    drawn
        .round()
        .clamp(1.0, f64::from(crate::config::MAX_LENGTH_TOKENS)) as u32
}

/// The output length (`max_tokens`) of request `index` of `trial`: its own stream
/// of the seed, apart from the one that picks the prompt's words.
pub fn output_tokens(lengths: &Lengths, seed: u64, trial: u32, index: u64) -> u32 {
    let mut rng = SmallRng::seed_from_u64(
        (seed ^ 0x6F75_7470_7574_0000)
            ^ (u64::from(trial) << 40)
            ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93),
    );
    draw(lengths, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(lengths: &Lengths, n: u64) -> Vec<f64> {
        (0..n)
            .map(|i| f64::from(output_tokens(lengths, 7, 0, i)))
            .collect()
    }

    fn mean_sd(xs: &[f64]) -> (f64, f64) {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        (mean, var.sqrt())
    }

    #[test]
    fn each_distribution_has_its_mean_and_spread() {
        // 20,000 draws: the standard error of each mean is under 1% of it.
        let n = 20_000;
        let uniform = sample(&Lengths::Uniform { lo: 10, hi: 30 }, n);
        assert!(uniform.iter().all(|&x| (10.0..=30.0).contains(&x)));
        assert!(uniform.contains(&10.0) && uniform.contains(&30.0));
        let (m, _) = mean_sd(&uniform);
        assert!((m - 20.0).abs() < 0.3, "uniform mean {m}");

        let (m, sd) = mean_sd(&sample(
            &Lengths::Normal {
                mean: 200.0,
                sd: 20.0,
            },
            n,
        ));
        assert!(
            (m - 200.0).abs() < 1.0 && (sd - 20.0).abs() < 1.0,
            "normal {m} {sd}"
        );

        let (m, sd) = mean_sd(&sample(
            &Lengths::LogNormal {
                mean: 300.0,
                sd: 150.0,
            },
            n,
        ));
        assert!(
            (m - 300.0).abs() < 6.0 && (sd - 150.0).abs() < 10.0,
            "lognormal {m} {sd}"
        );

        let empirical = sample(&Lengths::Empirical(vec![5, 50, 500]), n);
        for v in [5.0, 50.0, 500.0] {
            let share = empirical.iter().filter(|&&x| x == v).count() as f64 / n as f64;
            assert!((share - 1.0 / 3.0).abs() < 0.02, "{v}: {share}");
        }
        assert!(sample(&Lengths::Fixed(9), 50).iter().all(|&x| x == 9.0));
    }

    #[test]
    fn draws_are_seeded_per_request_and_never_below_one() {
        let wide = Lengths::Normal {
            mean: 2.0,
            sd: 50.0,
        };
        assert!(sample(&wide, 2000).iter().all(|&x| x >= 1.0));
        let l = Lengths::Uniform { lo: 1, hi: 1000 };
        assert_eq!(output_tokens(&l, 1, 2, 3), output_tokens(&l, 1, 2, 3));
        let distinct: std::collections::HashSet<u32> =
            (0..50).map(|i| output_tokens(&l, 1, 0, i)).collect();
        assert!(distinct.len() > 40);
        assert_ne!(
            (0..20)
                .map(|i| output_tokens(&l, 1, 0, i))
                .collect::<Vec<_>>(),
            (0..20)
                .map(|i| output_tokens(&l, 1, 1, i))
                .collect::<Vec<_>>(),
            "trials differ"
        );
    }
}
