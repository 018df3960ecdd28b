//! Parsing, families and the per-trial summary, on pages shaped like real servers'.

use super::accumulate::{increase, Hist};
use super::*;

#[test]
fn counter_increase_survives_restarts_and_late_series() {
    assert_eq!(increase(&[Some(10.0), Some(15.0), Some(20.0)]), 10.0);
    assert_eq!(
        increase(&[Some(10.0), Some(15.0), Some(3.0)]),
        8.0,
        "restart"
    );
    assert_eq!(increase(&[None, Some(4.0), Some(6.0)]), 6.0, "new series");
    assert_eq!(
        increase(&[Some(4.0), None, Some(6.0)]),
        2.0,
        "failed scrape"
    );
    assert_eq!(increase(&[]), 0.0);
}

#[test]
fn histogram_quantile_interpolates_like_promql() {
    let h = Hist {
        buckets: vec![(0.1, 10.0), (0.2, 30.0), (f64::INFINITY, 40.0)],
        sum: 6.0,
        count: 40.0,
    };
    // Rank 20 of 40 lies halfway through the (0.1, 0.2] bucket.
    assert!((h.quantile(0.5).unwrap() - 0.15).abs() < 1e-12);
    // Rank 2 lies in the first bucket, which starts at 0.
    assert!((h.quantile(0.05).unwrap() - 0.02).abs() < 1e-12);
    // Ranks in the +Inf bucket give the highest finite bound.
    assert_eq!(h.quantile(0.99), Some(0.2));
    let s = h.stats_ms().unwrap();
    assert_eq!(s.count, 40.0);
    assert!((s.mean - 150.0).abs() < 1e-9);
}

#[test]
fn keeps_colon_names_drops_runtime_noise() {
    let samples = parse(include_str!(
        "../../../tests/fixtures/prometheus/vllm_after.prom"
    ))
    .unwrap();
    assert!(samples
        .iter()
        .any(|s| s.name == "vllm:num_requests_running"));
    assert!(samples
        .iter()
        .any(|s| s.name == "vllm:time_to_first_token_seconds_bucket"
            && s.labels.get("le").map(String::as_str) == Some("+Inf")));
    assert!(samples.iter().all(|s| !s.name.starts_with("python_")
        && !s.name.starts_with("process_")
        && !s.name.starts_with("http_")
        && !s.name.ends_with("_created")));
    assert_eq!(engine_of(&samples), Some("vllm"));
}

#[test]
fn rejects_what_is_not_an_exposition() {
    assert!(parse("<html>502 Bad Gateway</html>").is_err());
}
