//! One scenario's section: key figures, the statistics table, notes and its charts.

use std::fmt::Write as _;

use super::markup::{anchor, esc, figure};
use crate::metrics::{Metrics, ScenarioSummary, Stats};
use crate::report::series::ScenarioSeries;
use crate::report::{charts, fmt_energy, fmt_ms, fmt_percent, fmt_rate};

pub(super) fn scenario(
    out: &mut String,
    s: &ScenarioSummary,
    series: Option<&ScenarioSeries>,
    baseline: Option<&ScenarioSeries>,
) {
    let m = &s.metrics;
    let trials = match s.trials.len() {
        1 => "1 trial".to_string(),
        n => format!("{n} trials"),
    };
    let _ = writeln!(
        out,
        "<section id=\"{}\">\n<h2>{} <span class=\"muted\">{} · {trials}</span></h2>",
        anchor(&s.name),
        esc(&s.name),
        esc(&s.spec.load.describe()),
    );
    key_figures(out, m);
    stats_table(out, m);
    notes(out, m);
    if let Some(note) = crate::report::lengths::length_note(s) {
        let _ = writeln!(out, "<ul class=\"notes\"><li>{}</li></ul>", esc(&note));
    }
    out.push_str(&crate::report::turns::html(m.by_turn.as_deref()));
    out.push_str("<div class=\"charts\">\n");
    let Some(series) = series else {
        figure(
            out,
            "Charts",
            &charts::message_chart("no request rows for this scenario"),
        );
        out.push_str("</div>\n</section>\n");
        return;
    };
    let overlay = |f: fn(&ScenarioSeries) -> &Vec<(f64, f64)>| baseline.map(|b| f(b).as_slice());
    let vs = if baseline.is_some() {
        " vs baseline"
    } else {
        ""
    };
    figure(
        out,
        &format!("TTFT distribution{vs}"),
        &charts::cdf_chart("TTFT", &series.ttft_cdf, overlay(|b| &b.ttft_cdf)),
    );
    figure(
        out,
        &format!("E2E latency distribution{vs}"),
        &charts::cdf_chart("E2E latency", &series.e2e_cdf, overlay(|b| &b.e2e_cdf)),
    );
    figure(out, "Inter-token latency", &charts::itl_chart(&series.itl));
    figure(
        out,
        "Throughput over time",
        &charts::throughput_chart(&series.timeline),
    );
    if !series.power.is_empty() {
        figure(
            out,
            "GPU power over time",
            &charts::power_chart(&series.timeline, &series.power),
        );
    }
    figure(
        out,
        "Requests in flight",
        &charts::in_flight_chart(&series.timeline),
    );
    figure(
        out,
        "Errors by kind over time",
        &charts::errors_chart(&series.timeline),
    );
    out.push_str("</div>\n</section>\n");
}

fn key_figures(out: &mut String, m: &Metrics) {
    let sent = m.requests.succeeded + m.requests.failed;
    let mut chips = vec![
        ("ok / sent", format!("{} / {sent}", m.requests.succeeded)),
        ("success", fmt_percent(m.success_rate)),
        ("requests / s", fmt_rate(m.requests_per_s)),
        ("output tokens / s", fmt_rate(m.output_tokens_per_s)),
        ("window", format!("{:.1} s", m.duration_s)),
    ];
    if let Some(g) = &m.goodput {
        chips.push((
            "goodput",
            format!(
                "{} req/s ({:.1}%)",
                fmt_rate(g.requests_per_s),
                g.fraction * 100.0
            ),
        ));
    }
    if let Some(g) = m.telemetry.as_ref().and_then(|t| t.energy()) {
        if let Some(j) = g.joules_per_output_token {
            chips.push(("energy / output token", format!("{} J", fmt_energy(j))));
        }
        if let Some(t) = g.output_tokens_per_joule {
            chips.push(("output tokens / J", fmt_energy(t)));
        }
        if let Some(p) = g.power_mean_w {
            let peak = g
                .power_peak_w
                .map_or(String::new(), |p| format!(" (peak {p:.0})"));
            chips.push(("GPU power", format!("{p:.0} W{peak}")));
        }
        if let Some(u) = g.gpu_util_mean_pct {
            chips.push(("GPU util", format!("{u:.0}%")));
        }
    }
    out.push_str("<div class=\"chips\">");
    for (k, v) in chips {
        let _ = write!(out, "<div><span>{k}</span><b>{}</b></div>", esc(&v));
    }
    out.push_str("</div>\n");
}

