//! `--bless` and `llm-bench bless`: recording a run as the baseline, or, with
//! `--append`, adding it to the baseline's runs ([`super::append`]).
//!
//! Nothing is written unless everything may be: every refusal (CI, no reason, too
//! few trials, a failing or interrupted run, an append that measures something
//! else) is collected first, and every old baseline is read first, under a lock on
//! the baselines folder ([`BlessLock`]), then each file is written atomically. The
//! report prints old → new for every gated metric, flags outlier trials (which
//! trial, how far out; they do not set the recorded noise) and says how many runs
//! an appended baseline now holds.

use std::path::Path;

use super::append::{self, append};
use super::baseline::{self, Baseline, BlessLock};
use super::metric::{self, Gate, MetricId};
use super::{baseline_path, stats, trials, BLESS_DEFAULT_TRIALS, BLESS_MIN_TRIALS};
use crate::usage_error::UsageError;

#[derive(Debug, Clone)]
pub struct BlessOptions {
    pub reason: Option<String>,
    pub allow_ci: bool,
    /// Only these scenarios (all when empty).
    pub scenarios: Vec<String>,
    /// `--append`: add the run to the baseline's runs instead of replacing them.
    pub append: bool,
    /// `--keep-runs`: how many runs an appended baseline keeps (the newest).
    pub keep_runs: usize,
}

/// The environment a bless depends on, read by the caller.
#[derive(Debug, Clone)]
pub struct BlessContext {
    /// `CI` is set to a true value.
    pub ci: bool,
    pub blessed_by: String,
    pub now: String,
}

/// Every reason a bless must not happen; empty when it may.
pub fn bless_refusals(
    candidates: &[Baseline],
    options: &BlessOptions,
    context: &BlessContext,
    interrupted: bool,
) -> Vec<String> {
    let mut refusals = run_refusals(options, context, interrupted);
    if candidates.is_empty() {
        refusals.push("the run has no scenario with measured requests".into());
    }
    for c in candidates {
        if c.trials.len() < BLESS_MIN_TRIALS {
            refusals.push(format!(
                "scenario `{}` has {} trial(s); a baseline needs at least {BLESS_MIN_TRIALS} \
                 (run with --trials {BLESS_DEFAULT_TRIALS})",
                c.scenario,
                c.trials.len()
            ));
        }
        let (failed, ok) = c
            .trials
            .iter()
            .fold((0, 0), |(f, s), t| (f + t.failed, s + t.succeeded));
        let rate = if failed + ok > 0 {
            failed as f64 / (failed + ok) as f64
        } else {
            1.0
        };
        if ok == 0 || rate > c.spec.max_error_rate {
            refusals.push(format!(
                "scenario `{}`: {failed} of {} requests failed ({:.1}%, limit {:.1}%): a failing run \
                 is not a baseline; fix the errors and run again",
                c.scenario,
                failed + ok,
                rate * 100.0,
                c.spec.max_error_rate * 100.0
            ));
        }
    }
    refusals
}

/// The refusals that concern the whole bless, whatever it blesses: CI, no
/// reason, an interrupted run.
pub(super) fn run_refusals(
    options: &BlessOptions,
    context: &BlessContext,
    interrupted: bool,
) -> Vec<String> {
    let mut refusals = Vec::new();
    if context.ci && !options.allow_ci {
        refusals.push(
            "CI=true: baselines are blessed deliberately, not by a pipeline; bless locally, \
             or pass --allow-ci-bless if this job exists to bless"
                .to_string(),
        );
    }
    if options
        .reason
        .as_deref()
        .is_none_or(|r| r.trim().is_empty())
    {
        refusals.push("say why the numbers may change: --reason \"upgraded vLLM to 0.6.3\"".into());
    }
    if interrupted {
        refusals.push("the run was interrupted: its trials are incomplete; run again".into());
    }
    refusals
}

