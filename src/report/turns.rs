//! "TTFT by turn" for conversation scenarios, in every renderer that shows it:
//! a Markdown table, and an HTML table with a chart of TTFT against turn index.
//!
//! A conversation's later turns carry longer histories; whether TTFT climbs with
//! them (no prefix cache, or one too small) or stays flat is what a chat workload
//! is benchmarked for, and one scenario-wide TTFT cannot show it.

use std::fmt::Write as _;

use plotters::prelude::SeriesLabelPosition;

use super::charts::{self, Axes, Line, Stroke, PALETTE};
use crate::metrics::turns::TurnMetrics;
use crate::units::fmt_ms;

/// The cells of one turn's row: turn, requests, failed, mean/p50/p90/p99 TTFT,
/// mean input tokens.
fn cells(t: &TurnMetrics) -> [String; 8] {
    let ttft = |f: fn(&crate::metrics::Stats) -> f64| {
        t.ttft_ms.as_ref().map_or("–".to_string(), |s| fmt_ms(f(s)))
    };
    [
        t.turn.to_string(),
        t.succeeded.to_string(),
        t.failed.to_string(),
        ttft(|s| s.mean),
        ttft(|s| s.p50),
        ttft(|s| s.p90),
        ttft(|s| s.p99),
        t.input_tokens_mean
            .map_or("–".to_string(), |n| format!("{n:.0}")),
    ]
}

const HEADERS: [&str; 8] = [
    "turn",
    "ok",
    "failed",
    "TTFT mean (ms)",
    "p50",
    "p90",
    "p99",
    "input tokens",
];

/// A Markdown section, or nothing when the scenario has no turns.
pub fn markdown(by_turn: Option<&[TurnMetrics]>) -> String {
    let Some(turns) = by_turn.filter(|t| !t.is_empty()) else {
        return String::new();
    };
    let mut out = String::from("\n**TTFT by turn**\n\n");
    let _ = writeln!(out, "| {} |", HEADERS.join(" | "));
    let _ = writeln!(out, "|{}", "---:|".repeat(HEADERS.len()));
    for t in turns {
        let _ = writeln!(out, "| {} |", cells(t).join(" | "));
    }
    out
}

/// An HTML table and a chart, or nothing when the scenario has no turns. Every
/// cell is a number or `–` and every header fixed text: nothing to escape.
pub fn html(by_turn: Option<&[TurnMetrics]>) -> String {
    let Some(turns) = by_turn.filter(|t| !t.is_empty()) else {
        return String::new();
    };
    let mut out = String::from("<h3>TTFT by turn</h3>\n<table class=\"stats\">\n<thead><tr>");
    for h in HEADERS {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for t in turns {
        out.push_str("<tr>");
        for c in cells(t) {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    let _ = write!(
        out,
        "<figure><figcaption>TTFT by turn</figcaption>\n{}</figure>\n",
        chart(turns).trim_end()
    );
    out
}

fn chart(turns: &[TurnMetrics]) -> String {
    let pick = |f: fn(&crate::metrics::Stats) -> f64| -> Vec<(f64, f64)> {
        turns
            .iter()
            .filter_map(|t| t.ttft_ms.as_ref().map(|s| (f64::from(t.turn), f(s))))
            .collect()
    };
    let lines: Vec<Line> = [
        ("p50", pick(|s| s.p50)),
        ("p90", pick(|s| s.p90)),
        ("mean", pick(|s| s.mean)),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (label, points))| Line {
        label: format!("TTFT {label}"),
        points,
        color: PALETTE[i],
        stroke: Stroke::Markers,
    })
    .collect();
    if lines.iter().all(|l| l.points.is_empty()) {
        return charts::message_chart("no successful turns: no TTFT to plot");
    }
    let y = charts::padded_range(
        lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)),
        true,
    );
    let axes = Axes {
        x_desc: "turn".into(),
        y_desc: "TTFT (ms)".into(),
        x: charts::padded_range(turns.iter().map(|t| f64::from(t.turn)), false),
        // Room above the lines for the legend.
        y: y.start..y.end + (y.end - y.start) * 0.3,
        y_percent: false,
        legend: Some(SeriesLabelPosition::UpperLeft),
    };
    charts::line_chart(&axes, &lines, &[], None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Stats;

    fn turn(turn: u32, ttft: f64) -> TurnMetrics {
        TurnMetrics {
            turn,
            succeeded: 4,
            failed: u64::from(turn == 3),
            ttft_ms: Some(Stats {
                count: 4,
                mean: ttft,
                stddev: 1.0,
                min: ttft - 1.0,
                p50: ttft,
                p90: ttft + 1.0,
                p95: ttft + 1.5,
                p99: ttft + 2.0,
                max: ttft + 2.0,
            }),
            input_tokens_mean: Some(100.0 * f64::from(turn)),
        }
    }

    #[test]
    fn tables_list_every_turn_and_nothing_without_turns() {
        assert_eq!(markdown(None), "");
        assert_eq!(html(Some(&[])), "");
        let turns = [turn(1, 20.0), turn(2, 35.0), turn(3, 50.0)];
        let md = markdown(Some(&turns));
        assert!(
            md.contains("| 1 | 4 | 0 | 20.00 | 20.00 | 21.00 | 22.00 | 100 |"),
            "{md}"
        );
        assert!(md.contains("| 3 | 4 | 1 | 50.00 |"), "{md}");
        let page = html(Some(&turns));
        assert_eq!(page.matches("<tr><td>").count(), 3);
        assert!(page.contains("<svg") && page.contains("TTFT p50"), "{page}");
    }
}
