//! Distribution statistics of one metric.

use serde::{Deserialize, Serialize};

use super::percentile::percentile_sorted;

/// count, mean, sample standard deviation, min, p50/p90/p95/p99 and max.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub count: u64,
    pub mean: f64,
    pub stddev: f64,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Stats {
    /// Sorts `samples` in place (once) and summarises them; `None` when empty.
    pub fn from_samples(samples: &mut [f64]) -> Option<Stats> {
        samples.sort_unstable_by(f64::total_cmp);
        let sorted = &*samples;
        let n = sorted.len();
        let p = |q| percentile_sorted(sorted, q);
        let mean = sorted.iter().sum::<f64>() / n.max(1) as f64;
        let variance = if n > 1 {
            sorted.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Stats {
            count: n as u64,
            mean,
            stddev: variance.sqrt(),
            min: *sorted.first()?,
            p50: p(50.0)?,
            p90: p(90.0)?,
            p95: p(95.0)?,
            p99: p(99.0)?,
            max: *sorted.last()?,
        })
    }

    /// A named statistic: `mean`, `stddev`, `min`, `max`, `p50`, `p90`, `p95`, `p99`.
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "mean" => self.mean,
            "stddev" => self.stddev,
            "min" => self.min,
            "max" => self.max,
            "p50" | "median" => self.p50,
            "p90" => self.p90,
            "p95" => self.p95,
            "p99" => self.p99,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises() {
        let mut x = vec![4.0, 1.0, 3.0, 2.0];
        let s = Stats::from_samples(&mut x).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.mean, 2.5);
        assert!((s.stddev - 1.2909944487358056).abs() < 1e-12); // np.std(x, ddof=1)
        assert_eq!(s.p50, 2.5);
        assert_eq!((s.min, s.max), (1.0, 4.0));
        assert!(Stats::from_samples(&mut []).is_none());
    }
}
