//! `report.html`: one self-contained page per run, for people.
//!
//! No network, no external script, stylesheet or font: it opens from a CI artifact
//! download. Charts are inline SVG drawn by [`super::charts`]; the stylesheet follows
//! `prefers-color-scheme`. The page holds nothing that changes between renderings
//! (no "generated at"), so a report rebuilt by `llm-bench report` from
//! `requests.jsonl` is byte-identical to the one the run wrote.

use std::fmt::Write as _;

use super::charts;
use super::series::{self, RunSeries, ScenarioSeries, Sweep};
use super::{fmt_energy, fmt_ms, fmt_percent, fmt_rate};
use crate::compare::verdict::{Comparison, Outcome, Totals};
use crate::metrics::{Metrics, ScenarioSummary, Stats, Summary};

pub const FILE_NAME: &str = crate::results::REPORT_HTML;

/// A comparison with a baseline, when one was made.
#[derive(Debug, Clone, Default)]
pub struct BaselineView<'a> {
    /// How the baseline is called on the page, e.g. its folder or file name.
    pub label: String,
    /// The baseline's own chart data, overlaid on the CDFs.
    pub series: Option<&'a RunSeries>,
    pub verdict: Option<Verdict>,
}

/// The comparison's outcome in one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: VerdictStatus,
    pub text: String,
}

impl Verdict {
    /// The verdict of a `comparison.json`.
    pub fn of(c: &Comparison) -> Verdict {
        Verdict {
            status: match c.outcome {
                Outcome::Pass => VerdictStatus::Pass,
                Outcome::Regression => VerdictStatus::Regression,
                Outcome::NotComparable => VerdictStatus::Inconclusive,
            },
            text: totals_text(&c.totals),
        }
    }
}

