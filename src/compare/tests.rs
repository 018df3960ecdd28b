//! compare's front door: trial defaults, judging from baselines given as values,
//! baseline file names that cannot escape their folder.

use super::*;

#[test]
fn trial_defaults() {
    assert_eq!(default_trials(None, 1, false, false), 1);
    assert_eq!(default_trials(None, 1, true, false), 4);
    assert_eq!(default_trials(None, 1, true, true), 5);
    assert_eq!(default_trials(None, 8, false, true), 8);
    assert_eq!(
        default_trials(Some(2), 1, true, true),
        2,
        "--trials always wins"
    );
}

/// Judging reads no file: the baselines are whatever `find` returns.
#[test]
fn judging_takes_baselines_as_values() {
    use crate::compare::baseline::tests::tiny_baseline;
    use crate::compare::verdict::{Outcome, Status};
    let current = tiny_baseline();
    let run = || RunInfo {
        run_id: "r".into(),
        target: current.target.clone(),
        baseline_dir: "nowhere".into(),
        looks: 1,
    };
    let same = current.clone();
    let found = |_: &Baseline| -> anyhow::Result<Found<Baseline>> {
        Ok(Found {
            shown: "in memory".into(),
            baseline: Some(same.clone()),
        })
    };
    let keep = |b: &Baseline| vec![b.trials.len()];
    let judged = judge(
        std::slice::from_ref(&current),
        Vec::new(),
        &found,
        false,
        run(),
        Some(&keep),
    )
    .unwrap();
    let s = &judged.comparison.scenarios[0];
    assert_eq!(s.status, Status::Compared);
    assert_eq!(s.baseline_path, "in memory");
    assert_eq!(judged.comparison.outcome, Outcome::Pass);
    assert_eq!(
        judged.overlay,
        vec![3],
        "the overlay saw the baseline found"
    );

    let none = |_: &Baseline| -> anyhow::Result<Found<Baseline>> {
        Ok(Found {
            shown: "nowhere/s.json".into(),
            baseline: None,
        })
    };
    let judged = judge::<()>(
        std::slice::from_ref(&current),
        Vec::new(),
        &none,
        false,
        run(),
        None,
    )
    .unwrap();
    assert_eq!(judged.comparison.scenarios[0].status, Status::New);

    let broken = |_: &Baseline| -> anyhow::Result<Found<Baseline>> { anyhow::bail!("unreadable") };
    let err = judge::<()>(
        std::slice::from_ref(&current),
        Vec::new(),
        &broken,
        false,
        run(),
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unreadable"));
}

#[test]
fn file_names_cannot_escape() {
    assert!(baseline_path(Path::new("b"), "../x", "s").is_err());
    assert!(baseline_path(Path::new("b"), "t", "a/b").is_err());
    assert_eq!(
        baseline_path(Path::new("b"), "t", "s").unwrap(),
        Path::new("b/t/s.json")
    );
}
