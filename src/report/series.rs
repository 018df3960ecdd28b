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

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::manifest::Manifest;
use crate::metrics::percentile::percentile_sorted;
use crate::metrics::samples::Samples;
use crate::record::{ErrorKind, RequestRow};
use crate::telemetry::prometheus::dcgm_gpu_samples;
use crate::telemetry::{GpuSource, ScrapeSource, TelemetryRecord};

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

/// Narrowest time bucket while a trial is short.
const BASE_BUCKET_MS: f64 = 50.0;
/// Buckets kept per trial while rows arrive; past this the width doubles.
const MAX_LIVE_BUCKETS: usize = 1024;

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

/// Quantile points of `samples` (sorted here). Few samples give the empirical CDF
/// as steps (each sample a riser, so twelve requests do not look like a smooth
/// curve); up to [`MAX_CDF_POINTS`] give every sample; more give evenly spaced
/// quantiles plus a denser tail, computed with the same linear interpolation as
/// the summary's percentiles so the curve passes through the table's p50 and p99.
pub fn cdf(samples: &mut [f64]) -> Vec<(f64, f64)> {
    crate::metrics::percentile::sort_floats(samples);
    let n = samples.len();
    if n == 0 {
        return Vec::new();
    }
    if 2 * n <= MAX_CDF_POINTS {
        let share = |i: usize| i as f64 / n as f64;
        return samples
            .iter()
            .enumerate()
            .flat_map(|(i, &x)| [(x, share(i)), (x, share(i + 1))])
            .collect();
    }
    if n <= MAX_CDF_POINTS {
        return samples
            .iter()
            .enumerate()
            .map(|(i, &x)| (x, (i + 1) as f64 / n as f64))
            .collect();
    }
    quantile_points(|q| percentile_sorted(samples, q * 100.0))
}

/// [`cdf`] of bounded samples: exact while they are, else the same quantiles read
/// from their histogram (within 0.1%, as the summary's percentiles beyond its cap).
fn cdf_of(samples: &mut Samples) -> Vec<(f64, f64)> {
    if let Some(exact) = samples.exact_mut() {
        return cdf(exact);
    }
    quantile_points(|q| samples.approximate_quantile(q))
}

/// Evenly spaced quantiles plus a denser tail, at most [`MAX_CDF_POINTS`].
fn quantile_points(value: impl Fn(f64) -> Option<f64>) -> Vec<(f64, f64)> {
    const TAIL: [f64; 5] = [0.99, 0.995, 0.999, 0.9995, 0.9999];
    let even = MAX_CDF_POINTS - TAIL.len() - 1;
    let mut qs: Vec<f64> = (0..=even).map(|i| i as f64 / even as f64).collect();
    qs.extend(TAIL);
    qs.sort_unstable_by(f64::total_cmp);
    qs.dedup();
    qs.into_iter()
        .filter_map(|q| value(q).map(|x| (x, q)))
        .collect()
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

fn itl_histogram(h: &Histogram<u64>) -> ItlHistogram {
    let total = h.len();
    if total == 0 {
        return ItlHistogram::default();
    }
    let lo_us = h.min() as f64;
    let hi_us = (h.value_at_quantile(ITL_RANGE_QUANTILE) as f64).max(lo_us + 1.0);
    let bin_us = (hi_us - lo_us) / ITL_BINS as f64;
    let mut counts = vec![0u64; ITL_BINS];
    let mut above = 0;
    for v in h.iter_recorded() {
        // hdrhistogram reports the highest value equivalent to the recorded ones;
        // the lowest keeps the minimum in the first bin.
        let value = h.lowest_equivalent(v.value_iterated_to()) as f64;
        if value > hi_us {
            above += v.count_at_value();
            continue;
        }
        let i = (((value - lo_us) / bin_us) as usize).min(ITL_BINS - 1);
        counts[i] += v.count_at_value();
    }
    ItlHistogram {
        bin_ms: bin_us / 1000.0,
        bins: counts
            .into_iter()
            .enumerate()
            .map(|(i, c)| ((lo_us + i as f64 * bin_us) / 1000.0, c))
            .collect(),
        above,
        total,
    }
}

/// One trial's rows in time buckets of `width_ms` from the trial start.
///
/// In-flight requests are tracked as the integral of the in-flight count: a request
/// adds slope +1 at its send and −1 at its end, so each bucket keeps the number and
/// the sum of the send and end times that fall in it. From those, the area under the
/// in-flight curve up to any bucket edge `x` is `x·(starts − ends) − (Σ start − Σ end)`
/// over the earlier buckets: O(1) per row, exact, and mergeable when buckets widen.
#[derive(Debug, Clone)]
struct TrialBuckets {
    width_ms: f64,
    buckets: Vec<Bucket>,
    end_ms: f64,
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    starts: u64,
    start_sum_ms: f64,
    ends: u64,
    end_sum_ms: f64,
    completed: u64,
    output_tokens: f64,
    errors: Vec<(ErrorKind, u64)>,
}

impl Bucket {
    fn merge(&mut self, other: &Bucket) {
        self.starts += other.starts;
        self.start_sum_ms += other.start_sum_ms;
        self.ends += other.ends;
        self.end_sum_ms += other.end_sum_ms;
        self.completed += other.completed;
        self.output_tokens += other.output_tokens;
        for &(kind, n) in &other.errors {
            self.add_error(kind, n);
        }
    }

    fn add_error(&mut self, kind: ErrorKind, n: u64) {
        match self.errors.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, count)) => *count += n,
            None => self.errors.push((kind, n)),
        }
    }
}

