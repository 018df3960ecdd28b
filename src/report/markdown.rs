//! `report.md`: the run at a glance, GitHub-flavoured Markdown sized for a PR page.
//!
//! A one-line verdict first, then one narrow table per scenario (latency
//! percentiles, numbers right-aligned, units in the row names), its throughput in
//! one line, and everything else folded into a `<details>` block.

use super::{fmt_energy, fmt_ms, fmt_percent, fmt_rate, md_table, Align, Renderer};
use crate::metrics::{Metrics, ScenarioSummary, Stats, Summary};

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

/// One line: did the run go well, and if not, what to look at.
pub fn verdict_line(summary: &Summary) -> String {
    let (mut ok, mut failed) = (0u64, 0u64);
    for s in &summary.scenarios {
        ok += s.metrics.requests.succeeded;
        failed += s.metrics.requests.failed;
    }
    let n = summary.scenarios.len();
    let scenarios = if n == 1 {
        "1 scenario".to_string()
    } else {
        format!("{n} scenarios")
    };
    // Failures are what makes the run exit non-zero; warnings qualify the numbers.
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if let Some(headline) = super::completeness::headline(summary) {
        problems.push(headline);
    }
    let over_limit: Vec<&str> = summary
        .scenarios
        .iter()
        .filter(|s| {
            // As the run's exit code judges it: no success, or too many failures.
            let r = &s.metrics.requests;
            let sent = r.succeeded + r.failed;
            r.succeeded == 0 || r.failed as f64 / sent as f64 > s.spec.max_error_rate
        })
        .map(|s| s.name.as_str())
        .collect();
    if !over_limit.is_empty() {
        problems.push(format!(
            "error rate over the limit in {}",
            code_list(&over_limit)
        ));
    }
    let behind: Vec<&str> = summary
        .scenarios
        .iter()
        .filter(|s| s.metrics.schedule.reached_target == Some(false))
        .map(|s| s.name.as_str())
        .collect();
    if !behind.is_empty() {
        warnings.push(format!("target rate not reached in {}", code_list(&behind)));
    }
    let client_limited: Vec<&str> = summary
        .scenarios
        .iter()
        .filter(|s| {
            s.metrics
                .client_health
                .as_ref()
                .is_some_and(|h| h.client_limited)
        })
        .map(|s| s.name.as_str())
        .collect();
    if !client_limited.is_empty() {
        warnings.push(format!(
            "client-limited (timings include the client's own delays) in {}",
            code_list(&client_limited)
        ));
    }
    let icon = if !problems.is_empty() {
        "❌"
    } else if failed > 0 || !warnings.is_empty() {
        "⚠️"
    } else {
        "✅"
    };
    let mut line = format!(
        "{icon} **llm-bench: {ok} of {} requests succeeded in {scenarios}**",
        ok + failed
    );
    for p in problems.iter().chain(&warnings) {
        line.push_str(" · ");
        line.push_str(p);
    }
    line
}

fn code_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

