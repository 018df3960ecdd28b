//! `chart_data.json`: a run saves what `report.html` draws beside `summary.json`, so
//! `llm-bench compare` redraws the page without reading `requests.jsonl`. The page
//! is the same whichever way it was drawn: from the saved data, from the rows (a
//! folder of an older version, or saved data that is stale or broken), or from the
//! saved data alone once the rows are deleted.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::*;
use llm_bench::results;
use llm_bench::sim::SimConfig;

fn compare(results_dir: &Path, baselines: &Path) -> Output {
    bin()
        .env_remove("LLM_BENCH_BLESS")
        .arg("compare")
        .arg(results_dir)
        .arg("--baseline-dir")
        .arg(baselines)
        .output()
        .unwrap()
}

/// `compare`, then the page it wrote.
fn compare_html(results_dir: &Path, baselines: &Path) -> (String, String) {
    let o = compare(results_dir, baselines);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "compare failed: {}",
        stderr(&o)
    );
    let html = fs::read_to_string(results_dir.join(results::REPORT_HTML)).unwrap();
    (html, stderr(&o))
}

#[test]
fn compare_draws_the_same_page_from_saved_chart_data_as_from_the_rows() {
    let server = Sim::start(SimConfig {
        ttft_ms: 5.0,
        itl_ms: 1.0,
        error_429_rate: 0.05,
        seed: 5,
        ..SimConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let baselines = tmp.path().join("baselines");
    let load = [
        "--concurrency",
        "4",
        "--requests",
        "40",
        "--max-tokens",
        "16",
        "--trials",
        "3",
        "--max-error-rate",
        "0.5",
    ];
    let blessed = tmp.path().join("blessed");
    let mut args = load.to_vec();
    let dir = baselines.to_str().unwrap();
    args.extend(["--baseline-dir", dir, "--bless", "--reason", "test"]);
    let o = run_command(&server.url(), &blessed)
        .env("LLM_BENCH_BLESSED_BY", "test")
        .args(&args)
        .output()
        .unwrap();
    assert_success(&o);

    let run = out_dir(&tmp);
    run_ok(&server.url(), &run, &load);
    let saved = run.join(results::CHART_DATA);
    assert!(saved.is_file(), "a run saves its chart data");

    // From the saved chart data (the rows are there but not read).
    let (from_saved, err) = compare_html(&run, &baselines);
    assert!(!err.contains("note:"), "{err}");
    assert!(from_saved.contains("TTFT distribution vs baseline"));
    let data = fs::read(&saved).unwrap();

    // An older version's folder: no chart data, so the rows are read.
    fs::remove_file(&saved).unwrap();
    let (from_rows, _) = compare_html(&run, &baselines);
    assert_eq!(
        from_rows, from_saved,
        "saved chart data and rows draw one page"
    );

    // Broken or stale saved data is not used: the rows are, and it is said.
    fs::write(&saved, b"{\"version\": 1, \"run_id\": ").unwrap();
    let (page, err) = compare_html(&run, &baselines);
    assert!(err.contains("unreadable"), "{err}");
    assert_eq!(page, from_saved);
    let mut stale: serde_json::Value = serde_json::from_slice(&data).unwrap();
    stale["sources"]["requests.jsonl"] = 1.into();
    fs::write(&saved, serde_json::to_vec(&stale).unwrap()).unwrap();
    let (page, err) = compare_html(&run, &baselines);
    assert!(err.contains("older than requests.jsonl"), "{err}");
    assert_eq!(page, from_saved);

    // The rows deleted to save space: the saved data alone draws the same page.
    fs::write(&saved, &data).unwrap();
    fs::remove_file(run.join(results::REQUESTS)).unwrap();
    let (without_rows, err) = compare_html(&run, &baselines);
    assert!(!err.contains("note:"), "{err}");
    assert_eq!(without_rows, from_saved);

    // `report` overlays a baseline results folder from its saved chart data too.
    fs::remove_file(blessed.join(results::REQUESTS)).unwrap();
    let o = bin()
        .arg("report")
        .arg(&blessed)
        .arg("--baseline-dir")
        .arg(&blessed)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "its own rows are needed: {}",
        stderr(&o)
    );
    // `run --out` takes only a new or empty folder.
    fs::remove_dir_all(&run).unwrap();
    run_ok(&server.url(), &run, &load);
    let o = bin()
        .arg("report")
        .arg(&run)
        .arg("--baseline-dir")
        .arg(&blessed)
        .output()
        .unwrap();
    assert_success(&o);
    let html = fs::read_to_string(run.join(results::REPORT_HTML)).unwrap();
    assert!(html.contains("TTFT distribution vs baseline"));
}
