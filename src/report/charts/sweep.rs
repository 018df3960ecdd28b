//! Load-sweep charts: latency percentiles and throughput against offered load.

use plotters::prelude::*;

use super::canvas::{message_chart, BASELINE, PALETTE};
use super::line::{line_chart, Axes, Line, Stroke};
use super::scale::{padded_range, with_headroom};
use crate::metrics::Stats;
use crate::report::series::{Sweep, SweepPoint};

/// Latency percentiles of one metric against offered load.
pub fn sweep_latency_chart(
    sweep: &Sweep,
    metric: &str,
    stats: impl Fn(&SweepPoint) -> Option<Stats>,
) -> String {
    let pick = |f: fn(&Stats) -> f64| -> Vec<(f64, f64)> {
        sweep
            .points
            .iter()
            .filter_map(|p| stats(p).map(|s| (p.offered, f(&s))))
            .collect()
    };
    let lines: Vec<Line> = [
        ("p50", pick(|s| s.p50)),
        ("p90", pick(|s| s.p90)),
        ("p99", pick(|s| s.p99)),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (label, points))| Line {
        label: format!("{metric} {label}"),
        points,
        color: PALETTE[i],
        stroke: Stroke::Markers,
    })
    .collect();
    if lines.iter().all(|l| l.points.is_empty()) {
        return message_chart(&format!("no successful requests: no {metric} to plot"));
    }
    let axes = Axes {
        x_desc: sweep.load_desc.to_string(),
        y_desc: format!("{metric} (ms)"),
        x: padded_range(sweep.points.iter().map(|p| p.offered), true),
        y: with_headroom(padded_range(
            lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)),
            true,
        )),
        y_percent: false,
        legend: Some(SeriesLabelPosition::UpperLeft),
    };
    line_chart(&axes, &lines, &[], None)
}

/// Achieved throughput and goodput (requests that met every SLO) against offered load.
pub fn sweep_goodput_chart(sweep: &Sweep) -> String {
    let mut lines = vec![Line {
        label: "completed requests / s".into(),
        points: sweep
            .points
            .iter()
            .map(|p| (p.offered, p.requests_per_s))
            .collect(),
        color: PALETTE[0],
        stroke: Stroke::Markers,
    }];
    let goodput: Vec<(f64, f64)> = sweep
        .points
        .iter()
        .filter_map(|p| p.goodput_requests_per_s.map(|g| (p.offered, g)))
        .collect();
    if !goodput.is_empty() {
        lines.push(Line {
            label: "goodput: met the SLO / s".into(),
            points: goodput,
            color: PALETTE[3],
            stroke: Stroke::Markers,
        });
    }
    let x = padded_range(sweep.points.iter().map(|p| p.offered), true);
    if sweep.load_desc != "concurrency" {
        // Open loop: the offered rate itself, which throughput meets until saturation.
        lines.push(Line {
            label: "offered".into(),
            points: vec![(0.0, 0.0), (x.end, x.end)],
            color: BASELINE,
            stroke: Stroke::Dashed,
        });
    }
    let y = padded_range(
        lines
            .iter()
            .take(2)
            .flat_map(|l| l.points.iter().map(|p| p.1)),
        true,
    );
    let axes = Axes {
        x_desc: sweep.load_desc.to_string(),
        y_desc: "requests / s".into(),
        x,
        y: with_headroom(y),
        y_percent: false,
        legend: Some(SeriesLabelPosition::UpperLeft),
    };
    line_chart(&axes, &lines, &[], None)
}
