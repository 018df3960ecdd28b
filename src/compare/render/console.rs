//! The comparison table printed at the end of `compare` and `run --compare`:
//! the gated metrics of each scenario in a terminal table.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

use super::super::verdict::{Comparison, Status};
use super::cells::cells;
use super::{headline, scenario_icon, LOW_CONFIDENCE};

/// The table printed at the end of `compare` and `run --compare`.
pub fn console(c: &Comparison) -> String {
    let mut out = headline(&c.totals);
    for s in &c.scenarios {
        out.push_str(&format!("\n\n{} {}", scenario_icon(s), s.scenario));
        match s.status {
            Status::New => {
                out.push_str(&format!(
                    ": no baseline at {} (run with --bless to record it)",
                    s.baseline_path
                ));
                continue;
            }
            Status::NotComparable => {
                out.push_str(": not comparable with its baseline");
                for why in &s.not_comparable {
                    out.push_str(&format!("\n  {why}"));
                }
                continue;
            }
            Status::Compared => {}
        }
        if let Some(state) = &s.server_state {
            out.push_str(&format!(
                "\nserver state (baseline → this run): {}",
                state.describe()
            ));
        }
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(vec![
                "metric",
                "baseline",
                "current",
                "Δ (CI)",
                "threshold",
                "verdict",
            ]);
        for m in s.metrics.iter().filter(|m| m.gated) {
            table.add_row(cells(m).to_vec());
        }
        for i in 1..5 {
            if let Some(col) = table.column_mut(i) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        out.push('\n');
        out.push_str(&table.to_string());
        for w in &s.warnings {
            out.push_str(&format!("\n⚠ {w}"));
        }
        for m in s.metrics.iter().filter(|m| m.gated) {
            if let Some(note) = &m.note {
                out.push_str(&format!("\n  {}: {note}", m.metric.label()));
            }
        }
        if s.metrics.iter().any(|m| m.gated && m.low_confidence) {
            out.push_str(&format!("\n⚠ {LOW_CONFIDENCE}"));
        }
    }
    out
}
