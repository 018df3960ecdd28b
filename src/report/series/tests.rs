//! Tests of the chart data: CDF downsampling (exact and past the summary's cap), the
//! ITL histogram, and the timeline's rates, in-flight counts and point cap.

use hdrhistogram::Histogram;

use super::distributions::{cdf_of, itl_histogram};
use super::*;
use crate::metrics::percentile::percentile_sorted;
use crate::metrics::samples::Samples;
use crate::record::{ErrorKind, RequestRow, TokenSource};

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
        first_token_wait_ms: None,
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
