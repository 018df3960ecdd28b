//! Which injected faults hit which request.
//!
//! Faults are drawn from a tiny RNG seeded by the request's index and the
//! configured seed, so a given seed always breaks the same requests (a test or
//! a benchmark of error handling is repeatable) and no lock is shared between
//! requests. The RNG is a hand-written SplitMix64 rather than one of `rand`'s
//! generators because `rand` does not promise the same stream across
//! versions, and this one needs no optional crate feature.

use crate::config::SimConfig;

/// What goes wrong with one request, decided when it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Faults {
    /// Answer with what instead of serving the request.
    pub reject: Option<Reject>,
    /// Cut the response off half-way.
    pub disconnect: bool,
    /// Pause half-way for `stall_ms`.
    pub stall: bool,
    /// Make one chunk invalid JSON.
    pub malformed: bool,
}

/// Status answered instead of serving a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    TooManyRequests,
    Internal,
}

impl Faults {
    /// Draws the faults of request number `index`.
    pub fn draw(config: &SimConfig, index: u64) -> Faults {
        // Multiplying the seed by an odd constant before mixing in the index
        // keeps seed s / index i from colliding with seed s^1 / index i^1 as a
        // plain XOR would.
        let mut rng = SplitMix64(config.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
        // One draw splits [0, 1) into the three outcomes that exclude each
        // other, so each happens to exactly its configured share of requests.
        let outcome = rng.unit();
        let mut faults = Faults::default();
        let too_many = config.error_429_rate;
        let internal = too_many + config.error_500_rate;
        let cut = internal + config.disconnect_rate;
        if outcome < too_many {
            faults.reject = Some(Reject::TooManyRequests);
        } else if outcome < internal {
            faults.reject = Some(Reject::Internal);
        } else if outcome < cut {
            faults.disconnect = true;
        }
        // Stalls and malformed chunks combine freely with a served response.
        faults.stall = rng.unit() < config.stall_rate;
        faults.malformed = rng.unit() < config.malformed_rate;
        faults
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): one add and three multiply/xor
/// rounds per draw, good enough for fault sampling.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 53 bits fill an f64 mantissa exactly.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(config: &SimConfig, pick: impl Fn(&Faults) -> bool) -> f64 {
        let n = 20_000;
        (0..n).filter(|&i| pick(&Faults::draw(config, i))).count() as f64 / n as f64
    }

    #[test]
    fn shares_match_the_configured_rates() {
        let config = SimConfig {
            error_429_rate: 0.1,
            error_500_rate: 0.2,
            disconnect_rate: 0.3,
            stall_rate: 0.5,
            malformed_rate: 0.05,
            ..SimConfig::default()
        };
        let near = |got: f64, want: f64| assert!((got - want).abs() < 0.015, "{got} vs {want}");
        near(
            share(&config, |f| f.reject == Some(Reject::TooManyRequests)),
            0.1,
        );
        near(share(&config, |f| f.reject == Some(Reject::Internal)), 0.2);
        near(share(&config, |f| f.disconnect), 0.3);
        near(share(&config, |f| f.stall), 0.5);
        near(share(&config, |f| f.malformed), 0.05);
    }

    #[test]
    fn rates_of_zero_and_one_are_exact() {
        let none = SimConfig::default();
        assert_eq!(share(&none, |f| *f != Faults::default()), 0.0);
        let all = SimConfig {
            error_500_rate: 1.0,
            ..SimConfig::default()
        };
        assert_eq!(share(&all, |f| f.reject == Some(Reject::Internal)), 1.0);
    }

    #[test]
    fn same_seed_same_faults_other_seed_other_faults() {
        let a = SimConfig {
            disconnect_rate: 0.5,
            seed: 7,
            ..SimConfig::default()
        };
        let b = SimConfig {
            seed: 8,
            ..a.clone()
        };
        let pattern = |c: &SimConfig| {
            (0..64)
                .map(|i| Faults::draw(c, i).disconnect)
                .collect::<Vec<_>>()
        };
        assert_eq!(pattern(&a), pattern(&a));
        assert_ne!(pattern(&a), pattern(&b));
    }
}
