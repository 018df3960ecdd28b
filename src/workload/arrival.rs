//! Seeded arrival processes for open-loop load.
//!
//! Offsets are cumulative sums of inter-arrival gaps drawn from the process; the
//! runner sends request *i* at `trial_start + offset(i)`, an absolute schedule that
//! does not drift when a send is late.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp, Gamma};

/// The shape of the gaps between arrivals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArrivalKind {
    /// Evenly spaced: gap = 1 / rate.
    Constant,
    /// Exponential gaps: a Poisson process.
    Poisson,
    /// Gamma-distributed gaps with shape = burstiness and mean 1 / rate (the same
    /// parametrisation as vLLM's `--burstiness`): 1 is Poisson, below 1 is burstier,
    /// above 1 is more regular.
    Gamma { burstiness: f64 },
}

impl ArrivalKind {
    pub fn name(&self) -> &'static str {
        match self {
            ArrivalKind::Constant => "constant",
            ArrivalKind::Poisson => "poisson",
            ArrivalKind::Gamma { .. } => "gamma",
        }
    }
}

/// An endless, deterministic sequence of send offsets.
#[derive(Debug)]
pub struct ArrivalSchedule {
    gaps: Gaps,
    rng: StdRng,
    next_s: f64,
}

#[derive(Debug)]
enum Gaps {
    Constant(f64),
    Exp(Exp<f64>),
    Gamma(Gamma<f64>),
}

impl ArrivalSchedule {
    /// `rate` must be positive and finite (config validation guarantees it); the first
    /// arrival is at offset zero.
    pub fn new(kind: ArrivalKind, rate: f64, seed: u64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let gaps = match kind {
            ArrivalKind::Constant => Gaps::Constant(1.0 / rate),
            ArrivalKind::Poisson => match Exp::new(rate) {
                Ok(d) => Gaps::Exp(d),
                Err(_) => Gaps::Constant(1.0 / rate),
            },
            ArrivalKind::Gamma { burstiness } => {
                match Gamma::new(burstiness, 1.0 / (rate * burstiness)) {
                    Ok(d) => Gaps::Gamma(d),
                    Err(_) => Gaps::Constant(1.0 / rate),
                }
            }
        };
        ArrivalSchedule {
            gaps,
            rng: StdRng::seed_from_u64(seed),
            next_s: 0.0,
        }
    }
}

impl Iterator for ArrivalSchedule {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let at = Duration::from_secs_f64(self.next_s);
        self.next_s += match &self.gaps {
            Gaps::Constant(gap) => *gap,
            Gaps::Exp(d) => d.sample(&mut self.rng),
            Gaps::Gamma(d) => d.sample(&mut self.rng),
        };
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_rate(kind: ArrivalKind, rate: f64, n: usize) -> (f64, f64) {
        let offsets: Vec<f64> = ArrivalSchedule::new(kind, rate, 7)
            .take(n)
            .map(|d| d.as_secs_f64())
            .collect();
        let gaps: Vec<f64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (gaps.len() - 1) as f64;
        (1.0 / mean, var.sqrt() / mean)
    }

    #[test]
    fn constant_is_evenly_spaced() {
        let (rate, cv) = mean_rate(ArrivalKind::Constant, 20.0, 1000);
        assert!((rate - 20.0).abs() < 1e-9);
        assert!(cv < 1e-9);
    }

    #[test]
    fn poisson_has_unit_coefficient_of_variation() {
        let (rate, cv) = mean_rate(ArrivalKind::Poisson, 50.0, 20_000);
        assert!((rate / 50.0 - 1.0).abs() < 0.03, "rate {rate}");
        assert!((cv - 1.0).abs() < 0.05, "cv {cv}");
    }

    #[test]
    fn gamma_burstiness_sets_the_spread() {
        // CV of a gamma distribution is 1/sqrt(shape).
        let (rate, cv) = mean_rate(ArrivalKind::Gamma { burstiness: 0.25 }, 10.0, 20_000);
        assert!((rate / 10.0 - 1.0).abs() < 0.05, "rate {rate}");
        assert!((cv - 2.0).abs() < 0.15, "cv {cv}");
    }

    #[test]
    fn same_seed_same_schedule() {
        let a: Vec<_> = ArrivalSchedule::new(ArrivalKind::Poisson, 5.0, 1)
            .take(50)
            .collect();
        let b: Vec<_> = ArrivalSchedule::new(ArrivalKind::Poisson, 5.0, 1)
            .take(50)
            .collect();
        let c: Vec<_> = ArrivalSchedule::new(ArrivalKind::Poisson, 5.0, 2)
            .take(50)
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
