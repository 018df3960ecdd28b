//! A scenario's `<details>` block: full distributions, token accounting, errors,
//! schedule health, GPU and server telemetry, per-turn latencies.

use crate::metrics::{Metrics, ScenarioSummary, Stats};
use crate::report::{fmt_ms, fmt_percent, fmt_rate, md_table, Align};

/// Full distributions, errors and schedule health, folded away.
pub(super) fn details(s: &ScenarioSummary) -> String {
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
    if let Some(note) = crate::report::lengths::length_note(s) {
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
    out.push_str(&crate::report::turns::markdown(m.by_turn.as_deref()));
    out.push_str("\n</details>\n\n");
    out
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
