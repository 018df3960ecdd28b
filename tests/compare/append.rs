//! `--bless --append`: baselines of several runs, a rolling window, concurrent
//! blesses serialised by the folder lock.

use super::*;

/// `--bless --append` builds a multi-run baseline (schema 2.0, a rolling window of
/// --keep-runs), also when two blesses into one folder run at once (the folder is
/// locked); a comparison then names its runs.
#[test]
fn appended_baselines_hold_several_runs() {
    let bench = Bench::new();
    let server = sim(TTFT_MS);
    let (o, first) = bench.run(&server.url(), "r1", &["--bless", "--reason", "first"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let (o, second) = bench.run(&server.url(), "r2", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let (o, third) = bench.run(&server.url(), "r3", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let dir = bench.baselines();
    let bless = |from: &Path| {
        bin()
            .env("LLM_BENCH_BLESSED_BY", "e2e-test")
            .args([
                "bless",
                "--append",
                "--keep-runs",
                "3",
                "--reason",
                "nightly",
                "--from",
            ])
            .arg(from)
            .arg("--baseline-dir")
            .arg(&dir)
            .spawn()
            .unwrap()
    };
    // Two at once: both succeed, and neither loses the other's run.
    let (mut a, mut b) = (bless(&second), bless(&third));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let text = std::fs::read_to_string(bench.baseline_file()).unwrap();
    assert_valid(&text);
    let joined = baseline::parse(&text, &bench.baseline_file()).unwrap();
    assert_eq!(joined.schema_version, "2.0");
    assert_eq!(joined.runs.len(), 3, "{:?}", joined.runs);
    assert_eq!(joined.trials.len(), 9);
    // A fourth run pushes the first out of the window.
    let o = bench.cli(&[
        "bless",
        "--append",
        "--keep-runs",
        "3",
        "--reason",
        "again",
        "--from",
        first.to_str().unwrap(),
        "--baseline-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(stdout(&o).contains("(9 trials in 3 runs)"), "{}", both(&o));
    let (o, compared) = bench.run(&server.url(), "cmp", &["--compare"]);
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{}", both(&o));
    let c = comparison(&compared);
    assert_eq!(c.scenarios[0].baseline.as_ref().unwrap().runs, 3);
    let md = std::fs::read_to_string(compared.join("comparison.md")).unwrap();
    assert!(md.contains("Baseline: 3 runs, 9 trial(s)"), "{md}");
    // Another workload cannot join.
    let (o, _) = bench.run(
        &server.url(),
        "other",
        &[
            "--bless",
            "--append",
            "--reason",
            "x",
            "--max-error-rate",
            "0.5",
            "--warmup",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("workload `warmup`: `0` in the baseline, `2` now"),
        "{}",
        both(&o)
    );
}
