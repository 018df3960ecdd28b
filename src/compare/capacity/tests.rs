//! A results folder with two capacity searches' worth of files, read, compared
//! and blessed.

use super::*;
use crate::compare::bless::{BlessContext, BlessOptions};
use crate::compare::verdict::Verdict;

fn manifest(steps: &[(&str, f64)], attain_slo_ms: f64) -> Manifest {
    let scenarios: Vec<serde_json::Value> = steps
        .iter()
        .map(|(name, rate)| {
            serde_json::json!({
                "name": name, "prompt": "p", "warmup": 0, "max_tokens": 16,
                "ignore_eos": true, "stream": true, "seed": 42, "trials": 1,
                "duration_s": 2.0, "max_error_rate": 1.0,
                "slo": { "e2e_ms": attain_slo_ms },
                "load": { "mode": "open", "rate": rate, "arrival": "constant" },
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "schema_version": 1,
        "run": {
            "id": "run-1", "tool_version": "0.1.0", "target": "local",
            "base_url": "http://127.0.0.1:1/v1", "api": "chat", "model": "m",
            "workload_hash": "h", "started_at": "2026-12-04T00:00:00Z",
            "percentile_method": "linear",
        },
        "scenarios": scenarios,
    }))
    .unwrap()
}

/// What `capacity.json` holds when the search `cap` ran `steps` and found
/// `found` in [lo, hi], as `RunSearches` of `manifest(steps, slo)`.
fn searches(
    steps: &[(&str, f64)],
    found: f64,
    lo: f64,
    hi: f64,
    attain: f64,
    slo_ms: f64,
) -> RunSearches {
    let steps_json: Vec<serde_json::Value> = steps
        .iter()
        .map(|(name, rate)| {
            serde_json::json!({
                "scenario": name, "rate": rate, "good": 40, "measured": 40, "verdict": "pass"
            })
        })
        .collect();
    let search: CapacityResult = serde_json::from_value(serde_json::json!({
        "scenario": "cap", "knob": "rate", "attain": attain,
        "capacity_rate": found, "lower_rate": lo, "upper_rate": hi,
        "stopped": "converged", "steps": steps_json,
    }))
    .unwrap();
    RunSearches::new(vec![search], &manifest(steps, slo_ms))
}

/// The blessed search of each candidate in `baselines`, as `app::gate` finds them.
fn blessed(baselines: &Path, candidates: &[CapacityBaseline]) -> Vec<Found<CapacityBaseline>> {
    candidates
        .iter()
        .map(|c| {
            let path = capacity_path(baselines, &c.target, &c.scenario).unwrap();
            Found {
                shown: path.display().to_string(),
                baseline: read(&path).unwrap(),
            }
        })
        .collect()
}

fn options() -> BlessOptions {
    BlessOptions {
        reason: Some("first".into()),
        allow_ci: false,
        scenarios: Vec::new(),
        append: false,
        keep_runs: 5,
    }
}

fn context() -> BlessContext {
    BlessContext {
        ci: false,
        blessed_by: "tester".into(),
        now: "2026-12-04T01:00:00Z".into(),
    }
}

const BLESSED: [(&str, f64); 3] = [("cap.r20", 20.0), ("cap.r40", 40.0), ("cap.r79", 79.0)];
const LATER: [(&str, f64); 3] = [("cap.r20", 20.0), ("cap.r40", 40.0), ("cap.r81", 81.0)];

#[test]
fn steps_are_known_and_the_search_fingerprints_without_its_rate() {
    let read = searches(&BLESSED, 79.0, 78.0, 82.0, 0.9, 100.0);
    assert!(read.is_step("cap.r79") && read.is_step("cap.r20") && !read.is_step("cap"));
    let c = &read.candidates[0];
    assert_eq!(c.scenario, "cap");
    assert_eq!(c.spec.name, "cap");
    assert!(matches!(c.spec.load, LoadSpec::Open { rate, .. } if rate == 0.0));
    // Another run reached other rates: the same fingerprint.
    let later = searches(&LATER, 81.0, 80.0, 84.0, 0.9, 100.0);
    assert_eq!(later.candidates[0].fingerprint, c.fingerprint);
    // A run without searches has none.
    let none = RunSearches::new(Vec::new(), &manifest(&BLESSED, 100.0));
    assert!(none.candidates.is_empty() && none.steps.is_empty());
}

#[test]
fn a_blessed_search_is_compared_as_one_row() {
    let baselines = tempfile::tempdir().unwrap();
    let first = searches(&BLESSED, 79.0, 78.0, 82.0, 0.9, 100.0);
    // No baseline yet: new.
    let found = blessed(baselines.path(), &first.candidates);
    let rows = compare(&first.candidates, found);
    assert_eq!(rows[0].status, Status::New);
    let report = bless_with_searches(
        &[],
        &first.candidates,
        baselines.path(),
        &options(),
        &context(),
        false,
    )
    .unwrap();
    assert!(report.contains("cap.capacity.json"), "{report}");
    let file = read(&baselines.path().join("local/cap.capacity.json"))
        .unwrap()
        .unwrap();
    assert_eq!(file.blessed_by.as_deref(), Some("tester"));
    assert_eq!(file.search.capacity_rate, Some(79.0));

    let later = searches(&LATER, 81.0, 80.0, 84.0, 0.9, 100.0);
    let rows = compare(
        &later.candidates,
        blessed(baselines.path(), &later.candidates),
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, Status::Compared);
    assert_eq!(rows[0].metrics.len(), 1);
    assert_eq!(rows[0].metrics[0].verdict, Verdict::WithinNoise);

    // Another target attain, or another SLO: not comparable, each named.
    let other = searches(&LATER, 81.0, 80.0, 84.0, 0.8, 200.0);
    let rows = compare(
        &other.candidates,
        blessed(baselines.path(), &other.candidates),
    );
    assert_eq!(rows[0].status, Status::NotComparable);
    let why = rows[0].not_comparable.join("\n");
    assert!(why.contains("capacity.attain: 0.9 → 0.8"), "{why}");
    assert!(why.contains("slo"), "{why}");
}

#[test]
fn a_search_that_found_nothing_is_not_blessed() {
    let baselines = tempfile::tempdir().unwrap();
    let mut run = searches(&BLESSED, 79.0, 78.0, 82.0, 0.9, 100.0);
    run.candidates[0].search.capacity_rate = None;
    let err = bless_with_searches(
        &[],
        &run.candidates,
        baselines.path(),
        &options(),
        &context(),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("found no rate meeting the SLO"), "{err}");
    assert!(!baselines.path().join("local").exists());
}
