//! The gate's verdict as `llm-bench comment` reports it: step outputs and
//! annotations, read from `comparison.json`.

use std::path::Path;

use anyhow::Context;

use super::summary::Level;
use crate::compare::verdict::{Comparison, Outcome, Status, Verdict as MetricVerdict};
use crate::compare::COMPARISON_JSON;

/// The gate's result as read from `comparison.json`, for outputs and annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `pass`, `regression` or `not-comparable` (the comparison's outcome); `new` when
    /// it passed without comparing anything (no scenario had a baseline); `none` when
    /// the folder has no comparison, `unknown` when it cannot be read, `error` when the
    /// run failed.
    pub verdict: String,
    /// Gated metrics judged a regression.
    pub regressions: usize,
    /// One annotation per regression and per scenario that could not be compared.
    pub annotations: Vec<(Level, String, String)>,
}

pub(super) fn no_comparison() -> Verdict {
    Verdict {
        verdict: "none".into(),
        regressions: 0,
        annotations: Vec::new(),
    }
}

pub(super) fn unknown_verdict() -> Verdict {
    Verdict {
        verdict: "unknown".into(),
        regressions: 0,
        annotations: Vec::new(),
    }
}

/// `comparison.json` of a results folder; `None` when there is none.
pub fn read_comparison(dir: &Path) -> anyhow::Result<Option<Comparison>> {
    let path = dir.join(COMPARISON_JSON);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let comparison = serde_json::from_str(&text)
        .with_context(|| format!("{} cannot be parsed", path.display()))?;
    Ok(Some(comparison))
}

/// Reads the verdict from `comparison.json`, if the folder has one.
pub fn read_verdict(dir: &Path) -> Verdict {
    match read_comparison(dir) {
        Ok(Some(comparison)) => verdict_of(&comparison),
        Ok(None) => no_comparison(),
        Err(e) => {
            eprintln!("warning: {e:#}; the verdict output is `unknown`");
            unknown_verdict()
        }
    }
}

/// The outputs and annotations of a comparison.
pub fn verdict_of(c: &Comparison) -> Verdict {
    let compared_any = c.scenarios.iter().any(|s| s.status == Status::Compared);
    let verdict = match c.outcome {
        Outcome::Pass if !compared_any && c.totals.new > 0 => "new",
        Outcome::Pass => "pass",
        Outcome::Regression => "regression",
        Outcome::NotComparable => "not-comparable",
    };
    let mut annotations = Vec::new();
    for s in &c.scenarios {
        match s.status {
            Status::NotComparable => annotations.push((
                Level::Warning,
                "llm-bench: not comparable".to_string(),
                format!(
                    "{}: not comparable with {}: {}",
                    s.scenario,
                    s.baseline_path,
                    s.not_comparable.join("; ")
                ),
            )),
            // Every new scenario is worth a look: a renamed scenario or target has no
            // baseline and would otherwise pass unnoticed for ever.
            Status::New => annotations.push((
                Level::Warning,
                "llm-bench: no baseline".to_string(),
                format!(
                    "{}: no baseline at {}, so nothing was compared{}; record one with the bless workflow",
                    s.scenario,
                    s.baseline_path,
                    if c.strict { " (fails under strict)" } else { "" }
                ),
            )),
            Status::Compared => {}
        }
        for m in s
            .metrics
            .iter()
            .filter(|m| m.gated && m.verdict == MetricVerdict::Regression)
        {
            let change = m
                .change()
                .map(|(v, lo, hi)| {
                    format!(
                        " {:+.1}% (CI {:+.1}% to {:+.1}%)",
                        v * 100.0,
                        lo * 100.0,
                        hi * 100.0
                    )
                })
                .unwrap_or_default();
            let p = m
                .p_adjusted
                .map(|p| format!(", adjusted p = {p:.2e}"))
                .unwrap_or_default();
            annotations.push((
                Level::Error,
                "llm-bench: regression".to_string(),
                format!("{}: {}{change}{p}", s.scenario, m.metric.label()),
            ));
        }
    }
    Verdict {
        verdict: verdict.to_string(),
        regressions: c.totals.regressions,
        annotations,
    }
}
