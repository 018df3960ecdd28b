//! `report.html`: one self-contained page per run, for people.
//!
//! No network, no external script, stylesheet or font: it opens from a CI artifact
//! download. Charts are inline SVG drawn by [`super::charts`]; the stylesheet follows
//! `prefers-color-scheme`. The page holds nothing that changes between renderings
//! (no "generated at"), so a report rebuilt by `llm-bench report` from
//! `requests.jsonl` is byte-identical to the one the run wrote.
//!
//! The page skeleton is here; `header`, `scenario` and `sweep` write its sections,
//! `verdict` holds the comparison's outcome as the page shows it, `markup` the
//! escaping and figure helpers every section uses, and `style` the inline
//! stylesheet and error trap.

use std::fmt::Write as _;

mod header;
mod markup;
mod scenario;
mod style;
mod sweep;
#[cfg(test)]
mod tests;
mod verdict;

pub use markup::esc;
pub use verdict::{BaselineView, Verdict, VerdictStatus};

use super::series::{self, RunSeries};
use crate::metrics::Summary;
use markup::anchor;
use style::{ERROR_TRAP, STYLE};

pub const FILE_NAME: &str = crate::results::REPORT_HTML;

/// Renders the page. Pure: same inputs, same bytes.
pub fn render(
    summary: &Summary,
    series: &RunSeries,
    baseline: Option<&BaselineView<'_>>,
) -> String {
    let run = &summary.run;
    let mut out = String::with_capacity(256 * 1024);
    let title = format!("llm-bench · {} · {}", run.target, run.model);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"color-scheme\" content=\"light dark\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
<script>{ERROR_TRAP}</script>\n</head>\n<body>\n",
        esc(&title)
    );
    header::header(&mut out, summary, baseline);
    let sweeps = series::sweeps(summary);
    if summary.scenarios.len() > 1 {
        out.push_str("<nav><b>Scenarios:</b> ");
        let links: Vec<String> = summary
            .scenarios
            .iter()
            .map(|s| format!("<a href=\"#{}\">{}</a>", anchor(&s.name), esc(&s.name)))
            .collect();
        out.push_str(&links.join(" · "));
        if !sweeps.is_empty() {
            out.push_str(" · <a href=\"#sweeps\">load sweeps</a>");
        }
        out.push_str("</nav>\n");
    }
    for s in &summary.scenarios {
        let scenario_series = series.scenario(&s.name);
        let baseline_series = baseline
            .and_then(|b| b.series)
            .and_then(|b| b.scenario(&s.name));
        scenario::scenario(&mut out, s, scenario_series, baseline_series);
    }
    if !sweeps.is_empty() {
        out.push_str("<section id=\"sweeps\">\n<h2>Load sweeps</h2>\n");
        for sweep in &sweeps {
            sweep::sweep_section(&mut out, sweep);
        }
        out.push_str("</section>\n");
    }
    let _ = write!(
        out,
        "<footer>llm-bench {} · percentiles: {} interpolation · latencies from the actual send unless noted · \
charts downsampled to ≤ {} points per line</footer>\n</body>\n</html>\n",
        esc(&run.tool_version),
        esc(&run.percentile_method),
        series::MAX_TIME_POINTS
    );
    out
}
