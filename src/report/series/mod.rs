//! What the charts need that the [`Summary`](crate::metrics::Summary) does not hold:
//! latency CDFs, an ITL histogram and per-interval throughput, in-flight requests
//! and errors, all already downsampled so a chart's size does not grow with the
//! number of requests.
//!
//! Built in one pass over the same request rows as the summary (the results folder
//! feeds both from `requests.jsonl`, at run time and when `llm-bench report` re-reads
//! an old run), so a report rendered later is identical to the one written by the
//! run. Memory stays bounded: TTFT and E2E samples exactly up to the summary's cap
//! ([`PER_REQUEST_CAP`](crate::metrics::samples::PER_REQUEST_CAP) per scenario) and in a histogram beyond it, as the summary
//! keeps them, a fixed-precision histogram for ITL, and time buckets that double in
//! width instead of growing in number.
//!
//! A run saves the result next to `summary.json` (`chart_data.json`, see
//! `app::outputs::write_chart_data`), so `llm-bench compare` redraws `report.html`
//! without reading the rows again.
//!
//! Distributions count measured, successful requests, like the summary. Time series
//! show everything the server saw: warm-up requests included, dropped arrivals only
//! as errors.
//!
//! The data types live here; the children fill them: `builder` folds rows (with
//! `distributions` for the CDFs and the ITL histogram, `timeline` for the time
//! series), `baselines` reads baselines' samples, `sweep` groups a summary's
//! scenarios into load sweeps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::ErrorKind;

mod baselines;
mod builder;
mod distributions;
mod sweep;
#[cfg(test)]
mod tests;
mod timeline;

pub use baselines::from_baselines;
pub use builder::SeriesBuilder;
pub use distributions::cdf;
pub use sweep::{sweeps, Sweep, SweepPoint};

/// At most this many points per CDF line.
pub const MAX_CDF_POINTS: usize = 200;
/// At most this many points per time series.
pub const MAX_TIME_POINTS: usize = 300;
/// Time series get at least this many points (when the run lasts 20 buckets of
/// 50 ms), however few requests they have.
pub const MIN_TIME_POINTS: usize = 20;
/// Bars of the ITL histogram.
pub const ITL_BINS: usize = 40;
/// The ITL histogram covers up to this quantile; slower gaps are counted separately
/// so one stall does not squash every bar into the first one.
pub const ITL_RANGE_QUANTILE: f64 = 0.995;

/// Chart data for every scenario of a run, in manifest order (scenarios without
/// rows are left out, as in the summary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSeries {
    pub scenarios: Vec<ScenarioSeries>,
}

impl RunSeries {
    pub fn scenario(&self, name: &str) -> Option<&ScenarioSeries> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSeries {
    pub name: String,
    /// (latency ms, cumulative fraction 0–1), increasing in both.
    pub ttft_cdf: Vec<(f64, f64)>,
    pub e2e_cdf: Vec<(f64, f64)>,
    pub itl: ItlHistogram,
    pub timeline: Timeline,
    /// GPU power of all measured GPUs together: (seconds on the timeline's axis,
    /// watts); empty without GPU telemetry.
    pub power: Vec<(f64, f64)>,
}

/// Inter-token latencies in equal-width bins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItlHistogram {
    /// Width of every bin, ms.
    pub bin_ms: f64,
    /// (lower edge ms, count).
    pub bins: Vec<(f64, u64)>,
    /// Gaps longer than the last bin's upper edge.
    pub above: u64,
    pub total: u64,
}

/// Per-interval rates over the scenario's trials, laid end to end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Width of one point's interval, seconds.
    pub bucket_s: f64,
    pub points: Vec<TimePoint>,
    /// Where each trial after the first begins, seconds since the scenario began.
    pub trial_starts_s: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimePoint {
    /// Middle of the interval, seconds since the scenario began.
    pub t_s: f64,
    /// Successful completions per second.
    pub requests_per_s: f64,
    /// Output tokens per second, counted when each chunk arrived.
    pub output_tokens_per_s: f64,
    /// Requests in flight, averaged over the interval.
    pub in_flight: f64,
    /// Failures in the interval by kind (only kinds that occurred).
    pub errors: BTreeMap<ErrorKind, u64>,
}
