//! Charts over the run's time axis: throughput, requests in flight, GPU power and
//! errors by kind, each with the trials' boundaries marked.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{font, legend, message_chart, render, GRID, INK, PALETTE, PAPER};
use super::line::{line_chart, Axes, Line, Stroke};
use super::scale::{interval, padded_range, tick, with_headroom};
use crate::record::ErrorKind;
use crate::report::series::Timeline;

/// Completed requests per second (left axis) and output tokens per second (right).
pub fn throughput_chart(t: &Timeline) -> String {
    if t.points.is_empty() {
        return message_chart("no requests");
    }
    let x = 0.0..t.points.last().map_or(1.0, |p| p.t_s + t.bucket_s / 2.0);
    let req = with_headroom(padded_range(
        t.points.iter().map(|p| p.requests_per_s),
        true,
    ));
    let tok = with_headroom(padded_range(
        t.points.iter().map(|p| p.output_tokens_per_s),
        true,
    ));
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(58)
            .right_y_label_area_size(58)
            .build_cartesian_2d(x.clone(), req.clone())?
            .set_secondary_coord(x.clone(), tok.clone());
        chart
            .configure_mesh()
            .max_light_lines(0)
            .bold_line_style(GRID.mix(0.3))
            .axis_style(INK)
            .label_style(font(11.0))
            .axis_desc_style(font(12.0))
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc(format!("time (s); rates over {}", interval(t.bucket_s)))
            .y_desc("completed requests / s")
            .draw()?;
        chart
            .configure_secondary_axes()
            .axis_style(INK)
            .label_style(font(11.0))
            .axis_desc_style(font(12.0))
            .y_labels(6)
            .y_label_formatter(&tick)
            .y_desc("output tokens / s")
            .draw()?;
        for &m in &t.trial_starts_s {
            chart.draw_series(DashedLineSeries::new(
                [(m, req.start), (m, req.end)],
                4,
                4,
                GRID.stroke_width(1),
            ))?;
        }
        let (c_req, c_tok) = (PALETTE[0], PALETTE[1]);
        chart
            .draw_series(LineSeries::new(
                t.points.iter().map(|p| (p.t_s, p.requests_per_s)),
                c_req.stroke_width(2),
            ))?
            .label("requests / s (left)")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], c_req.stroke_width(2))
            });
        chart
            .draw_secondary_series(LineSeries::new(
                t.points.iter().map(|p| (p.t_s, p.output_tokens_per_s)),
                c_tok.stroke_width(2),
            ))?
            .label("output tokens / s (right)")
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], c_tok.stroke_width(2))
            });
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .margin(8)
            .label_font(font(11.0))
            .background_style(PAPER.mix(0.85))
            .border_style(GRID.mix(0.6))
            .draw()?;
        Ok(())
    })
}

/// Average requests in flight per interval.
pub fn in_flight_chart(t: &Timeline) -> String {
    if t.points.is_empty() {
        return message_chart("no requests");
    }
    let x = 0.0..t.points.last().map_or(1.0, |p| p.t_s + t.bucket_s / 2.0);
    let axes = Axes {
        x_desc: format!("time (s); average over {}", interval(t.bucket_s)),
        y_desc: "requests in flight".into(),
        x,
        y: padded_range(t.points.iter().map(|p| p.in_flight), true),
        y_percent: false,
        legend: None,
    };
    let line = Line {
        label: "in flight".into(),
        points: t.points.iter().map(|p| (p.t_s, p.in_flight)).collect(),
        color: PALETTE[5],
        stroke: Stroke::Area,
    };
    line_chart(&axes, &[line], &t.trial_starts_s, None)
}

/// GPU power of all measured GPUs over the same time axis as the throughput chart.
pub fn power_chart(t: &Timeline, power: &[(f64, f64)]) -> String {
    if power.is_empty() {
        return message_chart("no GPU power readings");
    }
    let end = t
        .points
        .last()
        .map_or(0.0, |p| p.t_s + t.bucket_s / 2.0)
        .max(power.last().map_or(1.0, |p| p.0));
    let axes = Axes {
        x_desc: "time (s)".into(),
        y_desc: "GPU power (W)".into(),
        x: 0.0..end,
        y: padded_range(power.iter().map(|p| p.1), true),
        y_percent: false,
        legend: None,
    };
    let line = Line {
        label: "GPU power".into(),
        points: power.to_vec(),
        color: PALETTE[3],
        stroke: Stroke::Area,
    };
    line_chart(&axes, &[line], &t.trial_starts_s, None)
}

/// Failed requests per interval, stacked by error kind.
pub fn errors_chart(t: &Timeline) -> String {
    if t.points.is_empty() {
        return message_chart("no requests");
    }
    let mut kinds: Vec<ErrorKind> = t
        .points
        .iter()
        .flat_map(|p| p.errors.keys().copied())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let x = 0.0..t.points.last().map_or(1.0, |p| p.t_s + t.bucket_s / 2.0);
    let y_max = t
        .points
        .iter()
        .map(|p| p.errors.values().sum::<u64>())
        .max()
        .unwrap_or(0);
    let y = if kinds.is_empty() {
        0.0..1.0
    } else {
        with_headroom(padded_range([y_max as f64], true))
    };
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(58)
            .build_cartesian_2d(x.clone(), y.clone())?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .disable_x_mesh()
            .bold_line_style(GRID.mix(0.3))
            .axis_style(INK)
            .label_style(font(11.0))
            .axis_desc_style(font(12.0))
            .x_labels(8)
            // Whole counts only: no "0.5 failed requests" tick.
            .y_labels((y_max as usize + 1).clamp(2, 6))
            .x_label_formatter(&tick)
            .y_label_formatter(&|v: &f64| {
                if v.fract() == 0.0 {
                    tick(v)
                } else {
                    String::new()
                }
            })
            .x_desc("time (s)")
            .y_desc(format!("failed requests per {}", interval(t.bucket_s)))
            .draw()?;
        for &m in &t.trial_starts_s {
            chart.draw_series(DashedLineSeries::new(
                [(m, y.start), (m, y.end)],
                4,
                4,
                GRID.stroke_width(1),
            ))?;
        }
        // Stacked bars: each kind sits on the kinds before it, red first.
        let mut base = vec![0u64; t.points.len()];
        for (i, &kind) in kinds.iter().enumerate() {
            let color = PALETTE[(i + 2) % PALETTE.len()];
            let bars: Vec<Rectangle<(f64, f64)>> = t
                .points
                .iter()
                .zip(base.iter_mut())
                .filter_map(|(p, below)| {
                    let n = p.errors.get(&kind).copied().unwrap_or(0);
                    let from = *below;
                    *below += n;
                    let half = t.bucket_s / 2.0;
                    (n > 0).then(|| {
                        let mut bar = Rectangle::new(
                            [
                                (p.t_s - half, from as f64),
                                (p.t_s + half, (from + n) as f64),
                            ],
                            color.mix(0.85).filled(),
                        );
                        bar.set_margin(0, 0, 1, 1);
                        bar
                    })
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(kind.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.mix(0.85).filled())
                });
        }
        if kinds.is_empty() {
            let centre = chart.backend_coord(&((x.start + x.end) / 2.0, 0.5));
            let style = font(13.0).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw_text("no errors", &style, centre)?;
        } else {
            legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}