impl TrialBuckets {
    fn new() -> Self {
        TrialBuckets {
            width_ms: BASE_BUCKET_MS,
            buckets: Vec::new(),
            end_ms: 0.0,
        }
    }

    /// The bucket holding time `t_ms`, widening every bucket until it fits.
    fn at(&mut self, t_ms: f64) -> &mut Bucket {
        let t_ms = if t_ms.is_finite() { t_ms.max(0.0) } else { 0.0 };
        let mut i = (t_ms / self.width_ms) as usize;
        while i >= MAX_LIVE_BUCKETS {
            self.widen();
            i = (t_ms / self.width_ms) as usize;
        }
        if i >= self.buckets.len() {
            self.buckets.resize_with(i + 1, Bucket::default);
        }
        &mut self.buckets[i]
    }

    /// Doubles the bucket width, merging neighbours.
    fn widen(&mut self) {
        self.width_ms *= 2.0;
        let old = std::mem::take(&mut self.buckets);
        for pair in old.chunks(2) {
            let mut merged = pair[0].clone();
            if let Some(second) = pair.get(1) {
                merged.merge(second);
            }
            self.buckets.push(merged);
        }
    }

    fn add(&mut self, row: &RequestRow) {
        self.end_ms = self.end_ms.max(row.end_ms).max(row.scheduled_ms);
        if let Some(kind) = row.error_kind {
            self.at(row.end_ms.max(row.scheduled_ms)).add_error(kind, 1);
        }
        if row.error_kind == Some(ErrorKind::Dropped) {
            return;
        }
        let start = self.at(row.start_ms);
        start.starts += 1;
        start.start_sum_ms += row.start_ms;
        let end = self.at(row.end_ms);
        end.ends += 1;
        end.end_sum_ms += row.end_ms;
        if !row.ok {
            return;
        }
        end.completed += 1;
        // Tokens are counted when their chunk arrived, so a long stream shows as
        // steady throughput rather than a spike at its end.
        let Some(ttft) = row.ttft_ms else {
            self.at(row.end_ms).output_tokens += row.output_tokens as f64;
            return;
        };
        let exact = row.itl_ms.len() + 1;
        let folded = row.itl_rest.as_ref().map_or(0, |r| r.count);
        let per_chunk = row.output_tokens as f64 / (exact as u64 + folded) as f64;
        let mut t = row.start_ms + ttft;
        self.at(t).output_tokens += per_chunk;
        for itl in &row.itl_ms {
            t += itl;
            self.at(t).output_tokens += per_chunk;
        }
        // Chunks past the exact gaps (`itl_rest`) have no times: counted at the end.
        self.at(row.end_ms).output_tokens += per_chunk * folded as f64;
    }

