//! `run --generator` and `llm-bench merge`, end to end on loopback:
//! the same workload run as one process and as 2 and 3 parts, merged, must count
//! the same requests, tokens and errors, and its percentiles must be those of the
//! parts' rows put together.

mod common;
#[path = "common/merged.rs"]
mod merged;
use merged::{merge, totals};

use std::path::{Path, PathBuf};

use llm_bench::metrics::stats::Stats;
use llm_bench::sim::SimConfig;

/// A simulated server that fails some requests (500s, cut streams), each fault
/// drawn by the server's arrival count, so the same number of requests meets the
/// same faults however they are spread over clients.
fn faulty_sim() -> common::Sim {
    common::Sim::start(SimConfig {
        ttft_ms: 5.0,
        itl_ms: 1.0,
        output_tokens: 12,
        error_500_rate: 0.1,
        disconnect_rate: 0.05,
        seed: 11,
        ..SimConfig::default()
    })
}

/// `run` against `url` into `out` with `args`, as `n` generators at once when
/// `n > 1`; returns the folders.
/// Generators start together (`--start-at`), 3 s from now: time enough for every
/// process to start on a loaded machine.
fn run_parts(url: &str, dir: &Path, name: &str, n: u32, args: &[&str]) -> Vec<PathBuf> {
    let start_at = (chrono::Utc::now() + chrono::TimeDelta::seconds(3)).to_rfc3339();
    let children: Vec<(PathBuf, std::process::Child)> = (1..=n)
        .map(|i| {
            let out = dir.join(format!("{name}-{i}of{n}"));
            let mut cmd = common::run_command(url, &out);
            cmd.args(args)
                .args(["--no-telemetry", "--max-error-rate", "1"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            if n > 1 {
                cmd.args(["--generator", &format!("{i}/{n}")]);
                cmd.args(["--start-at", &start_at]);
            }
            (out, cmd.spawn().unwrap())
        })
        .collect();
    children
        .into_iter()
        .map(|(out, child)| {
            let o = child.wait_with_output().unwrap();
            assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
            out
        })
        .collect()
}

/// Exact statistics of one metric over the measured successful rows of `dirs`.
fn concatenated(
    dirs: &[PathBuf],
    metric: impl Fn(&llm_bench::record::RequestRow) -> Option<f64>,
) -> Stats {
    let mut samples: Vec<f64> = dirs
        .iter()
        .flat_map(|d| common::rows(d))
        .filter(|r| !r.warmup && r.ok)
        .filter_map(|r| metric(&r))
        .collect();
    Stats::from_samples(&mut samples).unwrap()
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

/// The simulated server draws its faults by arrival count, so which request meets
/// one is a race between concurrent requests. With one trial and no warm-up
/// every arrival counts, so the totals of each error kind are exact; with
/// several trials or a warm-up they are exact only without faults.
#[test]
fn closed_loop_generators_merge_to_what_one_process_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let faulty = [
        "--concurrency",
        "6",
        "--requests",
        "48",
        "--warmup",
        "0",
        "--prompt-tokens",
        "40",
    ];
    let trials = [
        "--concurrency",
        "6",
        "--requests",
        "30",
        "--warmup",
        "3",
        "--trials",
        "2",
        "--prompt-tokens",
        "40",
    ];
    for (case, args, faults) in [
        ("faulty", &faulty[..], true),
        ("trials", &trials[..], false),
    ] {
        let sim = || match faults {
            true => faulty_sim(),
            false => common::Sim::start(SimConfig {
                ttft_ms: 5.0,
                itl_ms: 1.0,
                output_tokens: 12,
                ..SimConfig::default()
            }),
        };
        let single_sim = sim();
        let single = run_parts(
            &single_sim.url(),
            tmp.path(),
            &format!("{case}-single"),
            1,
            args,
        );
        let expected = totals(&common::summary(&single[0]));
        if faults {
            assert!(
                expected[0].contains("Http5xx") && expected[0].contains("StreamReset"),
                "{expected:?}"
            );
        }
        for n in [2, 3] {
            let sim = sim();
            let parts = run_parts(&sim.url(), tmp.path(), &format!("{case}-gen"), n, args);
            let out = tmp.path().join(format!("{case}-merged-{n}"));
            let o = merge(&out, &parts);
            assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
            check_merged(&out, &parts, &expected, n);
        }
    }
}

/// Counts as one process's; ids unique; percentiles of the concatenated rows;
/// the files one run writes.
fn check_merged(out: &Path, parts: &[PathBuf], expected: &[String], n: u32) {
    let merged = common::summary(out);
    assert_eq!(totals(&merged), expected, "{n} generators");
    // Request ids (and indices) never repeat across generators.
    let rows = common::rows(out);
    let mut ids: Vec<_> = rows.iter().map(|r| (r.trial, r.index)).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), rows.len());
    let m = &merged.scenarios[0].metrics;
    // Percentiles of the concatenated rows (exact: far below the summary's cap).
    let checks: [(&str, Option<&Stats>, Stats); 2] = [
        (
            "TTFT",
            m.ttft_ms.as_ref(),
            concatenated(parts, |r| r.ttft_ms),
        ),
        (
            "E2E",
            m.e2e_ms.as_ref(),
            concatenated(parts, |r| Some(r.e2e_ms)),
        ),
    ];
    for (what, got, exact) in checks {
        let got = got.unwrap();
        assert_eq!(got.count, exact.count, "{what}");
        for (a, b) in [
            (got.p50, exact.p50),
            (got.p90, exact.p90),
            (got.p99, exact.p99),
            (got.min, exact.min),
            (got.max, exact.max),
            (got.mean, exact.mean),
        ] {
            assert_close(a, b, what);
        }
    }
    common::validated_summary(out);
    // What one run writes, so compare, bless --from and comment work on it.
    for file in [
        "report.md",
        "report.html",
        "adhoc.baseline.json.new",
        "client_health.jsonl",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["run"]["merged"]["alignment"], "monotonic");
    assert_eq!(
        run["run"]["merged"]["folders"].as_array().unwrap().len(),
        n as usize
    );
}