/// "2 regressions · 1 improvement · 14 within noise · 1 inconclusive", without the
/// emoji of the Markdown headline (a browser without an emoji font shows boxes).
fn totals_text(t: &Totals) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![
        count(t.regressions, "regression", "regressions"),
        count(t.improvements, "improvement", "improvements"),
        format!("{} within noise", t.within_noise),
        format!("{} inconclusive", t.inconclusive),
    ];
    if t.not_comparable > 0 {
        parts.push(format!(
            "{} not comparable",
            count(t.not_comparable, "scenario", "scenarios")
        ));
    }
    if t.new > 0 {
        parts.push(count(t.new, "new scenario", "new scenarios"));
    }
    parts.join(" · ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictStatus {
    Pass,
    Regression,
    /// Not comparable, too noisy, or no baseline for some scenario.
    Inconclusive,
}

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
    header(&mut out, summary, baseline);
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
        scenario(&mut out, s, scenario_series, baseline_series);
    }
    if !sweeps.is_empty() {
        out.push_str("<section id=\"sweeps\">\n<h2>Load sweeps</h2>\n");
        for sweep in &sweeps {
            sweep_section(&mut out, sweep);
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

fn header(out: &mut String, summary: &Summary, baseline: Option<&BaselineView<'_>>) {
    let run = &summary.run;
    let _ = write!(
        out,
        "<header>\n<h1>llm-bench report <span class=\"muted\">{} · {}</span></h1>\n",
        esc(&run.target),
        esc(&run.model)
    );
    if let Some(verdict) = baseline.and_then(|b| b.verdict.as_ref()) {
        let (class, title) = match verdict.status {
            VerdictStatus::Pass => ("ok", "No regression"),
            VerdictStatus::Regression => ("bad", "Regression"),
            VerdictStatus::Inconclusive => ("warn", "Not comparable"),
        };
        let _ = writeln!(
            out,
            "<p class=\"verdict {class}\">{title} <span class=\"muted\">vs {}</span> · {}</p>",
            esc(baseline.map_or("", |b| b.label.as_str())),
            esc(&verdict.text)
        );
    }
    let (ok, failed) = summary.scenarios.iter().fold((0, 0), |(ok, failed), s| {
        (
            ok + s.metrics.requests.succeeded,
            failed + s.metrics.requests.failed,
        )
    });
    let class = if failed == 0 { "ok" } else { "warn" };
    let n = summary.scenarios.len();
    let scenarios = if n == 1 {
        "1 scenario".to_string()
    } else {
        format!("{n} scenarios")
    };
    let interrupted = super::completeness::headline(summary)
        .map(|h| format!(" · <b>{}</b>", esc(&h)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<p class=\"health {class}\">{scenarios} · {ok} requests succeeded · {failed} failed{interrupted}</p>",
    );
    let commit = run
        .git_commit
        .as_deref()
        .map(|c| &c[..c.len().min(12)])
        .unwrap_or("–");
    let scenarios: Vec<&str> = summary.scenarios.iter().map(|s| s.name.as_str()).collect();
    let mut facts: Vec<(&str, String)> = vec![
        (
            "Target",
            format!("{} <code>{}</code>", esc(&run.target), esc(&run.base_url)),
        ),
        ("Model", format!("<code>{}</code>", esc(&run.model))),
        (
            "Workload",
            format!(
                "{} <span class=\"muted\">(workloads {})</span>",
                esc(&scenarios.join(", ")),
                esc(&run.workload_hash[..run.workload_hash.len().min(12)])
            ),
        ),
        ("API", esc(&run.api)),
        ("Tool", format!("llm-bench {}", esc(&run.tool_version))),
        ("Commit", format!("<code>{}</code>", esc(commit))),
        (
            "Started",
            esc(&when(&run.started_at, run.ended_at.as_deref())),
        ),
        ("Run", format!("<code>{}</code>", esc(&run.id))),
    ];
    if let Some(env) = &run.environment {
        if let Some(gpu) = gpu_text(env) {
            facts.push(("GPU", esc(&gpu)));
        }
        if let Some(server) = env.server.as_ref().and_then(|s| {
            let engine = s.engine.as_deref()?;
            Some(format!("{engine} {}", s.version.as_deref().unwrap_or("")))
        }) {
            facts.push(("Server", esc(server.trim())));
        }
    }
    if let Some(b) = baseline {
        facts.push(("Baseline", esc(&b.label)));
    }
    out.push_str("<dl class=\"facts\">");
    for (k, v) in facts {
        let _ = write!(out, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    }
    out.push_str("</dl>\n</header>\n");
}

fn scenario(
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
    if let Some(note) = super::lengths::length_note(s) {
        let _ = writeln!(out, "<ul class=\"notes\"><li>{}</li></ul>", esc(&note));
    }
    out.push_str(&super::turns::html(m.by_turn.as_deref()));
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

fn sweep_section(out: &mut String, sweep: &Sweep) {
    let names: Vec<&str> = sweep.points.iter().map(|p| p.scenario.as_str()).collect();
    let _ = write!(
        out,
        "<h3>{} <span class=\"muted\">({})</span></h3>\n<div class=\"charts\">\n",
        esc(&sweep.label),
        esc(&names.join(", "))
    );
    figure(
        out,
        "TTFT against load",
        &charts::sweep_latency_chart(sweep, "TTFT", |p| p.ttft_ms),
    );
    figure(
        out,
        "E2E latency against load",
        &charts::sweep_latency_chart(sweep, "E2E", |p| p.e2e_ms),
    );
    let caption = if sweep
        .points
        .iter()
        .any(|p| p.goodput_requests_per_s.is_some())
    {
        "Throughput and goodput against load"
    } else {
        "Throughput against load (no SLO set: no goodput)"
    };
    figure(out, caption, &charts::sweep_goodput_chart(sweep));
    out.push_str("</div>\n");
}

fn figure(out: &mut String, caption: &str, svg: &str) {
    let _ = write!(
        out,
        "<figure><figcaption>{}</figcaption>\n{}</figure>\n",
        esc(caption),
        svg.trim_end()
    );
}

/// "2 × NVIDIA H100 80GB HBM3 · driver 550.54 · CUDA 12.4", when the GPUs are known.
fn gpu_text(env: &crate::telemetry::Environment) -> Option<String> {
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for gpu in &env.gpus {
        match groups.iter_mut().find(|(name, _)| *name == gpu.name) {
            Some((_, n)) => *n += 1,
            None => groups.push((&gpu.name, 1)),
        }
    }
    if groups.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = groups
        .iter()
        .map(|(name, n)| {
            if *n == 1 {
                name.to_string()
            } else {
                format!("{n} × {name}")
            }
        })
        .collect();
    parts.extend(env.driver_version.as_ref().map(|v| format!("driver {v}")));
    parts.extend(env.cuda_version.as_ref().map(|v| format!("CUDA {v}")));
    Some(parts.join(" · "))
}

/// "2025-01-01 12:00:00 UTC, 60 s" from RFC 3339 times; unparsable times verbatim.
fn when(started: &str, ended: Option<&str>) -> String {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    let Some(start) = parse(started) else {
        return started.to_string();
    };
    let mut out = start
        .with_timezone(&chrono::Utc)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    if let Some(end) = ended.and_then(parse) {
        out.push_str(&format!(", {} s", (end - start).num_seconds()));
    }
    out
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A fragment id from a scenario name.
fn anchor(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("s-{id}")
}

/// For `scripts/check-html.sh`, which reads the DOM a headless browser dumps: any
/// script or load error is recorded on `<html data-error>`, and after loading,
/// `data-charts-drawn` counts the charts that have a size and content.
const ERROR_TRAP: &str = "window.addEventListener('error',function(e){document.documentElement.setAttribute('data-error',String(e.message||e.type));},true);\
window.addEventListener('load',function(){var n=0;document.querySelectorAll('figure svg').forEach(function(s){var r=s.getBoundingClientRect();\
if(r.width>0&&r.height>0&&s.childElementCount>0)n++;});document.documentElement.setAttribute('data-charts-drawn',String(n));});";

const STYLE: &str = r##"
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2a3b;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700}
@media (prefers-color-scheme:dark){
:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--card:#161b22;--ok:#3fb950;--bad:#f85149;--warn:#d29922}
svg [fill="#1F2A3B"]{fill:#e6edf3}
svg [stroke="#1F2A3B"]{stroke:#8d96a0}
svg [fill="#FFFFFE"]{fill:#161b22}
}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1280px;padding:20px 24px 40px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans","DejaVu Sans",sans-serif}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans","DejaVu Sans",sans-serif}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:0 0 10px}h3{font-size:15px;margin:16px 0 8px}
.muted{color:var(--muted);font-weight:normal}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
a{color:#4e79a7}
header{border-bottom:1px solid var(--line);padding-bottom:12px;margin-bottom:16px}
.verdict,.health{margin:6px 0;padding:8px 12px;border-radius:6px;border:1px solid var(--line);border-left-width:6px}
.verdict{font-size:16px;font-weight:600}
.ok{border-left-color:var(--ok)}.warn{border-left-color:var(--warn)}.bad{border-left-color:var(--bad)}
b.bad{color:var(--bad)}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:2px 20px;margin:10px 0 0}
.facts div{display:flex;gap:8px;min-width:0}.facts dt{color:var(--muted);min-width:64px}.facts dd{margin:0;overflow-wrap:anywhere}
nav{margin:0 0 16px}
section{margin:0 0 28px;padding-top:4px}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 10px}
.chips div{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:4px 10px}
.chips span{color:var(--muted);margin-right:6px}
table.stats{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:0 0 8px;font-size:13px}
.stats th,.stats td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
.stats tbody th{text-align:left;font-weight:600}.stats thead th{color:var(--muted);font-weight:600}
.stats thead th:first-child{text-align:left}
.notes{margin:0 0 12px;padding-left:18px;color:var(--fg);font-size:13px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:14px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 8px 4px}
figcaption{font-weight:600;margin:0 0 2px 6px}
figure svg{display:block;width:100%;height:auto}
footer{color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(anchor("chat short/1"), "s-chat-short-1");
        assert_eq!(
            when(
                "2025-01-01T12:00:00.5+01:00",
                Some("2025-01-01T12:01:00.5+01:00")
            ),
            "2025-01-01 11:00:00 UTC, 60 s"
        );
        assert_eq!(when("yesterday", None), "yesterday");
    }

    #[test]
    fn gpus_are_grouped_by_name() {
        use crate::telemetry::fingerprint::GpuInfo;
        let gpu = |index, name: &str| GpuInfo {
            index,
            name: name.into(),
            uuid: None,
            memory_total_mib: None,
        };
        let mut env = crate::telemetry::Environment {
            gpus: vec![gpu(0, "NVIDIA H100"), gpu(1, "NVIDIA H100")],
            driver_version: Some("550.54".into()),
            cuda_version: Some("12.4".into()),
            ..Default::default()
        };
        assert_eq!(
            gpu_text(&env).unwrap(),
            "2 × NVIDIA H100 · driver 550.54 · CUDA 12.4"
        );
        env.gpus.clear();
        assert_eq!(gpu_text(&env), None);
    }
}