    /// Re-buckets into `width_ms`, a multiple of this trial's width; returns the
    /// buckets and the width each one actually covers until the trial's last event
    /// (the last is partial, or empty when that event falls on its start).
    fn rebucket(&self, width_ms: f64) -> Vec<(Bucket, f64)> {
        let factor = (width_ms / self.width_ms).round().max(1.0) as usize;
        self.buckets
            .chunks(factor)
            .enumerate()
            .map(|(i, chunk)| {
                let mut merged = chunk[0].clone();
                for b in &chunk[1..] {
                    merged.merge(b);
                }
                let from = i as f64 * width_ms;
                (merged, (self.end_ms - from).clamp(0.0, width_ms))
            })
            .collect()
    }
}

/// Lays the trials end to end in intervals of one common width: the narrowest
/// multiple of every trial's bucket width that is at least the median request
/// duration (so an interval sees whole requests, not a comb of completions), has
/// about four completions per interval and keeps the points at most
/// [`MAX_TIME_POINTS`], while keeping at least [`MIN_TIME_POINTS`] where the run is
/// long enough.
fn timeline(trials: Vec<TrialBuckets>, median_e2e_ms: f64) -> Timeline {
    if trials.is_empty() {
        return Timeline::default();
    }
    let mut width_ms = trials
        .iter()
        .map(|t| t.width_ms)
        .fold(BASE_BUCKET_MS, f64::max);
    let points_at = |w: f64| -> usize {
        trials
            .iter()
            .map(|t| (t.end_ms / w).ceil().max(1.0) as usize)
            .sum()
    };
    let completions: u64 = trials
        .iter()
        .flat_map(|t| t.buckets.iter().map(|b| b.ends))
        .sum();
    let by_completions = ((completions / 4) as usize).max(MIN_TIME_POINTS);
    loop {
        let n = points_at(width_ms);
        let too_fine = n > MIN_TIME_POINTS && (width_ms < median_e2e_ms || n > by_completions);
        if n <= MAX_TIME_POINTS && !too_fine {
            break;
        }
        width_ms *= 2.0;
    }
    let mut points = Vec::new();
    let mut trial_starts_s = Vec::new();
    for trial in &trials {
        let offset_ms = points.len() as f64 * width_ms;
        if !points.is_empty() {
            trial_starts_s.push(offset_ms / 1000.0);
        }
        let n = (trial.end_ms / width_ms).ceil().max(1.0) as usize;
        let mut buckets = trial.rebucket(width_ms);
        buckets.resize_with(n.max(buckets.len()), || (Bucket::default(), width_ms));
        // A sliver at the end of a trial would turn one completion into a spike:
        // fold it into the interval before.
        if buckets.len() >= 2 && buckets[buckets.len() - 1].1 < width_ms / 2.0 {
            let (last, covered) = buckets.pop().unwrap_or_default();
            let prev = buckets.len() - 1;
            buckets[prev].0.merge(&last);
            buckets[prev].1 += covered;
        }
        let (mut open, mut open_sum) = (0.0, 0.0);
        for (i, (bucket, covered_ms)) in buckets.into_iter().enumerate() {
            // Only a trial whose every event is at its start covers nothing.
            let covered_ms = if covered_ms > 0.0 {
                covered_ms
            } else {
                width_ms
            };
            let from = i as f64 * width_ms;
            let area_before = from * open - open_sum;
            open += bucket.starts as f64 - bucket.ends as f64;
            open_sum += bucket.start_sum_ms - bucket.end_sum_ms;
            let area_after = (from + covered_ms) * open - open_sum;
            let per_s = |x: f64| x / (covered_ms / 1000.0);
            points.push(TimePoint {
                t_s: (offset_ms + from + covered_ms / 2.0) / 1000.0,
                requests_per_s: per_s(bucket.completed as f64),
                output_tokens_per_s: per_s(bucket.output_tokens),
                in_flight: ((area_after - area_before) / covered_ms).max(0.0),
                errors: bucket.errors.iter().copied().collect(),
            });
        }
    }
    Timeline {
        bucket_s: width_ms / 1000.0,
        points,
        trial_starts_s,
    }
}

