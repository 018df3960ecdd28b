//! Turns a [`Summary`] into text: one renderer per format, each only formats.
//!
//! `report.html` also needs chart data the summary does not hold; [`series`] builds it
//! from the same rows and [`html`] renders both (see `app::outputs::write_outputs`).

pub mod cdf_axis;
pub mod charts;
pub mod completeness;
pub mod console;
pub mod csv;
pub mod html;
pub mod lengths;
pub mod markdown;
pub mod series;
#[cfg(test)]
pub(crate) mod tests;
pub mod trends;
pub mod turns;

use crate::metrics::{Stats, Summary};
pub use crate::units::{fmt_energy, fmt_ms, fmt_percent, fmt_rate};

/// One output format.
pub trait Renderer {
    /// File name inside the results folder.
    fn file_name(&self) -> &'static str;
    fn render(&self, summary: &Summary) -> String;
}

/// Every file renderer, in the order they are written.
pub fn file_renderers() -> Vec<Box<dyn Renderer>> {
    vec![Box::new(csv::Csv), Box::new(markdown::Markdown)]
}

/// A statistic of an optional distribution, or an en dash.
pub fn stat(s: &Option<Stats>, f: impl Fn(&Stats) -> f64) -> String {
    s.as_ref().map_or_else(|| "–".to_string(), |s| fmt_ms(f(s)))
}

/// Column alignment in a Markdown table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A GitHub-flavoured Markdown table whose source is aligned too (cells padded to
/// the column width), so it reads well in a diff and in a terminal.
pub fn md_table(header: &[&str], align: &[Align], rows: &[Vec<String>]) -> String {
    let escape = |s: &str| s.replace('|', "\\|");
    let width = |s: &str| s.chars().count();
    let header: Vec<String> = header.iter().map(|h| escape(h)).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| escape(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h).max(3)).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::from("|");
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            let pad = " ".repeat(w - width(cell));
            match align.get(i).copied().unwrap_or(Align::Left) {
                Align::Left => out.push_str(&format!(" {cell}{pad} |")),
                Align::Right => out.push_str(&format!(" {pad}{cell} |")),
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(&header);
    out.push('|');
    for (i, w) in widths.iter().enumerate() {
        match align.get(i).copied().unwrap_or(Align::Left) {
            Align::Left => out.push_str(&format!(":{}|", "-".repeat(w + 1))),
            Align::Right => out.push_str(&format!("{}:|", "-".repeat(w + 1))),
        }
    }
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}
