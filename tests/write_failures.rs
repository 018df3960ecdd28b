//! A results folder that cannot take more (disk full, a file-size limit, a path
//! that is not a folder) stops the run at the first failed write, keeps only whole
//! rows, and exits 5: not 4 ("the run failed"), and without sending the rest.

mod common;

use std::os::unix::process::CommandExt;

use common::*;
use llm_bench::sim::SimConfig;

fn fast_sim() -> Sim {
    Sim::start(SimConfig {
        ttft_ms: 2.0,
        itl_ms: 0.5,
        ..SimConfig::default()
    })
}

/// Every line of requests.jsonl parses as a row; returns how many there are.
fn whole_rows(dir: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(dir.join("requests.jsonl")).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "a cut last line");
    for line in text.lines() {
        serde_json::from_str::<llm_bench::record::RequestRow>(line).unwrap();
    }
    text.lines().count()
}

/// With a 40 KB file-size limit requests.jsonl fills up after some 80 rows: the
/// run stops there (it used to send every remaining request), the file ends on a
/// whole row, and run.json says why it stopped.
#[test]
fn a_full_file_stops_the_run_and_keeps_whole_rows() {
    let server = fast_sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let mut cmd = run_command(&server.url(), &out);
    cmd.args([
        "-c",
        "2",
        "-n",
        "2000",
        "--max-tokens",
        "8",
        "--no-telemetry",
    ]);
    // SAFETY: signal and setrlimit are async-signal-safe. An ignored SIGXFSZ stays
    // ignored across exec, so a write past the limit fails with EFBIG instead of
    // killing the process.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 40_000,
                rlim_max: 40_000,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(text.contains("cannot write"), "{text}");
    assert!(text.contains("requests.jsonl: File too large"), "{text}");
    assert!(text.contains("`llm-bench report"), "{text}");
    // The rows of the failing batch that fit under the limit are kept too.
    let rows = whole_rows(&out);
    assert!(rows > 10, "{rows} rows");
    // Rows are written in 64 KiB batches, sooner when the writer is idle: on a
    // busy machine a whole batch (some 130 rows) can be sent before the failing
    // write. The old behaviour sent all 2,000.
    let sent = server.stats().requests_total as usize;
    assert!(
        sent < rows + 200,
        "{sent} requests sent for {rows} rows written: the run went on after the failure"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["run"]["interrupted_by"], "write_failed");
}

// A full disk (ENOSPC) takes the same path as the file-size limit above: the first
// failed write stops the run. Its message ("the disk is full") is checked in
// src/write_error.rs; an end-to-end case would need requests.jsonl pre-placed as a
// link to /dev/full, which `--out` now refuses (a non-empty folder could hold an
// earlier run's files).

/// A results path that cannot be created fails before the first request.
#[test]
fn an_unwritable_results_folder_fails_before_sending() {
    let server = fast_sim();
    let o = run_against(
        &server.url(),
        std::path::Path::new("/dev/full/out"),
        &["-n", "5"],
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write /dev/full/out"),
        "{}",
        stderr(&o)
    );
    assert_eq!(server.stats().requests_total, 0);
}
