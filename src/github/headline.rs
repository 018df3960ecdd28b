//! The first line of a pull-request comment and of the job summary: the verdict before
//! anything else, so a reviewer knows from the notification alone whether to look.
//!
//! "✅ No regression in 4 scenarios · `abc1234` · [run #123](…)" or "❌ Regression in
//! `chat-c4`: TTFT p50 +28.8% (50.9 → 65.5 ms) · …", built from the comparison's
//! values (never from its rendered text), plus the order in which a comment lists
//! scenarios: regressions first. Pure: the caller reads files and the environment.

use crate::compare::metric::Kind;
use crate::compare::verdict::{Comparison, MetricComparison, ScenarioComparison, Status, Verdict};
use crate::units::{fmt_energy, fmt_rate};

/// What identifies this run on GitHub, each part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunContext {
    /// The commit that was benchmarked (a pull request's head, else `GITHUB_SHA`).
    pub commit: Option<String>,
    /// `GITHUB_RUN_NUMBER`.
    pub run_number: Option<String>,
    /// The workflow run's page.
    pub run_url: Option<String>,
    /// The uploaded results artifact.
    pub artifact_url: Option<String>,
}

impl RunContext {
    /// `` " · `abc1234` · [run #123](url) · [results](url)" ``, or `""` when nothing is known.
    pub fn suffix(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.commit {
            parts.push(format!("`{}`", c.get(..7).unwrap_or(c)));
        }
        let run = self.run_number.as_ref().map(|n| format!("run #{n}"));
        match (run, &self.run_url) {
            (Some(run), Some(url)) => parts.push(format!("[{run}]({url})")),
            (Some(run), None) => parts.push(run),
            (None, Some(url)) => parts.push(format!("[workflow run]({url})")),
            (None, None) => {}
        }
        if let Some(url) = &self.artifact_url {
            parts.push(format!("[results artifact]({url})"));
        }
        parts.iter().map(|p| format!(" · {p}")).collect()
    }
}

/// The verdict line of a comparison.
pub fn comparison_headline(c: &Comparison, ctx: &RunContext) -> String {
    let compared: Vec<&ScenarioComparison> = c
        .scenarios
        .iter()
        .filter(|s| s.status == Status::Compared)
        .collect();
    let new: Vec<&str> = names(c, Status::New);
    let not_comparable: Vec<&str> = names(c, Status::NotComparable);
    let mut regressions: Vec<(&ScenarioComparison, &MetricComparison)> = c
        .scenarios
        .iter()
        .flat_map(|s| s.metrics.iter().map(move |m| (s, m)))
        .filter(|(_, m)| m.gated && m.verdict == Verdict::Regression)
        .collect();
    // The largest change first (Δ is oriented: positive is worse).
    regressions.sort_by(|a, b| {
        let d = |m: &MetricComparison| m.delta.unwrap_or(0.0);
        d(b.1).total_cmp(&d(a.1))
    });

    let mut line = if let Some((s, m)) = regressions.first() {
        let mut line = format!("❌ Regression in `{}`: {}", s.scenario, describe(m));
        let rest = &regressions[1..];
        if !rest.is_empty() {
            let mut where_: Vec<&str> = rest.iter().map(|(s, _)| s.scenario.as_str()).collect();
            where_.dedup();
            line.push_str(&format!(
                " · {} more {} in {}",
                rest.len(),
                plural(rest.len(), "regression", "regressions"),
                code_list(&where_)
            ));
        }
        line
    } else if !not_comparable.is_empty() {
        format!(
            "⛔ Not comparable with the baseline: {}",
            code_list(&not_comparable)
        )
    } else if compared.is_empty() && !new.is_empty() {
        format!(
            "🆕 Nothing compared: no baseline yet for {}",
            code_list(&new)
        )
    } else if c.strict && !new.is_empty() {
        format!("⛔ No baseline (strict) for {}", code_list(&new))
    } else {
        format!(
            "✅ No regression in {} {}",
            compared.len(),
            plural(compared.len(), "scenario", "scenarios")
        )
    };
    if regressions.is_empty() && !compared.is_empty() && !new.is_empty() && !c.strict {
        line.push_str(&format!(" · 🆕 no baseline yet for {}", code_list(&new)));
    }
    line.push_str(&ctx.suffix());
    line
}

/// The line for a run that did not finish: "⛔ benchmark failed (exit 2): …".
pub fn failure_headline(exit_code: i32, first_error: &str, ctx: &RunContext) -> String {
    let what = match exit_code {
        130 | 143 => "benchmark interrupted",
        _ => "benchmark failed",
    };
    let first_error = first_error.trim();
    let mut line = if first_error.is_empty() {
        format!("⛔ {what} (exit {exit_code})")
    } else {
        // One line, and no Markdown of its own: it is the tool's message.
        let one_line: String = first_error
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        format!(
            "⛔ {what} (exit {exit_code}): {}",
            one_line.replace('`', "'").replace('<', "&lt;")
        )
    };
    line.push_str(&ctx.suffix());
    line
}

/// The line of a run published without a comparison (report.md).
pub fn report_headline(ctx: &RunContext) -> String {
    format!("📊 Benchmark results (no comparison){}", ctx.suffix())
}

/// Scenarios in the order a comment lists them: those with a regression first, then
/// not comparable, new, and the rest, each group in its original order.
pub fn sort_regressions_first(c: &mut Comparison) {
    let rank = |s: &ScenarioComparison| {
        let regressed = s
            .metrics
            .iter()
            .any(|m| m.gated && m.verdict == Verdict::Regression);
        match (regressed, s.status) {
            (true, _) => 0,
            (false, Status::NotComparable) => 1,
            (false, Status::New) => 2,
            (false, Status::Compared) => 3,
        }
    };
    c.scenarios.sort_by_key(rank);
}

/// "TTFT p50 +28.8% (50.9 → 65.5 ms)".
fn describe(m: &MetricComparison) -> String {
    let label = m.metric.label();
    let (Some(change), Some(base), Some(current)) =
        (m.change().map(|(d, _, _)| d), m.baseline, m.current)
    else {
        return label;
    };
    match m.metric.kind() {
        Kind::SuccessRate => format!(
            "{label} {:+.1} pt ({:.1}% → {:.1}%)",
            change * 100.0,
            base * 100.0,
            current * 100.0
        ),
        kind => {
            let value = |v: f64| match kind {
                Kind::Latency(..) if v >= 1000.0 => format!("{v:.0}"),
                Kind::Latency(..) => format!("{v:.1}"),
                Kind::Energy => fmt_energy(v),
                _ => fmt_rate(v),
            };
            format!(
                "{label} {:+.1}% ({} → {} {})",
                change * 100.0,
                value(base),
                value(current),
                m.metric.unit()
            )
        }
    }
}

fn names(c: &Comparison, status: Status) -> Vec<&str> {
    c.scenarios
        .iter()
        .filter(|s| s.status == status)
        .map(|s| s.scenario.as_str())
        .collect()
}

/// "`a`, `b` and 3 more".
fn code_list(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let mut out = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
#[path = "headline_tests.rs"]
mod tests;
