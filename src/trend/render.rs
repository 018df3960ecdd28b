//! The terminal summary of `llm-bench trend`: one line per change point.

use super::{ChangePoint, Series, Shape};
use crate::history::table::fmt_value;

/// `a1b2c3d..e4f5a6b`, with `?` for an unknown commit.
pub fn commit_range(c: &ChangePoint) -> String {
    let short = |c: &Option<String>| {
        c.as_deref()
            .map_or_else(|| "?".to_string(), |c| c[..c.len().min(12)].to_string())
    };
    format!("{}..{}", short(&c.commit_before), short(&c.commit_after))
}

/// `+5.1% [+3.9%, +6.4%]`.
pub fn step_text(c: &ChangePoint) -> String {
    format!(
        "{:+.1}% [{:+.1}%, {:+.1}%]",
        c.step * 100.0,
        c.step_low * 100.0,
        c.step_high * 100.0
    )
}

pub fn text(series: &[Series]) -> String {
    let mut out = String::new();
    let mut count = 0;
    for s in series {
        for c in &s.change_points {
            count += 1;
            let verdict = match (c.worse, c.restored_by.is_some()) {
                (true, false) => "worse",
                (true, true) => "worse, since restored",
                (false, _) => "better",
            };
            let shape = match c.shape {
                Shape::Step => "step",
                Shape::Drift => "drift",
            };
            out.push_str(&format!(
                "{}/{} {}: {shape} {} ({verdict}) {} → {}, commits {}, first run after: {} ({}), p = {:.3}\n",
                s.target,
                s.scenario,
                s.metric.key(),
                step_text(c),
                fmt_value(s.metric, c.before),
                fmt_value(s.metric, c.after),
                commit_range(c),
                c.first_run_after,
                c.first_date_after.get(..10).unwrap_or(&c.first_date_after),
                c.p_value,
            ));
        }
    }
    let runs = series.iter().map(|s| s.points.len()).max().unwrap_or(0);
    out.push_str(&format!(
        "{count} change point(s) in {} series (up to {runs} runs each)\n",
        series.len()
    ));
    out
}