#[test]
fn open_loop_generators_send_the_one_schedule() {
    let _quiet = common::timing_sensitive();
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "--rate",
        "60",
        "--requests",
        "180",
        "--seed",
        "5",
        "--prompt-tokens",
        "40",
    ];
    let single_sim = faulty_sim();
    let single = run_parts(&single_sim.url(), tmp.path(), "single", 1, &args);
    let one = common::summary(&single[0]);
    let one_schedule: Vec<f64> = {
        let mut v: Vec<f64> = common::rows(&single[0])
            .iter()
            .map(|r| r.scheduled_ms)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    for n in [2, 3] {
        let sim = faulty_sim();
        let parts = run_parts(&sim.url(), tmp.path(), "open", n, &args);
        // Each generator sent every n-th arrival of the one schedule.
        let mut sent: Vec<f64> = parts
            .iter()
            .flat_map(|d| common::rows(d))
            .map(|r| r.scheduled_ms)
            .collect();
        sent.sort_by(f64::total_cmp);
        assert_eq!(sent.len(), one_schedule.len());
        for (a, b) in sent.iter().zip(&one_schedule) {
            assert!((a - b).abs() < 1e-3, "schedules differ: {a} vs {b}");
        }
        let out = tmp.path().join(format!("merged-open-{n}"));
        let o = merge(&out, &parts);
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        let merged = common::summary(&out);
        assert_eq!(totals(&merged), totals(&one));
        // `--start-at` started them together: within the connection warm-up and a
        // loaded machine's wake-up (generous; typically a few ms).
        let run: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        let skew = run["run"]["merged"]["max_start_skew_ms"].as_f64().unwrap();
        assert!((0.0..250.0).contains(&skew), "trial starts {skew} ms apart");
        let schedule = &merged.scenarios[0].metrics.schedule;
        let drawn = one.scenarios[0].metrics.schedule.scheduled_rate.unwrap();
        // Generators start a few ms apart (separate processes): the merged window
        // is that much longer than the drawn schedule's, never shorter.
        let achieved = schedule.achieved_rate.unwrap();
        assert!(
            achieved >= drawn * llm_bench::metrics::summary::RATE_ATTAINMENT_FLOOR
                && achieved <= drawn * 1.02,
            "merged rate {achieved} vs the schedule's {drawn} (trial starts {skew} ms apart)"
        );
        assert_eq!(schedule.reached_target, Some(true), "{schedule:?}");
    }
}

#[test]
fn folders_that_do_not_belong_together_are_refused_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = faulty_sim();
    let a = run_parts(
        &sim.url(),
        tmp.path(),
        "a",
        2,
        &["--requests", "8", "--concurrency", "2"],
    );
    let other_model = tmp.path().join("other-model");
    let o = common::bin()
        .args([
            "run",
            "--url",
            &sim.url(),
            "--model",
            "another-model",
            "--no-telemetry",
        ])
        .args([
            "--requests",
            "8",
            "--concurrency",
            "2",
            "--generator",
            "2/2",
            "--max-error-rate",
            "1",
            "--out",
        ])
        .arg(&other_model)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let cases: Vec<(Vec<PathBuf>, &str)> = vec![
        (vec![a[0].clone(), other_model.clone()], "`run.model`"),
        (vec![a[0].clone()], "`run.generator` 2/2 missing"),
        (
            vec![a[0].clone(), a[0].clone()],
            "`run.generator` 1/2 of scenario `adhoc` is also in",
        ),
        (
            vec![a[0].clone(), tmp.path().join("nothing")],
            "is not a results folder",
        ),
    ];
    for (i, (dirs, field)) in cases.into_iter().enumerate() {
        let out = tmp.path().join(format!("refused-{i}"));
        let o = merge(&out, &dirs);
        let stderr = common::stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(field), "expected {field}: {stderr}");
        assert!(!out.join("summary.json").exists());
    }
    let o = common::bin()
        .args([
            "run",
            "--url",
            &sim.url(),
            "--model",
            "sim-model",
            "--start-at",
            "tomorrow",
            "--out",
        ])
        .arg(tmp.path().join("bad-start"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("RFC 3339"),
        "{}",
        common::stderr(&o)
    );
    let o = merge(&tmp.path().join("ok"), &a);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
}
