//! `--bless` of a run with capacity searches: the searches' answers go to their
//! own baseline files, the run's other scenarios to theirs ([`crate::compare::bless`]).
//!
//! Every refusal is collected before anything is written, as for any bless. A
//! search is blessed whatever its steps' error rates (past the knee requests are
//! expected to fail), but not when it found no rate meeting the SLO: there would
//! be nothing to fall from.

use std::path::Path;

use super::{write_blessed, CapacityBaseline};
use crate::compare::baseline::{Baseline, BlessLock};
use crate::compare::bless::{bless, refused, run_refusals, BlessContext, BlessOptions};

/// Blesses `candidates` (the run's scenarios, steps left out) and `searches`;
/// `--scenario` names pick from both. Returns the "old → new" report.
pub fn bless_with_searches(
    candidates: &[Baseline],
    searches: &[CapacityBaseline],
    baseline_dir: &Path,
    options: &BlessOptions,
    context: &BlessContext,
    interrupted: bool,
) -> anyhow::Result<String> {
    if searches.is_empty() {
        return bless(candidates, baseline_dir, options, context, interrupted);
    }
    let named =
        |name: &str| options.scenarios.is_empty() || options.scenarios.iter().any(|n| n == name);
    let chosen: Vec<&CapacityBaseline> = searches.iter().filter(|s| named(&s.scenario)).collect();
    let plain = BlessOptions {
        scenarios: options
            .scenarios
            .iter()
            .filter(|n| !searches.iter().any(|s| &s.scenario == *n))
            .cloned()
            .collect(),
        ..options.clone()
    };
    let bless_plain =
        !plain.scenarios.is_empty() || (options.scenarios.is_empty() && !candidates.is_empty());
    let mut refusals = run_refusals(options, context, interrupted);
    for s in &chosen {
        if s.search.capacity_rate.is_none() {
            refusals.push(format!(
                "the capacity search of `{}` found no {} meeting the SLO (every step failed): \
                 there is nothing to gate against; start it lower (`{}:`) and run again",
                s.scenario, s.search.knob, s.search.knob
            ));
        }
    }
    if !refusals.is_empty() {
        return Err(refused(&refusals));
    }
    let mut report = if bless_plain {
        bless(candidates, baseline_dir, &plain, context, interrupted)?
    } else {
        String::new()
    };
    let _lock = BlessLock::acquire(baseline_dir)?;
    let blessed: Vec<CapacityBaseline> = chosen
        .into_iter()
        .map(|s| CapacityBaseline {
            blessed_by: Some(context.blessed_by.clone()),
            reason: options.reason.clone(),
            created_at: context.now.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            ..s.clone()
        })
        .collect();
    report.push_str(&write_blessed(baseline_dir, &blessed)?);
    Ok(report)
}
