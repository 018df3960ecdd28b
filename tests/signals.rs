//! SIGTERM (what CI runners send on cancel) stops a run as Ctrl-C does: no new
//! requests, the in-flight ones get the grace time, everything is written, and the
//! reports say the run was interrupted and how much of its plan it sent.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use llm_bench::sim::SimConfig;

/// Waits until `dir/requests.jsonl` holds at least `n` rows (at most 20 s).
fn wait_for_rows(dir: &Path, n: usize, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = std::fs::read_to_string(dir.join("requests.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if rows >= n {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        assert!(Instant::now() < deadline, "only {rows} rows after 20 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: sends a signal to our own child process.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(sent, 0);
}

#[test]
fn sigterm_stops_the_run_and_writes_everything() {
    let server = Sim::start(SimConfig {
        ttft_ms: 20.0,
        itl_ms: 2.0,
        ..SimConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let mut child = run_command(&server.url(), &out)
        .args([
            "-c",
            "2",
            "-n",
            "1000",
            "--max-tokens",
            "20",
            "--grace",
            "5s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&out, 4, &mut child);
    signal(&child, libc::SIGTERM);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("SIGTERM: no new requests"),
        "{}",
        stderr(&o)
    );

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["run"]["interrupted"], true);
    assert_eq!(manifest["run"]["interrupted_by"], "SIGTERM");
    validated_summary(&out);
    let rows = rows(&out);
    assert!(rows.len() >= 4 && rows.len() < 1000, "{} rows", rows.len());
    assert!(
        rows.iter().all(|r| r.ok),
        "in-flight requests finished in the grace time"
    );
    let headline = format!(
        "interrupted by SIGTERM after {} of 1000 planned requests",
        rows.len()
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.lines().next().unwrap().contains(&headline),
        "{report}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains(&headline), "{stdout}");
    for name in ["summary.csv", "report.html", "chart_data.json"] {
        assert!(out.join(name).is_file(), "{name} not written");
    }

    // `report` rebuilds it the same way.
    std::fs::remove_file(out.join("report.md")).unwrap();
    let o = bin().arg("report").arg(&out).output().unwrap();
    assert_success(&o);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.lines().next().unwrap().contains(&headline),
        "{report}"
    );
}

/// A run killed outright (SIGKILL) never wrote its end: `report` on what it left
/// says it did not finish instead of "N/N, 100%".
#[test]
fn report_of_a_killed_run_says_it_did_not_finish() {
    let server = Sim::start(SimConfig {
        ttft_ms: 20.0,
        itl_ms: 2.0,
        ..SimConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let mut child = run_command(&server.url(), &out)
        .args(["-c", "2", "-n", "1000", "--max-tokens", "20"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_rows(&out, 4, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let o = bin().arg("report").arg(&out).output().unwrap();
    assert_success(&o);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let first = report.lines().next().unwrap();
    assert!(first.contains("did not finish"), "{first}");
    assert!(first.contains("of 1000 planned requests"), "{first}");
}
