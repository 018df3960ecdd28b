//! Chart data of baselines: only their latency samples, for the CDF overlay.

use super::distributions::cdf;
use super::{ItlHistogram, RunSeries, ScenarioSeries, Timeline};

/// Chart data of baselines (one per scenario): the latency CDFs of all their
/// trials' samples pooled, for the overlay. Baselines keep no time series.
pub fn from_baselines(baselines: &[crate::compare::baseline::Baseline]) -> RunSeries {
    let scenarios = baselines
        .iter()
        .map(|b| {
            let (mut ttft, mut e2e) = (Vec::new(), Vec::new());
            for t in &b.trials {
                ttft.extend(t.samples.ttft());
                e2e.extend(t.samples.e2e());
            }
            ScenarioSeries {
                name: b.scenario.clone(),
                ttft_cdf: cdf(&mut ttft),
                e2e_cdf: cdf(&mut e2e),
                itl: ItlHistogram::default(),
                timeline: Timeline::default(),
                power: Vec::new(),
            }
        })
        .collect();
    RunSeries { scenarios }
}
