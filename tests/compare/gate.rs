//! Bless, then gate: an unchanged run passes, a slower one fails naming TTFT, one
//! with another model is not comparable; broken and too-new baselines are refused
//! and never overwritten.

use super::*;

#[test]
fn bless_then_gate_unchanged_slower_and_other_model() {
    let _lock = timing_sensitive();
    let bench = Bench::new();
    let server = sim(TTFT_MS);

    // Bless: three trials, recorded with who and why; a candidate is left behind.
    let (o, blessed_run) = bench.run(
        &server.url(),
        "bless",
        &["--bless", "--reason", "first baseline"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(
        stdout(&o).contains("TTFT p50"),
        "old → new listing: {}",
        both(&o)
    );
    let file = bench.baseline_file();
    let blessed = baseline::read(&file).unwrap().expect("baseline written");
    assert_eq!(blessed.trials.len(), 3);
    assert_eq!(blessed.blessed_by.as_deref(), Some("e2e-test"));
    assert_eq!(blessed.reason.as_deref(), Some("first baseline"));
    assert_eq!(blessed.trials[0].samples.e2e_ms.len(), 16);
    assert!(blessed_run.join("chat.baseline.json.new").is_file());
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text,
        baseline::to_text(&blessed),
        "canonical JSON round-trips byte for byte"
    );
    // The column-by-column writer gives the bytes of the generic canonical writer.
    let generic = baseline::canonical_json(&serde_json::to_value(&blessed).unwrap()) + "\n";
    assert_eq!(text, generic);
    assert_valid(&text);

    // Unchanged: exit 0, nothing regressed.
    let (o, unchanged) = bench.run(&server.url(), "same", &["--compare"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let c = comparison(&unchanged);
    assert_eq!(c.outcome, Outcome::Pass);
    assert_eq!(c.totals.regressions, 0, "{}", both(&o));
    assert_eq!(c.scenarios[0].status, Status::Compared);
    assert_eq!(c.scenarios[0].current_trials, 3);
    let md = std::fs::read_to_string(unchanged.join("comparison.md")).unwrap();
    assert!(md.starts_with("❌ 0 regressions · ✅ "), "{md}");

    // 20% slower TTFT: exit 1, the TTFT regression is named.
    let slow = sim(TTFT_MS * 1.2);
    let (o, slower) = bench.run(&slow.url(), "slow", &["--compare"]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    let c = comparison(&slower);
    assert_eq!(c.outcome, Outcome::Regression);
    let ttft = c.scenarios[0]
        .metrics
        .iter()
        .find(|m| m.metric.key() == "ttft_ms.p50")
        .unwrap();
    assert_eq!(ttft.verdict, Verdict::Regression, "{ttft:?}");
    let change = ttft.change().unwrap().0;
    assert!(
        (0.12..0.28).contains(&change),
        "TTFT change {change}, injected +20%"
    );
    let md = std::fs::read_to_string(slower.join("comparison.md")).unwrap();
    let first_row = md.lines().find(|l| l.starts_with("| TTFT")).unwrap();
    assert!(
        first_row.contains("❌ regression"),
        "regressions come first: {md}"
    );
    assert!(md.lines().next().unwrap().starts_with("❌ "), "{md}");
    assert!(!md.lines().next().unwrap().starts_with("❌ 0 "), "{md}");

    // Another model: not comparable, exit 3.
    let (o, other) = bench.run(
        &server.url(),
        "other",
        &["--compare", "--model", "other-model"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", both(&o));
    let c = comparison(&other);
    assert_eq!(c.scenarios[0].status, Status::NotComparable);
    assert!(
        c.scenarios[0].not_comparable[0].contains("other-model"),
        "{:?}",
        c.scenarios[0]
    );

    // `compare` on a finished folder gives the same verdict as `run --compare`.
    let o = bench.cli(&[
        "compare",
        "--baseline-dir",
        bench.baselines().to_str().unwrap(),
        slower.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));

    // Promote the slower run without re-running it; refused in CI unless allowed.
    let from = slower.to_str().unwrap();
    let dir = bench.baselines();
    let dir = dir.to_str().unwrap();
    let o = bin()
        .env("CI", "true")
        .args([
            "bless",
            "--from",
            from,
            "--baseline-dir",
            dir,
            "--reason",
            "slower on purpose",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(stderr(&o).contains("--allow-ci-bless"), "{}", both(&o));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text,
        "a refused bless writes nothing"
    );
    let o = bench.cli(&[
        "bless",
        "--from",
        from,
        "--baseline-dir",
        dir,
        "--reason",
        "slower on purpose",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(stdout(&o).contains(" → "), "{}", both(&o));
    let now = baseline::read(&file).unwrap().unwrap();
    assert_eq!(now.reason.as_deref(), Some("slower on purpose"));
    assert_ne!(now.run_id, blessed.run_id);
}

#[test]
fn broken_baselines_are_refused_and_never_overwritten() {
    let bench = Bench::new();
    let server = sim(20.0);
    let (o, run) = bench.run(&server.url(), "run", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let file = bench.baseline_file();
    let dir = bench.baselines();
    let (dir, run) = (dir.to_str().unwrap(), run.to_str().unwrap());

    // No baseline: reported as new; a failure only under --strict.
    let o = bench.cli(&["compare", "--baseline-dir", dir, run]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(stdout(&o).contains("--bless"), "{}", both(&o));
    let o = bench.cli(&["compare", "--strict", "--baseline-dir", dir, run]);
    assert_eq!(o.status.code(), Some(3), "{}", both(&o));

    // Corrupted: a clear error naming the file and the fix; nothing overwritten, even
    // when asked to bless.
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{\"schema_version\": \"1.0\", \"trials\": [").unwrap();
    for args in [
        vec!["compare", "--baseline-dir", dir, run],
        vec![
            "bless",
            "--from",
            run,
            "--baseline-dir",
            dir,
            "--reason",
            "x",
        ],
    ] {
        let o = bench.cli(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", both(&o));
        assert!(
            stderr(&o).contains("is not a valid baseline"),
            "{}",
            both(&o)
        );
        assert!(stderr(&o).contains("git checkout --"), "{}", both(&o));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "{\"schema_version\": \"1.0\", \"trials\": ["
        );
    }

    // A newer major version: refused with an upgrade hint.
    std::fs::write(&file, "{\"schema_version\": \"3.0\"}").unwrap();
    let o = bench.cli(&["compare", "--baseline-dir", dir, run]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(stderr(&o).contains("upgrade llm-bench"), "{}", both(&o));

    // Too few trials to bless.
    std::fs::remove_file(&file).unwrap();
    let (o, _) = bench.run(
        &server.url(),
        "one",
        &["--trials", "1", "--bless", "--reason", "x"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(stderr(&o).contains("at least 3"), "{}", both(&o));
    assert!(!file.exists());
}
