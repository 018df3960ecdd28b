//! The page's header: the verdict, the run's health in one line, and the facts of
//! the run (target, model, workload, commit, time, GPUs, server).

use std::fmt::Write as _;

use super::markup::esc;
use super::verdict::{BaselineView, VerdictStatus};
use crate::metrics::Summary;

pub(super) fn header(out: &mut String, summary: &Summary, baseline: Option<&BaselineView<'_>>) {
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
    let interrupted = crate::report::completeness::headline(summary)
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

/// "2 × NVIDIA H100 80GB HBM3 · driver 550.54 · CUDA 12.4", when the GPUs are known.
pub(super) fn gpu_text(env: &crate::telemetry::Environment) -> Option<String> {
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
pub(super) fn when(started: &str, ended: Option<&str>) -> String {
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
