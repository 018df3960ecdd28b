//! What real runs contain: zero-valued statistics, outlier trials on either
//! side, and `--max-trials` while a verdict is inconclusive.

use super::*;

/// Reads a baseline (or candidate) file as JSON, lets `edit` change it, writes it
/// back.
fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, value.to_string()).unwrap();
}

/// What real runs contain: zero-valued statistics are left out by name with the
/// real trial count (never "within noise"); an outlier trial on either side is
/// flagged (which trial, how far out) and left out, so one in the candidate does
/// not hide a +15% regression; --max-trials adds trials while a gated verdict is
/// inconclusive, judged at α over its looks.
#[test]
fn zeros_outliers_and_more_trials() {
    let bench = Bench::new();
    let server = sim(TTFT_MS);
    let (o, _) = bench.run(
        &server.url(),
        "bless",
        &["--bless", "--reason", "first", "--trials", "5"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let (o, run) = bench.run(&server.url(), "run", &["--trials", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let file = bench.baseline_file();
    let original = std::fs::read_to_string(&file).unwrap();
    let candidate = run.join("chat.baseline.json.new");
    let original_candidate = std::fs::read_to_string(&candidate).unwrap();
    let compare = |bench: &Bench| {
        let dir = bench.baselines();
        let o = bench.cli(&[
            "compare",
            "--baseline-dir",
            dir.to_str().unwrap(),
            run.to_str().unwrap(),
        ]);
        (o, comparison(&run))
    };

    // ITL p50 of 0 in three of five baseline trials (several events in one read).
    edit_json(&file, |b| {
        for t in [0, 2, 4] {
            b["trials"][t]["stats"]["itl_ms.p50"] = 0.0.into();
        }
    });
    let (o, c) = compare(&bench);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let itl = metric(&c, "itl_ms.p50");
    let note = itl.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("baseline trial 0 is 0 ms (no logarithm)"),
        "{note}"
    );
    assert!(note.contains("2 of 5 baseline trials"), "{note}");
    assert_ne!(itl.verdict, Verdict::WithinNoise, "{itl:?}");
    assert!(itl.partial);
    std::fs::write(&file, &original).unwrap();

    // An outlier trial in the baseline: flagged, left out.
    edit_json(&file, |b| {
        let v = b["trials"][2]["stats"]["ttft_ms.p50"].as_f64().unwrap();
        b["trials"][2]["stats"]["ttft_ms.p50"] = (v * 1.6).into();
    });
    let (o, c) = compare(&bench);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let warnings = c.scenarios[0].warnings.join("\n");
    // The change is measured against the other trials' median, not the trial's own
    // value before the edit, so it reads 60% ± the trials' spread (a few %).
    let flagged = "the baseline's trial 2 is an outlier in TTFT p50 (+";
    let change: f64 = warnings
        .split(flagged)
        .nth(1)
        .and_then(|rest| rest.split('%').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no outlier warning for trial 2: {warnings}"));
    assert!((50.0..=70.0).contains(&change), "{warnings}");
    assert_eq!(metric(&c, "ttft_ms.p50").trials_used.unwrap().baseline, 4);
    std::fs::write(&file, &original).unwrap();

    // The candidate 15% slower in TTFT p50, one of its trials 1.6× slower still:
    // the outlier is flagged and the regression found.
    edit_json(&candidate, |b| {
        for t in 0..4 {
            let v = b["trials"][t]["stats"]["ttft_ms.p50"].as_f64().unwrap();
            let factor = if t == 1 { 1.15 * 1.6 } else { 1.15 };
            b["trials"][t]["stats"]["ttft_ms.p50"] = (v * factor).into();
        }
    });
    let (o, c) = compare(&bench);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    assert!(
        c.scenarios[0]
            .warnings
            .join("\n")
            .contains("this run's trial 1 is an outlier in TTFT p50"),
        "{:?}",
        c.scenarios[0].warnings
    );
    assert_eq!(metric(&c, "ttft_ms.p50").verdict, Verdict::Regression);
    std::fs::write(&candidate, &original_candidate).unwrap();

    // --max-trials: a baseline whose recorded TTFT noise is 30% leaves TTFT
    // inconclusive, so the run goes on to its sixth trial; every look at α / 3.
    edit_json(&file, |b| b["noise"]["ttft_ms.p50"] = 0.3.into());
    let (o, more) = bench.run(
        &server.url(),
        "more",
        &["--compare", "--trials", "4", "--max-trials", "6"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(
        stderr(&o).contains("trial 5/4 (--max-trials 6: TTFT p50"),
        "{}",
        both(&o)
    );
    let c = comparison(&more);
    assert_eq!(c.scenarios[0].current_trials, 6);
    assert_eq!(c.sequential_looks, 3);
    let o = bench.cli(&["run", "--url", &server.url(), "--max-trials", "6"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--max-trials needs --compare: {}",
        both(&o)
    );
}