/// Blesses candidates into `baseline_dir`: checks every refusal and reads every old
/// baseline before writing anything, then writes each file atomically. Returns the
/// "old → new" report.
pub fn bless(
    candidates: &[Baseline],
    baseline_dir: &Path,
    options: &BlessOptions,
    context: &BlessContext,
    interrupted: bool,
) -> anyhow::Result<String> {
    let selected: Vec<&Baseline> = candidates
        .iter()
        .filter(|c| options.scenarios.is_empty() || options.scenarios.contains(&c.scenario))
        .collect();
    for name in &options.scenarios {
        if !candidates.iter().any(|c| &c.scenario == name) {
            return Err(UsageError(format!(
                "no scenario `{name}` in this run; it has: {}",
                candidates
                    .iter()
                    .map(|c| c.scenario.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
    }
    let owned: Vec<Baseline> = selected.iter().map(|c| (*c).clone()).collect();
    let mut refusals = bless_refusals(&owned, options, context, interrupted);
    if !refusals.is_empty() {
        return Err(refused(&refusals));
    }
    // Held until every file is written: a second bless into this folder waits, then
    // reads (and reports as "old", or appends to) what this one wrote.
    let _lock = BlessLock::acquire(baseline_dir)?;
    let mut plan = Vec::new();
    for c in owned {
        let path = baseline_path(baseline_dir, &c.target, &c.scenario)?;
        let old =
            baseline::read(&path).map_err(|e| UsageError(format!("{e}; nothing was blessed")))?;
        let mut run = c;
        run.blessed_by = Some(context.blessed_by.clone());
        run.reason = options.reason.clone();
        run.created_at = context.now.clone();
        run.tool_version = env!("CARGO_PKG_VERSION").to_string();
        let floor = run.spec.thresholds.noise_floor;
        let outliers = trials::outlier_lines(&run, &|_| floor);
        let new = match (&old, options.append) {
            (Some(old), true) => match append(old, &run, options.keep_runs) {
                Ok(joined) => joined,
                Err(why) => {
                    refusals.push(append::refusal(&run.scenario, &why));
                    continue;
                }
            },
            _ => run,
        };
        plan.push((path, old, new, outliers));
    }
    if !refusals.is_empty() {
        return Err(refused(&refusals));
    }
    let mut report = String::new();
    for (path, old, new, outliers) in &plan {
        baseline::write(path, new)?;
        report.push_str(&old_to_new(path, old.as_ref(), new));
        for line in outliers {
            report.push_str(&format!(
                "  ⚠ {line}: flagged; it does not set the recorded noise\n"
            ));
        }
    }
    Ok(report)
}

/// The error of a refused bless: every reason, nothing written.
pub(super) fn refused(reasons: &[String]) -> anyhow::Error {
    UsageError(format!(
        "refusing to bless (nothing was written):\n  - {}",
        reasons.join("\n  - ")
    ))
    .into()
}

/// "TTFT p50: 40.1 ms → 48.2 ms (+20.2%)" for each gated metric.
fn old_to_new(path: &Path, old: Option<&Baseline>, new: &Baseline) -> String {
    let runs = match new.run_count() {
        1 => String::new(),
        n => format!(" in {n} runs"),
    };
    let mut out = format!(
        "blessed {} ({} trials{runs}{})\n",
        path.display(),
        new.trials.len(),
        if old.is_none() { ", new" } else { "" }
    );
    for metric in MetricId::ALL
        .into_iter()
        .filter(|m| m.gate() != Gate::Never)
    {
        let value = |b: &Baseline| -> Option<f64> {
            let v: Vec<f64> = b
                .trials
                .iter()
                .filter_map(|t| t.stats.get(&metric))
                .copied()
                .filter(|v| *v > 0.0)
                .collect();
            (!v.is_empty())
                .then(|| stats::mean(&v.iter().map(|x| x.ln()).collect::<Vec<_>>()).exp())
        };
        let Some(now) = value(new) else { continue };
        let unit = metric.unit();
        let fmt = |v: f64| match metric.kind() {
            metric::Kind::SuccessRate => format!("{:.2}%", v * 100.0),
            metric::Kind::Energy => format!("{} {unit}", crate::units::fmt_energy(v)),
            _ => format!("{} {unit}", crate::units::fmt_ms(v)),
        };
        match old.and_then(value) {
            Some(before) => out.push_str(&format!(
                "  {:<16} {} → {} ({:+.1}%)\n",
                metric.label(),
                fmt(before),
                fmt(now),
                (now / before - 1.0) * 100.0
            )),
            None => out.push_str(&format!("  {:<16} {}\n", metric.label(), fmt(now))),
        }
    }
    out
}

/// Who is blessing: `LLM_BENCH_BLESSED_BY`, else git's `user.name`, else `USER`.
pub fn blessed_by(env: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some(who) = env("LLM_BENCH_BLESSED_BY").filter(|w| !w.trim().is_empty()) {
        return who;
    }
    let git = std::process::Command::new("git")
        .args(["config", "user.name"])
        .output()
        .ok();
    if let Some(out) = git.filter(|o| o.status.success()) {
        let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !name.is_empty() {
            return name;
        }
    }
    env("USER")
        .or_else(|| env("USERNAME"))
        .unwrap_or_else(|| "unknown".into())
}

/// Whether `CI` says this is a CI job (`true`, `1`, `yes`).
pub fn is_ci(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("CI")
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_detection() {
        assert!(is_ci(&|k| (k == "CI").then(|| "true".to_string())));
        assert!(!is_ci(&|k| (k == "CI").then(|| "false".to_string())));
        assert!(!is_ci(&|_| None));
    }
}
