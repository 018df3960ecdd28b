//! Reports say what was measured and no more: no TPOT for responses that came in
//! one piece, duplicated rows counted once (and said so), an interrupted run shown
//! as interrupted.

mod common;

use common::*;
use llm_bench::sim::SimConfig;

fn fast_sim() -> Sim {
    Sim::start(SimConfig {
        ttft_ms: 2.0,
        itl_ms: 0.5,
        ..SimConfig::default()
    })
}

/// `--no-stream` has no TPOT: rows carry none, the summary has none, and the
/// console table, report.md and the bless output show it absent, not 0.00 ms.
#[test]
fn no_stream_has_no_tpot() {
    let server = fast_sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let baselines = tmp.path().join("baselines");
    let o = run_command(&server.url(), &out)
        .args(["-c", "2", "-n", "6", "--max-tokens", "8", "--no-stream"])
        .args([
            "--trials",
            "3",
            "--bless",
            "--reason",
            "test",
            "--no-telemetry",
        ])
        .arg("--baseline-dir")
        .arg(&baselines)
        .output()
        .unwrap();
    assert_success(&o);
    let rows = rows(&out);
    assert_eq!(rows.len(), 18);
    assert!(rows.iter().all(|r| r.ok && r.tpot_ms.is_none()), "{rows:?}");
    let s = summary(&out);
    assert_eq!(s.scenarios[0].metrics.tpot_ms, None);
    assert!(s.scenarios[0].metrics.ttft_ms.is_some());

    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let tpot_line = report.lines().find(|l| l.starts_with("| TPOT")).unwrap();
    assert!(
        tpot_line.contains('–') && !tpot_line.contains("0.00"),
        "{tpot_line}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let all = format!("{stdout}{}", stderr(&o));
    assert!(
        !all.lines()
            .any(|l| l.contains("TPOT") && l.contains("0.00")),
        "{all}"
    );
    let table_row = stdout.lines().find(|l| l.contains("adhoc")).unwrap();
    // scenario, load, ok/sent, success, req/s, tok/s, TTFT p50, TTFT p99, TPOT p50.
    let cells: Vec<&str> = table_row.split('┆').map(str::trim).collect();
    assert_eq!(cells[8], "–", "{table_row}");
}

/// `report` on a requests.jsonl holding every row twice (two copies appended
/// together) counts each request once and says how many rows it skipped.
#[test]
fn report_counts_duplicated_rows_once_and_says_so() {
    let server = fast_sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    run_ok(
        &server.url(),
        &out,
        &["-c", "2", "-n", "12", "--trials", "2"],
    );
    let before = summary(&out).scenarios[0].metrics.clone();
    let path = out.join("requests.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}{text}")).unwrap();

    let o = bin().arg("report").arg(&out).output().unwrap();
    assert_success(&o);
    assert!(
        stderr(&o).contains("skipped 24 duplicated rows"),
        "{}",
        stderr(&o)
    );
    let after = summary(&out).scenarios[0].metrics.clone();
    assert_eq!(after.requests.succeeded, 24);
    assert_eq!(after.requests, before.requests);
    assert_eq!(after.ttft_ms, before.ttft_ms);
}
