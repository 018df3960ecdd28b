//! `report.md`: the run at a glance, GitHub-flavoured Markdown sized for a PR page.
//!
//! A one-line verdict first, then one narrow table per scenario (latency
//! percentiles, numbers right-aligned, units in the row names), its throughput in
//! one line, and everything else folded into a `<details>` block.
//!
//! The headline is in `verdict`, the folded block in `details`; this file lays out
//! the page and each scenario's visible part.

mod details;
mod verdict;

pub use verdict::verdict_line;

use super::{fmt_energy, fmt_ms, fmt_percent, fmt_rate, md_table, Align, Renderer};
use crate::metrics::{Metrics, ScenarioSummary, Stats, Summary};
use details::details;

pub struct Markdown;

impl Renderer for Markdown {
    fn file_name(&self) -> &'static str {
        "report.md"
    }

    fn render(&self, summary: &Summary) -> String {
        let run = &summary.run;
        let mut out = verdict_line(summary);
        out.push_str("\n\n");
        for scenario in &summary.scenarios {
            out.push_str(&scenario_block(summary, scenario));
        }
        let commit = run
            .git_commit
            .as_deref()
            .map(|c| format!(" · commit `{}`", &c[..c.len().min(12)]))
            .unwrap_or_default();
        out.push_str(&format!(
            "<sub>llm-bench {} · target `{}` · model `{}` · API {} · run `{}` · workloads `{}`{commit} · percentiles: {} interpolation</sub>\n",
            run.tool_version,
            run.target,
            run.model,
            run.api,
            run.id,
            &run.workload_hash[..run.workload_hash.len().min(12)],
            run.percentile_method,
        ));
        out
    }
}

fn scenario_block(summary: &Summary, s: &ScenarioSummary) -> String {
    let m = &s.metrics;
    let trials = if s.trials.len() == 1 {
        String::new()
    } else {
        format!(" · {} trials", s.trials.len())
    };
    let mut out = format!("#### `{}` · {}{trials}\n\n", s.name, s.spec.load.describe());
    out.push_str(&latency_table(m));
    out.push('\n');
    out.push_str(&throughput_line(
        m,
        &super::completeness::planned_suffix(summary, s),
    ));
    out.push_str("\n\n");
    if let Some(line) = energy_line(m) {
        out.push_str(&line);
        out.push_str("\n\n");
    }
    out.push_str(&details(s));
    out
}

/// p50 / p90 / p99 / mean of the four latencies that matter.
fn latency_table(m: &Metrics) -> String {
    let rows: Vec<Vec<String>> = [
        ("TTFT", &m.ttft_ms),
        ("TPOT", &m.tpot_ms),
        ("ITL", &m.itl_ms),
        ("E2E", &m.e2e_ms),
    ]
    .into_iter()
    .map(|(name, s)| {
        let cell = |f: fn(&Stats) -> f64| s.as_ref().map_or_else(|| "–".into(), |s| fmt_ms(f(s)));
        vec![
            name.into(),
            cell(|s| s.p50),
            cell(|s| s.p90),
            cell(|s| s.p99),
            cell(|s| s.mean),
        ]
    })
    .collect();
    md_table(
        &["Latency (ms)", "p50", "p90", "p99", "mean"],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        &rows,
    )
}

/// `planned`: " of N planned" when the run stopped short of its plan.
fn throughput_line(m: &Metrics, planned: &str) -> String {
    let sent = m.requests.succeeded + m.requests.failed;
    let mut parts = vec![
        format!(
            "**{} / {sent} ok**{planned} ({})",
            m.requests.succeeded,
            fmt_percent(m.success_rate)
        ),
        format!("**{} req/s**", fmt_rate(m.requests_per_s)),
        format!("**{} output tok/s**", fmt_rate(m.output_tokens_per_s)),
    ];
    if let Some(g) = &m.goodput {
        parts.push(format!(
            "goodput {} req/s ({:.1}% met the SLO)",
            fmt_rate(g.requests_per_s),
            g.fraction * 100.0
        ));
    }
    if !m.errors.is_empty() {
        let errors: Vec<String> = m.errors.iter().map(|(k, v)| format!("{v} `{k}`")).collect();
        parts.push(format!("errors: {}", errors.join(", ")));
    }
    parts.join(" · ")
}

/// Energy per token, power and utilisation, when GPUs were measured.
fn energy_line(m: &Metrics) -> Option<String> {
    let g = m.telemetry.as_ref()?.energy()?;
    let mut parts = Vec::new();
    if let Some(j) = g.joules_per_output_token {
        parts.push(format!("**{} J/output token**", fmt_energy(j)));
    }
    if let Some(t) = g.output_tokens_per_joule {
        parts.push(format!("{} tokens/J", fmt_energy(t)));
    }
    if let Some(p) = g.power_mean_w {
        let peak = g
            .power_peak_w
            .map_or(String::new(), |p| format!(", peak {p:.0} W"));
        parts.push(format!("power mean {p:.0} W{peak}"));
    }
    if let Some(u) = g.gpu_util_mean_pct {
        parts.push(format!("GPU util {u:.0}%"));
    }
    if let Some(gw) = g.goodput_requests_per_s_per_w {
        parts.push(format!("goodput {} req/s per kW", fmt_energy(gw * 1000.0)));
    }
    let method = g.energy_method.map_or("", |e| e.describe());
    parts.push(format!(
        "{} GPU(s) via {}, {method}",
        g.gpus,
        g.source.name()
    ));
    Some(parts.join(" · "))
}
