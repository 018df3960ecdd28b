use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::git::GitBranch;
use super::store::{append_branch, Store};
use super::*;
use crate::compare::baseline::tests::tiny_baseline;
use crate::compare::drift;

fn entry(run: &str, scenario: &str, ttft: f64) -> Entry {
    let mut e = Entry::from_candidate(&tiny_baseline(), Some("c0ffee"));
    e.run_id = run.into();
    e.scenario = scenario.into();
    for t in &mut e.trials {
        t.stats.insert(MetricId::TtftP50, ttft);
    }
    e
}

#[test]
fn a_record_is_the_candidates_trials_without_samples() {
    let c = tiny_baseline();
    let e = Entry::from_candidate(&c, None);
    assert_eq!(e.trials.len(), 3);
    assert_eq!(e.git_commit, c.git_commit);
    // Back to a baseline's trials: every field but the samples is the candidate's.
    let back = e.trial_records(0);
    for (b, orig) in back.iter().zip(&c.trials) {
        assert_eq!(b.stats, orig.stats);
        assert_eq!(
            (b.succeeded, b.failed, b.duration_s),
            (orig.succeeded, orig.failed, orig.duration_s)
        );
        assert_eq!(b.server, orig.server);
        assert_eq!(b.samples, Samples::default());
    }
    // Compact: a line is a small fraction of the candidate file.
    let line = to_lines(std::slice::from_ref(&e));
    let full = crate::compare::baseline::to_text(&c);
    assert!(
        line.len() * 3 < full.len(),
        "{} vs {}",
        line.len(),
        full.len()
    );
    assert_eq!(parse_lines(&line, "x").unwrap(), vec![e]);
}

#[test]
fn history_feeds_the_gates_between_run_variance() {
    // Five runs whose means differ by ±3% (between-run), trials ±0.5% within.
    let levels = [100.0, 103.0, 97.0, 102.0, 98.0];
    let entries: Vec<Entry> = levels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let mut e = entry(&format!("r{i}"), "s", l);
            for (k, t) in e.trials.iter_mut().enumerate() {
                t.stats
                    .insert(MetricId::TtftP50, l * (1.0 + 0.005 * (k as f64 - 1.0)));
            }
            e
        })
        .collect();
    let refs: Vec<&Entry> = entries.iter().collect();
    let runs = between_run_trials(&refs, MetricId::TtftP50);
    assert_eq!(runs.len(), 5);
    assert!((runs[1][1] - 103f64.ln()).abs() < 1e-12);
    let current = [100f64.ln(), 100.5f64.ln(), 99.5f64.ln()];
    let est = drift::estimate(
        drift::Sides {
            current: &current,
            baseline_runs: &runs,
        },
        drift::Assumptions {
            sd_floor: 0.001,
            between_run_sd: 0.01,
        },
        0.95,
    )
    .expect("an estimate from five runs");
    assert_eq!(est.runs, 5);
    // The runs' own spread (~2.6% SD) raises τ above the 1% prior.
    assert!(est.between_run_sd > 0.015, "{}", est.between_run_sd);
}

#[test]
fn the_window_keeps_the_newest_records_per_scenario_and_replaces_a_rerun() {
    let old: Vec<Entry> = (0..5)
        .flat_map(|i| {
            [
                entry(&format!("r{i}"), "a", 1.0),
                entry(&format!("r{i}"), "b", 1.0),
            ]
        })
        .collect();
    let merged = window::merge(old, &[entry("r5", "a", 2.0), entry("r4", "b", 9.0)], 3);
    let ids = |s: &str| {
        merged
            .iter()
            .filter(|e| e.scenario == s)
            .map(|e| e.run_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("a"), ["r3", "r4", "r5"]);
    assert_eq!(ids("b"), ["r2", "r3", "r4"]);
    let r4b = merged
        .iter()
        .find(|e| e.run_id == "r4" && e.scenario == "b")
        .unwrap();
    let v = r4b.value(MetricId::TtftP50).unwrap();
    assert!((v - 9.0).abs() < 1e-9, "{v}");
}

#[test]
fn a_folder_store_round_trips_and_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Folder(dir.path().join("h"));
    assert!(store.read(None).unwrap().is_empty());
    let a = entry("r1", "s", 10.0);
    let mut other = entry("r1", "s", 11.0);
    other.target = "u".into();
    let done = store.append(&[a.clone(), other.clone()], 10).unwrap();
    assert_eq!(done.files, ["t.jsonl", "u.jsonl"]);
    store.append(&[entry("r2", "s", 12.0)], 10).unwrap();
    let back = store.read(Some("t")).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[0], a);
    assert_eq!(store.read(None).unwrap().len(), 3);
    std::fs::write(dir.path().join("h/t.jsonl"), "{\"oops\":1}\n").unwrap();
    let err = store.read(Some("t")).unwrap_err().to_string();
    assert!(err.contains("t.jsonl:1: not a history record"), "{err}");
    assert!(matches!(
        Store::Folder(dir.path().into()).append(
            &[{
                let mut e = a;
                e.target = "../x".into();
                e
            }],
            1
        ),
        Err(HistoryError::BadTarget(_))
    ));
}

pub(crate) fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A push race made certain: between reading the branch and pushing, another
/// clone appends. The push is refused, the append reads again and retries, and
/// both records survive.
#[test]
fn a_branch_append_that_loses_a_push_race_retries_and_keeps_both() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("remote.git");
    git(
        tmp.path(),
        &["init", "--quiet", "--bare", bare.to_str().unwrap()],
    );
    let clone = |name: &str| {
        let dir = tmp.path().join(name);
        git(
            tmp.path(),
            &[
                "clone",
                "--quiet",
                bare.to_str().unwrap(),
                dir.to_str().unwrap(),
            ],
        );
        GitBranch::new(&dir, DEFAULT_BRANCH, None).unwrap()
    };
    let (one, two) = (clone("one"), clone("two"));
    assert_eq!(one.remote.as_deref(), Some("origin"));
    let file = |e: Entry| BTreeMap::from([("t.jsonl".to_string(), vec![e])]);
    let mut raced = false;
    let attempts = append_branch(&one, &file(entry("r1", "s", 1.0)), 10, &mut || {
        if !raced {
            raced = true;
            Store::Branch(two.clone())
                .append(&[entry("r2", "s", 2.0)], 10)
                .unwrap();
        }
    })
    .unwrap();
    assert_eq!(attempts, 2, "the first push lost the race");
    let back = Store::Branch(two).read(Some("t")).unwrap();
    let ids: Vec<&str> = back.iter().map(|e| e.run_id.as_str()).collect();
    assert_eq!(ids, ["r2", "r1"]);
    // The clone's checkout was never touched.
    assert!(!tmp.path().join("one/t.jsonl").exists());
}

#[test]
fn a_local_branch_store_needs_no_remote() {
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["init", "--quiet"]);
    let branch = GitBranch::new(tmp.path(), "hist", None).unwrap();
    assert_eq!(branch.remote, None);
    let store = Store::Branch(branch);
    store.append(&[entry("r1", "s", 1.0)], 5).unwrap();
    store.append(&[entry("r2", "s", 1.0)], 5).unwrap();
    assert_eq!(store.read(None).unwrap().len(), 2);
}
