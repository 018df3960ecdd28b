//! `comparison.md` and the console table: a [`Comparison`](super::verdict::Comparison)
//! formatted, nothing computed.
//!
//! The Markdown opens with one line a reviewer can read in a PR comment ("❌ 2
//! regressions · ✅ 1 improvement · ⚪ 14 within noise · ❔ 1 inconclusive"), then a
//! table of gated metrics per scenario, regressions first, and folds the
//! informational metrics, p-values and thresholds into `<details>`.
//!
//! One file per format: [`markdown`] (`markdown.rs`), [`console`] (`console.rs`);
//! both show a metric's row as `cells.rs` formats it.

mod cells;
mod console;
mod markdown;

use super::verdict::{ScenarioComparison, Status, Totals, Verdict};
pub use console::console;
pub use markdown::markdown;

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

/// The icon before a scenario's name: its worst gated verdict's.
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

#[cfg(test)]
mod tests;
