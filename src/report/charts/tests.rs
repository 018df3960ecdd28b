//! Tests of the tick labels, axis ranges and one chart's SVG.

use super::latency::cdf_chart;
use super::scale::{padded_range, percent_tick, tick};

#[test]
fn ticks_are_short() {
    assert_eq!(tick(&0.0), "0");
    assert_eq!(tick(&2.5), "2.5");
    assert_eq!(tick(&0.05), "0.05");
    assert_eq!(tick(&150.0), "150");
    assert_eq!(tick(&12_000.0), "12k");
    assert_eq!(tick(&12_500.0), "12.5k");
    assert_eq!(percent_tick(&0.5), "50%");
}

#[test]
fn ranges_start_at_zero_unless_the_data_is_far_from_it() {
    assert_eq!(padded_range([5.0, 20.0], false).start, 0.0);
    let r = padded_range([500.0, 520.0], false);
    assert!(r.start > 490.0 && r.start < 500.0 && r.end > 520.0, "{r:?}");
    assert_eq!(padded_range([], false), 0.0..1.0);
}

#[test]
fn charts_are_svg_with_text() {
    let svg = cdf_chart(
        "TTFT",
        &[(1.0, 0.5), (2.0, 1.0)],
        Some(&[(1.5, 0.5), (2.5, 1.0)]),
    );
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.contains("TTFT (ms)"));
    assert!(svg.contains("baseline"));
    assert!(cdf_chart("TTFT", &[], None).contains("no successful requests"));
}
