//! The SVG canvas every chart draws on: its size, the colours and fonts, the
//! fallback that turns a drawing error into a chart saying so, and the legend box.

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Chart size in SVG user units (the page scales it to the column width).
pub const WIDTH: u32 = 560;
pub const HEIGHT: u32 = 300;

/// Text and axes; the page maps it to a light colour in dark mode.
pub const INK: RGBColor = RGBColor(0x1F, 0x2A, 0x3B);
/// Legend background; the page maps it to the dark background in dark mode.
pub const PAPER: RGBColor = RGBColor(0xFF, 0xFF, 0xFE);
pub(super) const GRID: RGBColor = RGBColor(0x8C, 0x95, 0x9F);
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

pub(super) type Svg<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub(super) type DrawResult = Result<(), Box<dyn Error>>;

/// plotters divides font sizes by 1.24 when it writes SVG; this gives `px` pixels.
pub(super) fn font(px: f64) -> TextStyle<'static> {
    ("sans-serif", px * 1.24).into_font().color(&INK)
}

/// Draws into a fresh SVG; any error becomes a chart with the message.
pub(super) fn render(draw: impl FnOnce(&Svg<'_>) -> DrawResult) -> String {
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

pub(super) fn legend<'a, X, Y>(
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
