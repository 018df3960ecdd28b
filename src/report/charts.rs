//! The charts of `report.html`, drawn by `plotters` into SVG strings.
//!
//! Every chart is one self-contained `<svg>` with a `viewBox`, so the page scales it
//! with CSS. Text and axes use [`INK`] and legend boxes [`PAPER`]: two colours the
//! page's stylesheet recolours under `prefers-color-scheme: dark` (CSS beats SVG
//! presentation attributes), while the series colours are mid-tone and read on
//! both backgrounds. A chart never fails the report: a drawing error becomes a
//! chart that says so.

use std::error::Error;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::series::{ItlHistogram, Sweep, SweepPoint, Timeline};
use crate::metrics::Stats;
use crate::record::ErrorKind;

/// Chart size in SVG user units (the page scales it to the column width).
pub const WIDTH: u32 = 560;
pub const HEIGHT: u32 = 300;

/// Text and axes; the page maps it to a light colour in dark mode.
pub const INK: RGBColor = RGBColor(0x1F, 0x2A, 0x3B);
/// Legend background; the page maps it to the dark background in dark mode.
pub const PAPER: RGBColor = RGBColor(0xFF, 0xFF, 0xFE);
const GRID: RGBColor = RGBColor(0x8C, 0x95, 0x9F);
/// The baseline's lines: a neutral grey, dashed.
pub const BASELINE: RGBColor = RGBColor(0x8C, 0x95, 0x9F);
/// Mid-tone colours that keep their contrast on white and on near-black
/// (Tableau 10, reordered so neighbours differ in lightness too).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0x76, 0xB7, 0xB2),
    RGBColor(0xED, 0xC9, 0x48),
    RGBColor(0x9C, 0x75, 0x5F),
];

type Svg<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn Error>>;

/// plotters divides font sizes by 1.24 when it writes SVG; this gives `px` pixels.
fn font(px: f64) -> TextStyle<'static> {
    ("sans-serif", px * 1.24).into_font().color(&INK)
}

/// Draws into a fresh SVG; any error becomes a chart with the message.
fn render(draw: impl FnOnce(&Svg<'_>) -> DrawResult) -> String {
    let mut svg = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root).and_then(|()| root.present().map_err(Into::into))
    };
    match result {
        Ok(()) => svg,
        Err(e) => message_chart(&format!("chart could not be drawn: {e}")),
    }
}

/// An empty chart that only says `text` (e.g. "no successful requests").
pub fn message_chart(text: &str) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let style = font(13.0).pos(Pos::new(HPos::Center, VPos::Center));
        // Drawing text on a fresh string backend cannot fail.
        let _ = root.draw_text(text, &style, (WIDTH as i32 / 2, HEIGHT as i32 / 2));
        let _ = root.present();
    }
    svg
}

/// A tick label: no trailing zeros, thousands as `k`.
pub fn tick(v: &f64) -> String {
    let v = *v;
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if v.abs() >= 10_000.0 {
        format!("{}k", trim(format!("{:.1}", v / 1000.0)))
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        let s = trim(format!("{v:.2}"));
        if s == "-0" {
            "0".into()
        } else {
            s
        }
    }
}

fn percent_tick(v: &f64) -> String {
    format!("{}%", tick(&(v * 100.0)))
}

/// `lo..hi` padded by 4%; starts at zero when the data is closer to zero than to
/// its own spread, so small differences are not blown up out of proportion.
pub fn padded_range(values: impl IntoIterator<Item = f64>, from_zero: bool) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if from_zero || lo < (hi - lo) {
        lo = lo.min(0.0);
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.04
    } else {
        hi.abs().max(1.0) * 0.05
    };
    let lo = if lo == 0.0 { 0.0 } else { lo - pad };
    lo..hi + pad
}

/// Room above the data for a legend in an upper corner.
fn with_headroom(r: Range<f64>) -> Range<f64> {
    r.start..r.end + (r.end - r.start) * 0.3
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stroke {
    Solid,
    Dashed,
    /// Solid with a translucent fill down to zero.
    Area,
    /// Solid with a dot at every point (few points, e.g. a sweep).
    Markers,
}

/// One labelled line of a chart.
#[derive(Debug, Clone)]
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub stroke: Stroke,
}

