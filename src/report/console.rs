//! The summary table printed at the end of a run, sized for a terminal.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

use super::{completeness, fmt_percent, fmt_rate, stat};
use crate::metrics::Summary;

pub fn table(summary: &Summary) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            "scenario", "load", "ok/sent", "success", "req/s", "tok/s", "TTFT p50", "TTFT p99",
            "TPOT p50", "ITL p50", "E2E p90",
        ]);
    for s in &summary.scenarios {
        let m = &s.metrics;
        table.add_row(vec![
            s.name.clone(),
            s.spec.load.describe(),
            format!(
                "{}/{}{}",
                m.requests.succeeded,
                m.requests.succeeded + m.requests.failed,
                completeness::planned_suffix(summary, s)
            ),
            fmt_percent(m.success_rate),
            fmt_rate(m.requests_per_s),
            fmt_rate(m.output_tokens_per_s),
            stat(&m.ttft_ms, |s| s.p50),
            stat(&m.ttft_ms, |s| s.p99),
            stat(&m.tpot_ms, |s| s.p50),
            stat(&m.itl_ms, |s| s.p50),
            stat(&m.e2e_ms, |s| s.p90),
        ]);
    }
    // A pseudo-terminal that reports no size (`script`, some CI runners) would
    // squeeze every column to one character: print the table at its natural width.
    if table.width().is_some_and(|w| w < 40) {
        table.set_content_arrangement(ContentArrangement::Disabled);
    }
    for i in 2..table.column_count() {
        if let Some(col) = table.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    // A comparison (and a baseline) shows each metric as the geometric mean of the
    // trials' values, which differs from the percentile of all requests pooled:
    // say which one this is.
    let pooled = if summary.scenarios.iter().any(|s| s.trials.len() > 1) {
        "; percentiles of all trials' requests pooled (comparisons show the geometric mean of per-trial values)"
    } else {
        ""
    };
    let mut out = format!("{table}\n(latencies in ms{pooled})");
    if let Some(headline) = completeness::headline(summary) {
        out.push_str("\nwarning: ");
        out.push_str(&headline);
    }
    for s in &summary.scenarios {
        if let Some(h) = s
            .metrics
            .client_health
            .as_ref()
            .filter(|h| h.client_limited)
        {
            out.push_str("\nwarning: ");
            out.push_str(&h.warning(&s.name));
        }
    }
    out
}