/// Scenarios that differ only in how much load they offer: a load sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// What the scenarios share, e.g. `prompt chat-short, max_tokens 128, closed loop`.
    pub label: String,
    /// `concurrency` or `offered load (req/s)`.
    pub load_desc: &'static str,
    /// In increasing offered load.
    pub points: Vec<SweepPoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    pub scenario: String,
    /// Concurrency (closed loop) or target rate in requests per second (open loop).
    pub offered: f64,
    pub ttft_ms: Option<crate::metrics::Stats>,
    pub e2e_ms: Option<crate::metrics::Stats>,
    pub requests_per_s: f64,
    pub goodput_requests_per_s: Option<f64>,
}

/// Groups the scenarios of a run into sweeps: two or more scenarios with the same
/// prompt, output length, streaming and loop kind but different load levels. A run
/// without such a group has no sweep section.
pub fn sweeps(summary: &crate::metrics::Summary) -> Vec<Sweep> {
    use crate::manifest::LoadSpec;
    let mut groups: Vec<(String, &'static str, Vec<SweepPoint>)> = Vec::new();
    for s in &summary.scenarios {
        let spec = &s.spec;
        let (offered, mode, load_desc) = match spec.load {
            LoadSpec::Closed { concurrency } => {
                (f64::from(concurrency), "closed loop", "concurrency")
            }
            LoadSpec::Open { rate, .. } => (rate, "open loop", "offered load (req/s)"),
            // A replay's load is the trace's own: no level to sweep.
            LoadSpec::Trace { .. } => continue,
        };
        let label = format!(
            "prompt {}, max_tokens {}{}, {mode}",
            spec.prompt,
            spec.max_tokens,
            if spec.stream { "" } else { ", not streamed" }
        );
        let m = &s.metrics;
        let point = SweepPoint {
            scenario: s.name.clone(),
            offered,
            ttft_ms: m.ttft_ms,
            e2e_ms: m.e2e_ms,
            requests_per_s: m.requests_per_s,
            goodput_requests_per_s: m.goodput.as_ref().map(|g| g.requests_per_s),
        };
        match groups.iter_mut().find(|g| g.0 == label) {
            Some(group) => group.2.push(point),
            None => groups.push((label, load_desc, vec![point])),
        }
    }
    groups
        .into_iter()
        .filter_map(|(label, load_desc, mut points)| {
            points.sort_by(|a, b| a.offered.total_cmp(&b.offered));
            let mut levels: Vec<f64> = points.iter().map(|p| p.offered).collect();
            levels.dedup();
            (levels.len() >= 2).then_some(Sweep {
                label,
                load_desc,
                points,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::TokenSource;

    pub(crate) fn row(index: u64, start_ms: f64, e2e_ms: f64) -> RequestRow {
        RequestRow {
            scenario: "s".into(),
            trial: 0,
            index,
            request_id: None,
            warmup: false,
            ok: true,
            status: Some(200),
            error_kind: None,
            error: None,
            scheduled_ms: start_ms,
            start_ms,
            end_ms: start_ms + e2e_ms,
            send_lag_ms: 0.0,
            ttfb_ms: Some(10.0),
            ttft_ms: Some(10.0),
            ttfr_ms: None,
            response_ttft_ms: Some(10.0),
            e2e_ms,
            response_e2e_ms: e2e_ms,
            tpot_ms: None,
            itl_ms: vec![],
            prompt_tokens: Some(10),
            requested_output_tokens: None,
            output_tokens: 1,
            chunks: 1,
            token_source: TokenSource::Usage,
            in_flight: 1,
            itl_rest: None,
            flags: Vec::new(),
            attempts: 1,
            first_attempt_error: None,
            new_connection: None,
            connect_ms: None,
            conversation: None,
            turn: None,
            client_stall: false,
        }
    }

    #[test]
    fn cdf_keeps_few_samples_and_downsamples_many() {
        let mut few = vec![3.0, 1.0, 2.0];
        let third = 1.0 / 3.0;
        assert_eq!(
            cdf(&mut few),
            vec![
                (1.0, 0.0),
                (1.0, third),
                (2.0, third),
                (2.0, 2.0 * third),
                (3.0, 2.0 * third),
                (3.0, 1.0)
            ]
        );
        let mut many: Vec<f64> = (0..100_000).map(|i| i as f64).collect();
        let points = cdf(&mut many);
        assert!(points.len() <= MAX_CDF_POINTS);
        assert_eq!(points.first(), Some(&(0.0, 0.0)));
        assert_eq!(points.last(), Some(&(99_999.0, 1.0)));
        // The curve passes through the summary's p99 (linear interpolation).
        let p99 = percentile_sorted(&many, 99.0).unwrap();
        assert!(points.contains(&(p99, 0.99)));
        assert!(points
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1));
    }

    /// Past the summary's cap the CDF comes from a histogram: the same quantiles,
    /// each within 0.1% of the exact value.
    #[test]
    fn cdf_of_many_samples_is_within_a_thousandth() {
        let values: Vec<f64> = (0..20_000)
            .map(|i| 40.0 + ((i * 7919) % 10_007) as f64 / 100.0)
            .collect();
        let mut bounded = Samples::with_cap(5000);
        bounded.extend(values.iter().copied());
        assert!(bounded.is_approximate());
        let exact = cdf(&mut values.clone());
        let approximate = cdf_of(&mut bounded);
        assert_eq!(exact.len(), approximate.len());
        for ((e, q), (a, r)) in exact.iter().zip(&approximate) {
            assert_eq!(q, r);
            assert!((a - e).abs() <= 1e-3 * e, "{a} vs {e} at {q}");
        }
        let mut small = Samples::with_cap(values.len());
        small.extend(values.iter().copied());
        assert_eq!(cdf_of(&mut small), exact, "exact below the cap");
    }

    #[test]
    fn itl_histogram_counts_every_gap() {
        let mut h = Histogram::new(3).unwrap();
        for v in 1..=1000u64 {
            h.record(v * 10).unwrap();
        }
        let hist = itl_histogram(&h);
        assert_eq!(hist.bins.len(), ITL_BINS);
        assert_eq!(hist.total, 1000);
        assert_eq!(
            hist.bins.iter().map(|b| b.1).sum::<u64>() + hist.above,
            1000
        );
        assert!(hist.above <= 6, "only the slowest 0.5% are above the range");
        assert_eq!(hist.bins[0].0, 0.01);
    }

    /// A closed loop of 4 × back-to-back 100 ms requests for 10 s: 40 req/s and an
    /// average of 4 requests in flight in every interval.
    #[test]
    fn timeline_rates_and_in_flight() {
        let manifest = crate::report::tests::fixture_manifest(&["s"]);
        let mut builder = SeriesBuilder::new(&manifest);
        let mut index = 0;
        for worker in 0..4 {
            for k in 0..100 {
                let mut r = row(index, k as f64 * 100.0, 100.0);
                r.in_flight = worker + 1;
                builder.add(&r);
                index += 1;
            }
        }
        let series = builder.finish();
        let t = &series.scenarios[0].timeline;
        assert!(t.points.len() <= MAX_TIME_POINTS);
        // 400 completions: about 100 points of 0.1 s.
        assert_eq!(t.bucket_s, 0.1);
        for p in &t.points[2..t.points.len() - 2] {
            assert!((p.in_flight - 4.0).abs() < 1e-9, "{p:?}");
        }
        let total: f64 = t.points.iter().map(|p| p.requests_per_s * t.bucket_s).sum();
        assert!((total - 400.0).abs() < 1e-6, "{total}");
    }

    /// Long runs widen the buckets instead of growing their number.
    #[test]
    fn long_trials_stay_under_the_point_cap() {
        let manifest = crate::report::tests::fixture_manifest(&["s"]);
        let mut builder = SeriesBuilder::new(&manifest);
        for i in 0..10_000u64 {
            let mut r = row(i, i as f64 * 360.0, 50.0);
            r.trial = (i / 5000) as u32;
            if i % 100 == 0 {
                r.ok = false;
                r.error_kind = Some(ErrorKind::Timeout);
            }
            builder.add(&r);
        }
        let series = builder.finish();
        let t = &series.scenarios[0].timeline;
        assert!(t.points.len() <= MAX_TIME_POINTS, "{}", t.points.len());
        assert_eq!(t.trial_starts_s.len(), 1);
        let errors: u64 = t
            .points
            .iter()
            .filter_map(|p| p.errors.get(&ErrorKind::Timeout))
            .sum();
        assert_eq!(errors, 100);
    }
}
