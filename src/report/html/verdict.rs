//! A comparison with a baseline as the page shows it: the baseline's label, its
//! chart data for the overlay, and the verdict in one line.

use crate::compare::verdict::{Comparison, Outcome, Totals};
use crate::report::series::RunSeries;

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
