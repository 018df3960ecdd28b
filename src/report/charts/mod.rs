//! The charts of `report.html`, drawn by `plotters` into SVG strings.
//!
//! Every chart is one self-contained `<svg>` with a `viewBox`, so the page scales it
//! with CSS. Text and axes use [`INK`] and legend boxes [`PAPER`]: two colours the
//! page's stylesheet recolours under `prefers-color-scheme: dark` (CSS beats SVG
//! presentation attributes), while the series colours are mid-tone and read on
//! both backgrounds. A chart never fails the report: a drawing error becomes a
//! chart that says so.
//!
//! The drawing surface, colours and fonts are in `canvas`, axis ranges and tick
//! labels in `scale`, the generic line chart in `line`; `latency`, `timeline` and
//! `sweep` draw the report's chart kinds from [`super::series`] data.

mod canvas;
mod latency;
mod line;
mod scale;
mod sweep;
#[cfg(test)]
mod tests;
mod timeline;

pub use canvas::{message_chart, BASELINE, HEIGHT, INK, PALETTE, PAPER, WIDTH};
pub use latency::{cdf_chart, itl_chart};
pub use line::{line_chart, Axes, Line, Stroke};
pub use scale::{padded_range, tick};
pub use sweep::{sweep_goodput_chart, sweep_latency_chart};
pub use timeline::{errors_chart, in_flight_chart, power_chart, throughput_chart};