fn stats_table(out: &mut String, m: &Metrics) {
    let rows: [(&str, &Option<Stats>); 7] = [
        ("TTFT (ms)", &m.ttft_ms),
        ("TPOT (ms)", &m.tpot_ms),
        ("ITL (ms)", &m.itl_ms),
        ("E2E latency (ms)", &m.e2e_ms),
        ("TTFT from schedule (ms)", &m.response_ttft_ms),
        ("E2E from schedule (ms)", &m.response_e2e_ms),
        ("Send lag (ms)", &m.schedule.send_lag_ms),
    ];
    out.push_str(
        "<table class=\"stats\">\n<thead><tr><th></th><th>mean</th><th>stddev</th><th>min</th><th>p50</th>\
<th>p90</th><th>p95</th><th>p99</th><th>max</th><th>n</th></tr></thead>\n<tbody>\n",
    );
    for (name, stats) in rows {
        let Some(s) = stats else { continue };
        let _ = write!(out, "<tr><th>{name}</th>");
        for v in [s.mean, s.stddev, s.min, s.p50, s.p90, s.p95, s.p99, s.max] {
            let _ = write!(out, "<td>{}</td>", fmt_ms(v));
        }
        let _ = writeln!(out, "<td>{}</td></tr>", s.count);
    }
    if let Some(s) = &m.output_tokens {
        let _ = writeln!(
            out,
            "<tr><th>Output tokens</th><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s.mean, s.stddev, s.min, s.p50, s.p90, s.p95, s.p99, s.max, s.count
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Errors, schedule health and token accounting, in small print.
fn notes(out: &mut String, m: &Metrics) {
    let mut lines = Vec::new();
    if let Some(h) = m.client_health.as_ref().filter(|h| h.client_limited) {
        lines.push(format!(
            "<b class=\"bad\">Client-limited: these timings include the client's own delays, not only the server's.</b> {}",
            esc(&h.reasons.join("; "))
        ));
    }
    if !m.errors.is_empty() {
        let errors: Vec<String> = m
            .errors
            .iter()
            .map(|(kind, n)| match m.error_examples.get(kind) {
                Some(example) => format!(
                    "<b>{kind}</b> {n} <span class=\"muted\">({})</span>",
                    esc(example)
                ),
                None => format!("<b>{kind}</b> {n}"),
            })
            .collect();
        lines.push(format!("Errors: {}", errors.join(" · ")));
    }
    let sched = &m.schedule;
    if let Some(target) = sched.target_rate {
        let warn = if sched.reached_target == Some(false) {
            " · <b class=\"bad\">the client did not keep up with its schedule</b>"
        } else {
            ""
        };
        lines.push(format!(
            "Open loop: target {} req/s, scheduled {}, sent {} ({} of schedule) · {} late · {} dropped{warn}",
            fmt_rate(target),
            sched.scheduled_rate.map_or("–".into(), fmt_rate),
            sched.achieved_rate.map_or("–".into(), fmt_rate),
            fmt_percent(sched.attainment),
            sched.late,
            sched.dropped
        ));
    }
    let sources: Vec<String> = m
        .tokens_by_source
        .iter()
        .map(|(k, v)| format!("{} {v}", token_source(*k)))
        .collect();
    lines.push(format!(
        "{} output tokens, {} prompt tokens · token counts from: {} · {} warm-up, {} cancelled requests not counted",
        m.output_tokens_total,
        m.prompt_tokens_total,
        if sources.is_empty() { "–".to_string() } else { sources.join(", ") },
        m.requests.warmup,
        m.requests.cancelled
    ));
    out.push_str("<ul class=\"notes\">");
    for line in lines {
        let _ = write!(out, "<li>{line}</li>");
    }
    out.push_str("</ul>\n");
}

fn token_source(source: crate::record::TokenSource) -> &'static str {
    match source {
        crate::record::TokenSource::Usage => "server usage",
        crate::record::TokenSource::Chunks => "chunk count",
        crate::record::TokenSource::Tokenizer => "tokenizer count",
    }
}
