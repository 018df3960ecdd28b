//! Per-interval rates of a scenario's trials: rows fold into time buckets that
//! double in width instead of growing in number ([`TrialBuckets`]), and
//! [`timeline`] lays the trials end to end in one common interval.

use super::{TimePoint, Timeline, MAX_TIME_POINTS, MIN_TIME_POINTS};
use crate::record::{ErrorKind, RequestRow};

/// Narrowest time bucket while a trial is short.
const BASE_BUCKET_MS: f64 = 50.0;
/// Buckets kept per trial while rows arrive; past this the width doubles.
const MAX_LIVE_BUCKETS: usize = 1024;

/// One trial's rows in time buckets of `width_ms` from the trial start.
///
/// In-flight requests are tracked as the integral of the in-flight count: a request
/// adds slope +1 at its send and −1 at its end, so each bucket keeps the number and
/// the sum of the send and end times that fall in it. From those, the area under the
/// in-flight curve up to any bucket edge `x` is `x·(starts − ends) − (Σ start − Σ end)`
/// over the earlier buckets: O(1) per row, exact, and mergeable when buckets widen.
#[derive(Debug, Clone)]
pub(super) struct TrialBuckets {
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
    pub(super) fn new() -> Self {
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

    pub(super) fn add(&mut self, row: &RequestRow) {
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
pub(super) fn timeline(trials: Vec<TrialBuckets>, median_e2e_ms: f64) -> Timeline {
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
