//! `comparison.md` and the console table: a [`Comparison`] formatted, nothing computed.
//!
//! The Markdown opens with one line a reviewer can read in a PR comment ("❌ 2
//! regressions · ✅ 1 improvement · ⚪ 14 within noise · ❔ 1 inconclusive"), then a
//! table of gated metrics per scenario, regressions first, and folds the
//! informational metrics, p-values and thresholds into `<details>`.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};

use super::metric::{Applies, Kind, MetricId};
use super::verdict::{Comparison, MetricComparison, ScenarioComparison, Status, Totals, Verdict};
use crate::config::thresholds::Thresholds;
use crate::units::{fmt_energy, fmt_ms, fmt_rate};

/// What "(low confidence)" means, said once per scenario wherever it appears.
const LOW_CONFIDENCE: &str = "low confidence: a side has a single trial, so the spread \
    between trials is assumed (the noise floor or the baseline's recorded noise), not \
    measured; run more trials (--trials 4)";

/// How a new scenario's section says to record its baseline; `llm-bench comment`
/// replaces it in CI with a pointer to the bless workflow.
pub const NEW_SCENARIO_HINT: &str = "run with `--bless --reason \"...\"` to record it";

/// The first line of every comparison.
pub fn headline(t: &Totals) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![
        format!("❌ {}", plural(t.regressions, "regression", "regressions")),
        format!(
            "✅ {}",
            plural(t.improvements, "improvement", "improvements")
        ),
        format!("⚪ {} within noise", t.within_noise),
        format!("❔ {} inconclusive", t.inconclusive),
    ];
    if t.not_comparable > 0 {
        parts.push(format!(
            "⛔ {} not comparable",
            plural(t.not_comparable, "scenario", "scenarios")
        ));
    }
    if t.new > 0 {
        parts.push(format!(
            "🆕 {}",
            plural(t.new, "new scenario", "new scenarios")
        ));
    }
    parts.join(" · ")
}

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

fn scenario_icon(s: &ScenarioComparison) -> &'static str {
    match s.status {
        Status::New => "🆕",
        Status::NotComparable => "⛔",
        Status::Compared => {
            let gated = s.metrics.iter().filter(|m| m.gated);
            gated.map(|m| m.verdict).min().map_or("⚪", |v| match v {
                Verdict::NotComparable => "⚪",
                v => v.icon(),
            })
        }
    }
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

/// Metric, baseline, current, Δ (CI), threshold, verdict.
fn cells(m: &MetricComparison) -> [String; 6] {
    let value = |v: Option<f64>| v.map_or("–".to_string(), |v| fmt_value(m.metric, v));
    let change = match m.change() {
        None => "–".to_string(),
        Some((d, lo, hi)) if m.metric.kind() == Kind::SuccessRate => {
            format!(
                "{} pt ({} … {})",
                signed(d * 100.0, 1),
                signed(lo * 100.0, 1),
                signed(hi * 100.0, 1)
            )
        }
        Some((d, lo, hi)) => format!(
            "{}% ({} … {})",
            signed(d * 100.0, 1),
            signed(lo * 100.0, 1),
            signed(hi * 100.0, 1)
        ),
    };
    // An informational metric never fails the job, so it is never called a regression.
    let mut verdict = match (m.gated, m.verdict) {
        (false, Verdict::Regression) => "🔸 worse (informational)".to_string(),
        (false, Verdict::Improvement) => "🔹 better (informational)".to_string(),
        (_, v) => format!("{} {}", v.icon(), v.label()),
    };
    if m.low_confidence {
        verdict.push_str(" (low confidence)");
    }
    if m.partial {
        verdict.push_str(" (trials left out)");
    }
    if m.forced {
        verdict.push_str(" (SLO floor)");
    }
    [
        m.metric.label(),
        value(m.baseline),
        value(m.current),
        change,
        threshold(m),
        verdict,
    ]
}

fn fmt_value(metric: MetricId, v: f64) -> String {
    match metric.kind() {
        Kind::Latency(..) => format!("{} ms", fmt_ms(v)),
        Kind::Throughput => format!("{} {}", fmt_rate(v), metric.unit()),
        Kind::SuccessRate => format!("{:.2}%", v * 100.0),
        Kind::Energy => format!("{} {}", fmt_energy(v), metric.unit()),
    }
}

/// The threshold in force: the effective one where known ("±5% (2.5 ms)",
/// "±0.5 ms (25%, absolute floor)"), else the configured tolerance.
fn threshold(m: &MetricComparison) -> String {
    if let Some(e) = m.threshold {
        let units = |v: f64| match m.metric.kind() {
            Kind::Latency(..) => format!("{} ms", fmt_ms(v)),
            Kind::Throughput => format!("{} {}", fmt_rate(v), m.metric.unit()),
            Kind::Energy => format!("{} {}", fmt_energy(v), m.metric.unit()),
            Kind::SuccessRate => format!("{} pt", trim(v * 100.0)),
        };
        return match (m.metric.kind(), e.applies) {
            (Kind::SuccessRate, _) => format!("±{:.1} pt", e.value * 100.0),
            (_, Applies::Relative) => {
                format!("±{}% ({})", trim(e.relative * 100.0), units(e.value))
            }
            (_, Applies::Absolute) => format!(
                "±{} ({}%, absolute floor)",
                units(e.value),
                trim(e.relative * 100.0)
            ),
        };
    }
    let t = m.tolerance;
    match m.metric.kind() {
        Kind::SuccessRate => format!("±{:.1} pt", t.absolute * 100.0),
        Kind::Latency(..) if t.absolute > 0.0 => {
            format!("±{}% (≥ {} ms)", trim(t.relative * 100.0), trim(t.absolute))
        }
        Kind::Energy if t.absolute > 0.0 => format!(
            "±{}% (≥ {} {})",
            trim(t.relative * 100.0),
            fmt_energy(t.absolute),
            m.metric.unit()
        ),
        Kind::Throughput if t.absolute > 0.0 => {
            format!(
                "±{}% (≥ {} {})",
                trim(t.relative * 100.0),
                trim(t.absolute),
                m.metric.unit()
            )
        }
        _ => format!("±{}%", trim(t.relative * 100.0)),
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn signed(v: f64, decimals: usize) -> String {
    let s = format!("{:+.*}", decimals, v);
    if s[1..].chars().all(|c| c == '0' || c == '.') {
        // Rounds to zero: no sign (and never "−0.0").
        return s[1..].to_string();
    }
    // A true minus sign reads better in tables.
    s.replacen('-', "−", 1)
}

fn fmt_p(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

fn method_label(m: &MetricComparison) -> String {
    use super::verdict::Method;
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

#[cfg(test)]
mod tests;
