//! `comparison.md`: per scenario a table of gated metrics, regressions first, then
//! the informational metrics, p-values and thresholds folded into `<details>`.

use super::super::verdict::{Comparison, Method, MetricComparison, ScenarioComparison, Status};
use super::cells::{cells, trim};
use super::{headline, scenario_icon, LOW_CONFIDENCE, NEW_SCENARIO_HINT};
use crate::config::thresholds::Thresholds;

/// `comparison.md`.
pub fn markdown(c: &Comparison) -> String {
    let mut out = headline(&c.totals);
    out.push_str("\n\n");
    for s in &c.scenarios {
        out.push_str(&scenario_markdown(s, c));
    }
    out.push_str(&format!(
        "<sub>llm-bench {} · run {} · target {} · baselines in `{}` · Δ: relative change of each trial statistic \
         (geometric means shown), {}% confidence · a regression is a change beyond its threshold (H0: Δ ≤ δ \
         rejected), Holm correction over {} gated tests{} · percentiles: linear interpolation</sub>\n",
        c.tool_version,
        c.run_id,
        c.target,
        c.baseline_dir,
        confidence_percent(c),
        c.gated_tests,
        if c.sequential_looks > 1 {
            format!(
                " and up to {} sequential looks (α/2 at the planned trials, the rest shared by the later looks)",
                c.sequential_looks
            )
        } else {
            String::new()
        }
    ));
    out
}

fn confidence_percent(c: &Comparison) -> String {
    let alpha = c.scenarios.first().map_or(0.05, |s| s.thresholds.alpha);
    format!("{}", ((1.0 - alpha) * 100.0 * 10.0).round() / 10.0)
}

fn scenario_markdown(s: &ScenarioComparison, c: &Comparison) -> String {
    let mut out = format!("### {} `{}`\n\n", scenario_icon(s), s.scenario);
    match s.status {
        Status::New => {
            out.push_str(&format!(
                "No baseline yet (`{}`): {NEW_SCENARIO_HINT}{}.\n\n",
                s.baseline_path,
                if c.strict {
                    "; this fails under `--strict`"
                } else {
                    ""
                }
            ));
            return out;
        }
        Status::NotComparable => {
            out.push_str(&format!(
                "**Not comparable** with `{}`: the measurement changed in a way the numbers cannot survive. \
                 Bless a new baseline if this is intended.\n\n",
                s.baseline_path
            ));
            for why in &s.not_comparable {
                out.push_str(&format!("- {why}\n"));
            }
            for w in &s.warnings {
                out.push_str(&format!("- ⚠️ {w}\n"));
            }
            out.push('\n');
            return out;
        }
        Status::Compared => {}
    }
    if let Some(b) = &s.baseline {
        let runs = if b.runs > 1 {
            format!("{} runs, ", b.runs)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "Baseline: {runs}{} trial(s), {}blessed {}{}{}{} · this run: {} trial(s){}\n\n",
            b.trials,
            if b.runs > 1 { "newest " } else { "" },
            b.created_at.get(..10).unwrap_or(&b.created_at),
            b.blessed_by
                .as_deref()
                .map(|w| format!(" by {w}"))
                .unwrap_or_default(),
            b.reason
                .as_deref()
                .map(|r| format!(" (“{r}”)"))
                .unwrap_or_default(),
            b.git_commit
                .as_deref()
                .map(|g| format!(" at `{}`", g.get(..12).unwrap_or(g)))
                .unwrap_or_default(),
            s.current_trials,
            if s.current_trials == 1 {
                " (low confidence)"
            } else {
                ""
            }
        ));
    }
    if let Some(state) = &s.server_state {
        out.push_str(&format!(
            "Server state (baseline → this run): {}\n\n",
            state.describe()
        ));
    }
    let gated: Vec<&MetricComparison> = s.metrics.iter().filter(|m| m.gated).collect();
    let info: Vec<&MetricComparison> = s.metrics.iter().filter(|m| !m.gated).collect();
    out.push_str(&metric_table(&gated, &confidence_percent(c)));
    out.push('\n');
    for w in &s.warnings {
        out.push_str(&format!("- ⚠️ {w}\n"));
    }
    for m in gated.iter().filter(|m| m.note.is_some()) {
        out.push_str(&format!(
            "- {}: {}\n",
            m.metric.label(),
            m.note.as_deref().unwrap_or_default()
        ));
    }
    if s.metrics.iter().any(|m| m.low_confidence) {
        out.push_str(&format!("- ⚠️ {LOW_CONFIDENCE}\n"));
    }
    out.push_str("\n<details><summary>Informational metrics, tests and thresholds</summary>\n\n");
    if !info.is_empty() {
        out.push_str("Informational (never fail the job):\n\n");
        out.push_str(&metric_table(&info, &confidence_percent(c)));
        out.push('\n');
    }
    out.push_str(
        "| Metric | Test | one-sided p (direction of Δ) | Holm-adjusted |\n|---|---|--:|--:|\n",
    );
    for m in &s.metrics {
        let raw = if m.delta.unwrap_or(0.0) < 0.0 {
            m.p_better
        } else {
            m.p_worse
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            m.metric.label(),
            method_label(m),
            raw.map_or("–".into(), fmt_p),
            if m.gated {
                m.p_adjusted.map_or("–".into(), fmt_p)
            } else {
                "not gated".into()
            }
        ));
    }
    out.push('\n');
    out.push_str(&thresholds_line(&s.thresholds));
    out.push_str("\n</details>\n\n");
    out
}

