//! [`SeriesBuilder`]: folds request rows and GPU telemetry into [`RunSeries`] in one
//! pass, keeping memory bounded per scenario (see the parent's doc).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::distributions::{cdf_of, itl_histogram};
use super::timeline::{timeline, TrialBuckets};
use super::{RunSeries, ScenarioSeries, Timeline, MAX_TIME_POINTS};
use crate::manifest::Manifest;
use crate::metrics::percentile::percentile_sorted;
use crate::metrics::samples::Samples;
use crate::record::RequestRow;
use crate::telemetry::prometheus::dcgm_gpu_samples;
use crate::telemetry::{GpuSource, ScrapeSource, TelemetryRecord};

/// Folds rows into [`RunSeries`].
#[derive(Debug)]
pub struct SeriesBuilder {
    names: Vec<String>,
    scenarios: Vec<ScenarioAccumulator>,
}

impl SeriesBuilder {
    pub fn new(manifest: &Manifest) -> Self {
        let names: Vec<String> = manifest.scenarios.iter().map(|s| s.name.clone()).collect();
        let scenarios = names.iter().map(|_| ScenarioAccumulator::new()).collect();
        SeriesBuilder { names, scenarios }
    }

    /// Rows of scenarios the manifest does not know are ignored.
    pub fn add(&mut self, row: &RequestRow) {
        if let Some(i) = self.names.iter().position(|n| *n == row.scenario) {
            self.scenarios[i].add(row);
        }
    }

    /// GPU power readings for the power chart: NVML's, or a DCGM exporter's when
    /// NVML measured nothing.
    pub fn add_telemetry(&mut self, record: &TelemetryRecord) {
        let Some(i) = self.names.iter().position(|n| n == record.scenario()) else {
            return;
        };
        let (source, samples) = match record {
            TelemetryRecord::Gpu(s) => (GpuSource::Nvml, vec![s.clone()]),
            TelemetryRecord::Scrape(s) if s.source == ScrapeSource::Dcgm => {
                (GpuSource::Dcgm, dcgm_gpu_samples(s))
            }
            TelemetryRecord::Scrape(_) => return,
        };
        let power = &mut self.scenarios[i].power;
        for s in samples {
            let Some(w) = s.power_w else { continue };
            *power
                .entry(source)
                .or_default()
                .entry(s.trial)
                .or_default()
                .entry(s.t_ms.to_bits())
                .or_default() += w;
        }
    }

    pub fn finish(self) -> RunSeries {
        let scenarios = self
            .names
            .into_iter()
            .zip(self.scenarios)
            .filter(|(_, acc)| acc.rows > 0)
            .map(|(name, acc)| acc.finish(name))
            .collect();
        RunSeries { scenarios }
    }
}

#[derive(Debug)]
struct ScenarioAccumulator {
    rows: u64,
    /// Exact up to the summary's per-request cap, then a histogram.
    ttft: Samples,
    e2e: Samples,
    /// ITL in microseconds, 3 significant digits.
    itl_us: Histogram<u64>,
    trials: BTreeMap<u32, TrialBuckets>,
    /// Watts summed over GPUs per tick (`t_ms` bits), per trial, per source.
    power: BTreeMap<GpuSource, BTreeMap<u32, BTreeMap<u64, f64>>>,
}

impl ScenarioAccumulator {
    fn new() -> Self {
        ScenarioAccumulator {
            rows: 0,
            ttft: Samples::default(),
            e2e: Samples::default(),
            itl_us: Histogram::new(3).expect("3 significant digits is a valid precision"),
            trials: BTreeMap::new(),
            power: BTreeMap::new(),
        }
    }

    fn add(&mut self, row: &RequestRow) {
        self.rows += 1;
        self.trials
            .entry(row.trial)
            .or_insert_with(TrialBuckets::new)
            .add(row);
        if !row.measured() || !row.ok {
            return;
        }
        self.e2e.push(row.e2e_ms);
        self.ttft.extend(row.ttft_ms);
        let folded = row
            .itl_rest
            .iter()
            .flat_map(|r| r.histogram.iter().copied());
        for (itl, n) in row.itl_ms.iter().map(|&x| (x, 1)).chain(folded) {
            let us = (itl.max(0.0) * 1000.0).round() as u64;
            // `record_n` grows the histogram as needed; `saturating_record_n` would
            // clip at its current (initially tiny) upper bound.
            if self.itl_us.record_n(us, n).is_err() {
                self.itl_us.saturating_record_n(us, n);
            }
        }
    }

    fn finish(mut self, name: String) -> ScenarioSeries {
        let e2e_cdf = cdf_of(&mut self.e2e);
        // `cdf_of` sorted exact samples.
        let median_e2e_ms = match self.e2e.exact_mut() {
            Some(sorted) => percentile_sorted(sorted, 50.0),
            None => self.e2e.approximate_quantile(0.5),
        }
        .unwrap_or(0.0);
        let trial_ids: Vec<u32> = self.trials.keys().copied().collect();
        let timeline = timeline(self.trials.into_values().collect(), median_e2e_ms);
        // NVML's readings where there are any, else DCGM's (BTreeMap order).
        let power = match self.power.into_values().next() {
            Some(by_trial) => power_series(&by_trial, &trial_ids, &timeline),
            None => Vec::new(),
        };
        ScenarioSeries {
            name,
            ttft_cdf: cdf_of(&mut self.ttft),
            e2e_cdf,
            itl: itl_histogram(&self.itl_us),
            timeline,
            power,
        }
    }
}

/// Power ticks of every trial on the timeline's axis (trials laid end to end where
/// the timeline put them), averaged down to at most [`MAX_TIME_POINTS`] points.
fn power_series(
    by_trial: &BTreeMap<u32, BTreeMap<u64, f64>>,
    trial_ids: &[u32],
    timeline: &Timeline,
) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    for (i, trial) in trial_ids.iter().enumerate() {
        let offset_s = match i {
            0 => 0.0,
            _ => match timeline.trial_starts_s.get(i - 1) {
                Some(&s) => s,
                None => continue,
            },
        };
        let end_s = timeline
            .trial_starts_s
            .get(i)
            .copied()
            .unwrap_or(f64::INFINITY);
        let Some(ticks) = by_trial.get(trial) else {
            continue;
        };
        let mut trial_points: Vec<(f64, f64)> = ticks
            .iter()
            .map(|(&bits, &w)| (offset_s + f64::from_bits(bits).max(0.0) / 1000.0, w))
            .filter(|&(t, _)| t <= end_s)
            .collect();
        trial_points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points.extend(trial_points);
    }
    let group = points.len().div_ceil(MAX_TIME_POINTS).max(1);
    points
        .chunks(group)
        .map(|c| {
            let n = c.len() as f64;
            (
                c.iter().map(|p| p.0).sum::<f64>() / n,
                c.iter().map(|p| p.1).sum::<f64>() / n,
            )
        })
        .collect()
}