/// Axes of a line chart; units go in the descriptions.
#[derive(Debug, Clone)]
pub struct Axes {
    pub x_desc: String,
    pub y_desc: String,
    pub x: Range<f64>,
    pub y: Range<f64>,
    /// Show y ticks as percentages of 0–1 values.
    pub y_percent: bool,
    /// Where the legend goes; `None`: no legend.
    pub legend: Option<SeriesLabelPosition>,
}

/// Lines on shared axes, with optional dashed vertical markers (trial boundaries)
/// and a note in the middle (e.g. "no errors").
pub fn line_chart(axes: &Axes, lines: &[Line], markers: &[f64], note: Option<&str>) -> String {
    render(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(58)
            .build_cartesian_2d(axes.x.clone(), axes.y.clone())?;
        let y_fmt: &dyn Fn(&f64) -> String = if axes.y_percent { &percent_tick } else { &tick };
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
            .y_label_formatter(y_fmt)
            .x_desc(axes.x_desc.as_str())
            .y_desc(axes.y_desc.as_str())
            .draw()?;
        for &x in markers {
            chart.draw_series(DashedLineSeries::new(
                [(x, axes.y.start), (x, axes.y.end)],
                4,
                4,
                GRID.stroke_width(1),
            ))?;
        }
        for line in lines {
            let color = line.color;
            let style = color.stroke_width(2);
            let pts = line.points.iter().copied();
            let anno = match line.stroke {
                Stroke::Solid => chart.draw_series(LineSeries::new(pts, style))?,
                Stroke::Dashed => chart.draw_series(DashedLineSeries::new(pts, 6, 4, style))?,
                Stroke::Area => chart.draw_series(
                    AreaSeries::new(pts, axes.y.start.max(0.0), color.mix(0.18))
                        .border_style(style),
                )?,
                Stroke::Markers => {
                    chart.draw_series(
                        line.points
                            .iter()
                            .map(|&p| Circle::new(p, 3, color.filled())),
                    )?;
                    chart.draw_series(LineSeries::new(pts, style))?
                }
            };
            let dashed = line.stroke == Stroke::Dashed;
            anno.label(line.label.as_str()).legend(move |(x, y)| {
                let end = if dashed { x + 8 } else { x + 16 };
                PathElement::new(vec![(x, y), (end, y)], color.stroke_width(2))
            });
        }
        if let Some(note) = note {
            let centre = chart.backend_coord(&(
                (axes.x.start + axes.x.end) / 2.0,
                (axes.y.start + axes.y.end) / 2.0,
            ));
            let style = font(13.0).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw_text(note, &style, centre)?;
        }
        if let Some(position) = axes.legend.clone() {
            legend(&mut chart, position)?;
        }
        Ok(())
    })
}

fn legend<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
{
    chart
        .configure_series_labels()
        .position(position)
        .margin(8)
        .label_font(font(11.0))
        .background_style(PAPER.mix(0.85))
        .border_style(GRID.mix(0.6))
        .draw()?;
    Ok(())
}

/// A latency CDF: percentile against latency, this run solid, the baseline dashed.
pub fn cdf_chart(metric: &str, run: &[(f64, f64)], baseline: Option<&[(f64, f64)]>) -> String {
    if run.is_empty() && baseline.is_none_or(|b| b.is_empty()) {
        return message_chart(&format!("no successful requests: no {metric} to plot"));
    }
    let curves: Vec<&[(f64, f64)]> = std::iter::once(run).chain(baseline).collect();
    let (x, cut) = super::cdf_axis::x_range(&curves, |xs| padded_range(xs, false));
    let (run, baseline) = (
        super::cdf_axis::clip(run, x.end),
        baseline.map(|b| super::cdf_axis::clip(b, x.end)),
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

/// "1.5 s" or "800 ms", for axis descriptions.
fn interval(s: f64) -> String {
    if s < 1.0 {
        format!("{} ms", tick(&(s * 1000.0)))
    } else {
        format!("{} s", tick(&s))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
