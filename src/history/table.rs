//! `llm-bench history show`: one terminal table per target and gated metric, a row
//! per run (date, commit, server version) and a column per scenario.

use std::collections::BTreeSet;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

use super::Entry;
use crate::compare::metric::{Gate, Kind, MetricId};

/// The metrics that can fail a job, in report order: those a history follows.
pub fn gated_metrics() -> impl Iterator<Item = MetricId> {
    MetricId::ALL
        .into_iter()
        .filter(|m| m.gate() != Gate::Never)
}

/// A metric's value as the reports print it.
pub fn fmt_value(metric: MetricId, v: f64) -> String {
    match metric.kind() {
        Kind::Latency(..) => crate::units::fmt_ms(v),
        Kind::Throughput => crate::units::fmt_rate(v),
        Kind::SuccessRate => crate::units::fmt_percent(Some(v)),
        Kind::Energy => crate::units::fmt_energy(v),
    }
}

/// The tables of `entries` (any targets), each of the newest `last` runs; `metrics`
/// empty means every gated metric that has a value.
pub fn render(entries: &[Entry], metrics: &[MetricId], last: usize) -> String {
    let targets: BTreeSet<&str> = entries.iter().map(|e| e.target.as_str()).collect();
    let metrics: Vec<MetricId> = if metrics.is_empty() {
        gated_metrics().collect()
    } else {
        metrics.to_vec()
    };
    let mut out = String::new();
    for target in targets {
        let of_target: Vec<&Entry> = entries.iter().filter(|e| e.target == target).collect();
        let scenarios: Vec<&str> = of_target
            .iter()
            .map(|e| e.scenario.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Runs in file order (oldest first); one row per run id.
        let mut runs: Vec<&str> = Vec::new();
        for e in &of_target {
            if !runs.contains(&e.run_id.as_str()) {
                runs.push(e.run_id.as_str());
            }
        }
        let shown = &runs[runs.len().saturating_sub(last.max(1))..];
        for &metric in &metrics {
            let cell = |run: &str, scenario: &str| {
                of_target
                    .iter()
                    .find(|e| e.run_id == run && e.scenario == scenario)
                    .and_then(|e| e.value(metric))
            };
            if !shown
                .iter()
                .any(|r| scenarios.iter().any(|s| cell(r, s).is_some()))
            {
                continue;
            }
            let unit = metric.unit();
            let title = if unit.is_empty() {
                metric.label()
            } else {
                format!("{} ({unit})", metric.label())
            };
            out.push_str(&format!(
                "{target} · {title} · last {} of {} runs\n",
                shown.len(),
                runs.len()
            ));
            let mut table = Table::new();
            table
                .load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic);
            let mut header = vec!["date".to_string(), "commit".into(), "server".into()];
            header.extend(scenarios.iter().map(|s| s.to_string()));
            table.set_header(header);
            for &run in shown {
                let Some(first) = of_target.iter().find(|e| e.run_id == run) else {
                    continue;
                };
                let must = &first.fingerprint.must_match;
                let server = match (&must.server_engine, &must.server_version) {
                    (Some(e), Some(v)) => format!("{e} {v}"),
                    (Some(e), None) => e.clone(),
                    (None, Some(v)) => v.clone(),
                    (None, None) => "–".into(),
                };
                let mut row = vec![
                    first
                        .created_at
                        .get(..16)
                        .unwrap_or(&first.created_at)
                        .replace('T', " "),
                    first.short_commit().to_string(),
                    server,
                ];
                row.extend(scenarios.iter().map(|s| {
                    cell(run, s).map_or_else(|| "–".to_string(), |v| fmt_value(metric, v))
                }));
                table.add_row(row);
            }
            for i in 3..3 + scenarios.len() {
                if let Some(col) = table.column_mut(i) {
                    col.set_cell_alignment(CellAlignment::Right);
                }
            }
            out.push_str(&table.to_string());
            out.push_str("\n\n");
        }
    }
    if out.is_empty() {
        out.push_str("the history is empty (add runs with `llm-bench history add RESULTS_DIR`)\n");
    }
    out
}
