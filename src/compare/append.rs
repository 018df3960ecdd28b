//! `--bless --append`: a baseline of several runs, in a rolling window.
//!
//! One run cannot say how much a server's speed drifts from one run to the next
//! (another day, another boot, other neighbours); several can. Appending adds a
//! run, with its trials, to the baseline's runs and keeps the newest
//! [`DEFAULT_KEEP_RUNS`] (or `--keep-runs N`); from 3 runs on, the comparison
//! estimates the between-run variance from them ([`super::drift`]). Only a run
//! that measures the same thing may join: the fingerprint must match and the
//! server's state must be comparable, or the append is refused with the reasons.

use super::baseline::{self, Baseline, TrialRecord};
use super::server_state::StateComparison;

/// Runs an appended baseline keeps by default: enough for a between-run estimate
/// on 4 degrees of freedom, recent enough to follow a slowly changing machine.
pub const DEFAULT_KEEP_RUNS: usize = 5;

/// `new` (a one-run candidate) appended to `old`, keeping the newest `keep` runs
/// (at least 1). The top-level fields describe the newest run; the noise is
/// recomputed over every kept run. Refused, with one line per reason, when `new`
/// does not measure what `old` measures.
pub fn append(old: &Baseline, new: &Baseline, keep: usize) -> Result<Baseline, Vec<String>> {
    let (mut must, _) = new.fingerprint.differences(&old.fingerprint);
    if !must.is_empty() {
        must = must
            .into_iter()
            .flat_map(|line| {
                if line.starts_with("workload:") {
                    let named = crate::fingerprint::spec_differences(&old.spec, &new.spec);
                    if named.is_empty() {
                        vec![line]
                    } else {
                        named
                    }
                } else {
                    vec![line]
                }
            })
            .collect();
    }
    if let Some(state) = StateComparison::of(new, old) {
        must.extend(state.mismatches);
    }
    if !must.is_empty() {
        return Err(must);
    }
    let mut runs = if old.runs.is_empty() {
        vec![old.newest_run()]
    } else {
        old.runs.clone()
    };
    let mut trials: Vec<TrialRecord> = old.trials.clone();
    let index = runs.len() as u32;
    runs.push(new.newest_run());
    trials.extend(new.trials.iter().cloned().map(|mut t| {
        t.run = index;
        t
    }));
    // The rolling window: drop the oldest runs, renumber the rest from 0.
    let drop = runs.len().saturating_sub(keep.max(1));
    runs.drain(..drop);
    let trials: Vec<TrialRecord> = trials
        .into_iter()
        .filter(|t| t.run as usize >= drop)
        .map(|mut t| {
            t.run -= drop as u32;
            t
        })
        .collect();
    let mut out = Baseline {
        noise: baseline::noise(&trials, new.spec.thresholds.noise_floor),
        trials,
        runs: if runs.len() > 1 { runs } else { Vec::new() },
        ..new.clone()
    };
    out.schema_version = out.schema_version_for().to_string();
    Ok(out)
}

/// Why an append was refused, as the bless error says it.
pub fn refusal(scenario: &str, reasons: &[String]) -> String {
    format!(
        "scenario `{scenario}`: this run cannot join the baseline's runs, it measures \
         something else ({}); bless without --append to start a new baseline",
        reasons.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::baseline::tests::tiny_baseline;

    fn run(id: &str) -> Baseline {
        let mut b = tiny_baseline();
        b.run_id = id.into();
        b
    }

    #[test]
    fn runs_append_in_a_rolling_window() {
        let mut b = run("r0");
        for i in 1..7 {
            b = append(&b, &run(&format!("r{i}")), 5).unwrap();
        }
        assert_eq!(b.runs.len(), 5);
        assert_eq!(b.runs[0].run_id, "r2", "the oldest runs were dropped");
        assert_eq!(b.run_id, "r6", "the top level describes the newest run");
        assert_eq!(b.trials.len(), 15);
        assert_eq!(b.trials.iter().map(|t| t.run).max(), Some(4));
        assert_eq!(b.schema_version, baseline::SCHEMA_VERSION_RUNS);
        let text = baseline::to_text(&b);
        let back = baseline::parse(&text, std::path::Path::new("b.json")).unwrap();
        assert!(baseline::to_text(&back) == text, "reads back as written");
        assert_eq!(back.runs, b.runs);
        let info = crate::compare::verdict::BaselineInfo::of(&b);
        assert_eq!((info.runs, info.trials), (5, 15));
        // A window of one is an ordinary one-run baseline.
        let one = append(&b, &run("r7"), 1).unwrap();
        assert!(one.runs.is_empty() && one.trials.iter().all(|t| t.run == 0));
        assert_eq!(one.schema_version, baseline::SCHEMA_VERSION);
    }

    #[test]
    fn another_workload_cannot_join() {
        let b = run("r0");
        let mut other = run("r1");
        other.spec.max_tokens = 64;
        other.fingerprint = crate::fingerprint::Fingerprint {
            must_match: crate::fingerprint::MustMatch {
                workload_hash: crate::fingerprint::workload_hash(&other.spec),
                ..other.fingerprint.must_match.clone()
            },
            ..other.fingerprint.clone()
        };
        let why = append(&b, &other, 5).unwrap_err();
        assert_eq!(
            why,
            ["workload `max_tokens`: `16` in the baseline, `64` now"],
            "{why:?}"
        );
    }
}