fn metric_table(rows: &[&MetricComparison], confidence: &str) -> String {
    let mut out = format!("| Metric | Baseline | Current | Δ ({confidence}% CI) | Threshold | Verdict |\n|---|--:|--:|--:|--:|---|\n");
    for m in rows {
        let cells = cells(m);
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

fn fmt_p(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

fn method_label(m: &MetricComparison) -> String {
    let drift = m
        .between_run_sd
        .map(|sd| format!(" + between-run SD {}%", trim(sd * 100.0)))
        .unwrap_or_default();
    let runs = m
        .trials_used
        .filter(|u| u.baseline_runs > 1)
        .map(|u| format!(" ({} baseline runs)", u.baseline_runs))
        .unwrap_or_default();
    match m.method {
        Method::Welch => format!("t on trial logs{drift}{runs}, H0: Δ ≤ δ"),
        Method::Prediction => {
            format!("prediction interval (1 trial, low confidence){drift}{runs}, H0: Δ ≤ δ")
        }
        Method::Bootstrap => format!("request bootstrap (low confidence){drift}, H0: Δ ≤ δ"),
        Method::Fisher => "Fisher exact on trial-clustered counts, Newcombe CI".into(),
        Method::Bracket => "capacity brackets: regression when the candidate's lies wholly \
                            below the baseline's and the fall exceeds δ (no p-value)"
            .into(),
        Method::None => "none".into(),
    }
}

fn thresholds_line(t: &Thresholds) -> String {
    format!(
        "Thresholds: α = {} (family-wise) · TTFT ±{}% (≥ {} ms) · TPOT ±{}% (≥ {} ms) · ITL ±{}% (≥ {} ms) · \
         E2E ±{}% (≥ {} ms) · throughput ±{}% · success rate ±{} pt · noise floor {}% · between-run SD \
         (prior) {}% · output-length drift limit {}% · p99 gated from {} requests per trial\n",
        t.alpha,
        trim(t.ttft.relative * 100.0),
        trim(t.ttft.absolute),
        trim(t.tpot.relative * 100.0),
        trim(t.tpot.absolute),
        trim(t.itl.relative * 100.0),
        trim(t.itl.absolute),
        trim(t.e2e.relative * 100.0),
        trim(t.e2e.absolute),
        trim(t.throughput.relative * 100.0),
        trim(t.success_rate * 100.0),
        trim(t.noise_floor * 100.0),
        trim(t.between_run_sd * 100.0),
        trim(t.output_tokens_drift * 100.0),
        t.p99_min_requests
    )
}
