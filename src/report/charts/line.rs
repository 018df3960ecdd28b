//! The generic line chart: labelled lines on shared axes, used by most chart kinds
//! here and by [`crate::report::turns`].

use std::ops::Range;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{font, legend, render, GRID, INK};
use super::scale::{percent_tick, tick};

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
