//! Latency distributions: the TTFT and E2E CDFs (with a baseline's overlay) and the
//! inter-token latency histogram.

use plotters::prelude::*;

use super::canvas::{font, message_chart, render, BASELINE, GRID, INK, PALETTE};
use super::line::{line_chart, Axes, Line, Stroke};
use super::scale::{padded_range, percent_tick, tick};
use crate::report::cdf_axis;
use crate::report::series::ItlHistogram;

/// A latency CDF: percentile against latency, this run solid, the baseline dashed.
pub fn cdf_chart(metric: &str, run: &[(f64, f64)], baseline: Option<&[(f64, f64)]>) -> String {
    if run.is_empty() && baseline.is_none_or(|b| b.is_empty()) {
        return message_chart(&format!("no successful requests: no {metric} to plot"));
    }
    let curves: Vec<&[(f64, f64)]> = std::iter::once(run).chain(baseline).collect();
    let (x, cut) = cdf_axis::x_range(&curves, |xs| padded_range(xs, false));
    let (run, baseline) = (
        cdf_axis::clip(run, x.end),
        baseline.map(|b| cdf_axis::clip(b, x.end)),
    );
    let (run, baseline) = (run.as_slice(), baseline.as_deref());
    let axes = Axes {
        x_desc: match cut {
            Some(slowest) => format!(
                "{metric} (ms; axis ends past p99.5, slowest {})",
                tick(&slowest)
            ),
            None => format!("{metric} (ms)"),
        },
        y_desc: "requests at or below (%)".into(),
        x,
        y: 0.0..1.0,
        y_percent: true,
        legend: baseline
            .is_some()
            .then_some(SeriesLabelPosition::LowerRight),
    };
    let mut lines = vec![Line {
        label: "this run".into(),
        points: with_origin(run),
        color: PALETTE[0],
        stroke: Stroke::Solid,
    }];
    if let Some(b) = baseline {
        lines.push(Line {
            label: "baseline".into(),
            points: with_origin(b),
            color: BASELINE,
            stroke: Stroke::Dashed,
        });
    }
    line_chart(&axes, &lines, &[], None)
}

/// Starts a CDF at 0% at its first value, so the curve rises from the axis.
fn with_origin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() + 1);
    if let Some(&(x, y)) = points.first() {
        if y > 0.0 {
            out.push((x, 0.0));
        }
    }
    out.extend_from_slice(points);
    out
}

/// Inter-token latency histogram: share of gaps per bin.
pub fn itl_chart(h: &ItlHistogram) -> String {
    if h.total == 0 {
        return message_chart("no inter-token gaps (single-chunk or non-streamed responses)");
    }
    let share = |c: u64| c as f64 / h.total as f64;
    let x_end = h.bins.last().map_or(1.0, |b| b.0 + h.bin_ms);
    let x_start = h.bins.first().map_or(0.0, |b| b.0);
    let y_max = h.bins.iter().map(|b| share(b.1)).fold(0.0, f64::max) * 1.08;
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(58)
            .build_cartesian_2d(x_start..x_end, 0.0..y_max.max(1e-3))?;
        let x_desc = if h.above > 0 {
            format!(
                "inter-token latency (ms); {} slower gaps not shown",
                h.above
            )
        } else {
            "inter-token latency (ms)".to_string()
        };
        chart
            .configure_mesh()
            .max_light_lines(0)
            .disable_x_mesh()
            .bold_line_style(GRID.mix(0.3))
            .axis_style(INK)
            .label_style(font(11.0))
            .axis_desc_style(font(12.0))
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&tick)
            .y_label_formatter(&percent_tick)
            .x_desc(x_desc)
            .y_desc("share of gaps (%)")
            .draw()?;
        let color = PALETTE[0];
        chart.draw_series(h.bins.iter().filter(|b| b.1 > 0).map(|&(lo, count)| {
            let mut bar = Rectangle::new(
                [(lo, 0.0), (lo + h.bin_ms, share(count))],
                color.mix(0.8).filled(),
            );
            bar.set_margin(0, 0, 1, 1);
            bar
        }))?;
        Ok(())
    })
}