/// Full distributions, errors and schedule health, folded away.
fn details(s: &ScenarioSummary) -> String {
    let m = &s.metrics;
    let mut out = format!(
        "<details><summary>Details: <code>{}</code></summary>\n\n",
        s.name
    );
    out.push_str(&distribution_table(m));
    out.push('\n');
    let sources: Vec<String> = m
        .tokens_by_source
        .iter()
        .map(|(k, v)| {
            format!(
                "{} {v}",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            )
        })
        .collect();
    out.push_str(&format!(
        "- Window {:.1} s · {} output tokens · {} prompt tokens · token counts from: {}\n",
        m.duration_s,
        m.output_tokens_total,
        m.prompt_tokens_total,
        if sources.is_empty() {
            "–".to_string()
        } else {
            sources.join(", ")
        },
    ));
    if let Some(note) = super::lengths::length_note(s) {
        out.push_str(&format!("- {note}\n"));
    }
    out.push_str(&format!(
        "- {} warm-up · {} cancelled · {} dropped (not counted)\n",
        m.requests.warmup, m.requests.cancelled, m.requests.dropped
    ));
    for (kind, example) in &m.error_examples {
        out.push_str(&format!(
            "- `{kind}` × {}: {}\n",
            m.errors.get(kind).copied().unwrap_or(0),
            one_line(example)
        ));
    }
    out.push_str(&schedule_line(m));
    out.push_str(&telemetry_lines(m));
    if let Some(h) = m.client_health.as_ref().filter(|h| h.client_limited) {
        out.push_str(&format!(
            "- ⚠️ **client-limited**: {}\n",
            one_line(&h.reasons.join("; "))
        ));
    }
    out.push_str(&super::turns::markdown(m.by_turn.as_deref()));
    out.push_str("\n</details>\n\n");
    out
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

/// Energy by both methods and the server's own view, for the details block.
fn telemetry_lines(m: &Metrics) -> String {
    let Some(t) = &m.telemetry else {
        return String::new();
    };
    let mut out = String::new();
    for g in [&t.gpu, &t.dcgm].into_iter().flatten() {
        let by = |v: Option<f64>| v.map_or("–".to_string(), |j| format!("{j:.1} J"));
        let agreement = match (g.energy_counter_j, g.energy_integrated_j) {
            (Some(c), Some(i)) if c > 0.0 => format!(" ({:+.1}%)", (i / c - 1.0) * 100.0),
            _ => String::new(),
        };
        out.push_str(&format!(
            "- {} energy over {:.1} s: counter {} · integrated power {}{agreement} · {} samples",
            g.source.name(),
            g.window_s,
            by(g.energy_counter_j),
            by(g.energy_integrated_j),
            g.samples
        ));
        if let Some(mem) = g.memory_used_max_mib {
            out.push_str(&format!(" · memory max {:.1} GiB", mem / 1024.0));
        }
        if let Some(c) = g.sm_clock_mean_mhz {
            out.push_str(&format!(" · SM clock {c:.0} MHz"));
        }
        if let Some(temp) = g.temperature_max_c {
            out.push_str(&format!(" · max {temp:.0} °C"));
        }
        out.push('\n');
    }
    if let Some(s) = &t.server {
        let mut parts = Vec::new();
        let count = |v: Option<f64>, what: &str| v.map(|v| format!("{v:.0} {what}"));
        parts.extend(count(s.requests_finished, "requests finished"));
        parts.extend(count(s.generation_tokens, "generation tokens"));
        parts.extend(count(s.prompt_tokens, "prompt tokens"));
        parts.extend(count(s.preemptions, "preemptions"));
        let gauge =
            |g: &Option<crate::telemetry::prometheus::GaugeStats>, what: &str, pct: bool| {
                g.map(|g| match pct {
                    true => format!(
                        "{what} mean {:.1}% max {:.1}%",
                        g.mean * 100.0,
                        g.max * 100.0
                    ),
                    false => format!("{what} mean {:.1} max {:.0}", g.mean, g.max),
                })
            };
        parts.extend(gauge(&s.requests_running, "running", false));
        parts.extend(gauge(&s.requests_waiting, "waiting", false));
        parts.extend(gauge(&s.kv_cache_usage, "KV cache", true));
        parts.extend(
            s.prefix_cache_hit_rate
                .map(|r| format!("prefix cache hits {:.1}%", r * 100.0)),
        );
        for (name, h) in [("TTFT", &s.ttft_ms), ("ITL", &s.itl_ms), ("E2E", &s.e2e_ms)] {
            if let Some(h) = h {
                parts.push(format!(
                    "{name} p50 {} / p99 {} ms",
                    fmt_ms(h.p50),
                    fmt_ms(h.p99)
                ));
            }
        }
        let failed = if s.failed_scrapes > 0 {
            format!(", {} failed", s.failed_scrapes)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "- Server metrics ({}, {} scrapes{failed}, warm-up included): {}\n",
            s.engine.as_deref().unwrap_or("unknown engine"),
            s.scrapes,
            if parts.is_empty() {
                "no known series".to_string()
            } else {
                parts.join(" · ")
            }
        ));
    }
    out
}

/// Error messages in a list item: one line, no Markdown table breakers.
fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let short: String = flat.chars().take(200).collect();
    if short.len() < flat.len() {
        format!("{short}…")
    } else {
        short
    }
}

fn schedule_line(m: &Metrics) -> String {
    let sched = &m.schedule;
    let lag = sched
        .send_lag_ms
        .as_ref()
        .map_or_else(|| "–".into(), |s| fmt_ms(s.p99));
    match sched.target_rate {
        Some(target) => format!(
            "- Open loop: target {} req/s, scheduled {}, sent {} ({}) · send lag p99 {lag} ms · {} late{}\n",
            fmt_rate(target),
            sched.scheduled_rate.map_or("–".into(), fmt_rate),
            sched.achieved_rate.map_or("–".into(), fmt_rate),
            fmt_percent(sched.attainment),
            sched.late,
            if sched.reached_target == Some(false) { " · ⚠️ **the client did not keep up with the schedule**" } else { "" },
        ),
        None => format!("- Closed loop · send lag p99 {lag} ms\n"),
    }
}

fn distribution_table(m: &Metrics) -> String {
    let rows: [(&str, &Option<Stats>); 7] = [
        ("TTFT ms", &m.ttft_ms),
        ("TPOT ms", &m.tpot_ms),
        ("ITL ms", &m.itl_ms),
        ("E2E ms", &m.e2e_ms),
        ("TTFT from schedule ms", &m.response_ttft_ms),
        ("Output tokens", &m.output_tokens),
        ("Send lag ms", &m.schedule.send_lag_ms),
    ];
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .filter_map(|(name, s)| {
            let s = s.as_ref()?;
            let mut cells = vec![name.to_string(), s.count.to_string()];
            cells.extend([s.mean, s.stddev, s.p50, s.p95, s.p99, s.max].map(fmt_ms));
            Some(cells)
        })
        .collect();
    let mut align = vec![Align::Left];
    align.extend([Align::Right; 7]);
    md_table(
        &["", "n", "mean", "stddev", "p50", "p95", "p99", "max"],
        &align,
        &rows,
    )
}
