//! `llm-bench report`: every output rebuilt from `requests.jsonl` alone is
//! byte-identical to what the run wrote, so an old run can be re-analysed.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use llm_bench::sim::SimConfig;

const OUTPUTS: [&str; 4] = ["summary.json", "summary.csv", "report.md", "report.html"];

fn read_outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    OUTPUTS
        .iter()
        .map(|name| {
            (
                name.to_string(),
                fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")),
            )
        })
        .collect()
}

fn report(args: &[&std::ffi::OsStr]) -> std::process::Output {
    bin().arg("report").args(args).output().unwrap()
}

#[test]
fn report_rebuilds_the_run_outputs_byte_for_byte() {
    let server = Sim::start(SimConfig {
        ttft_ms: 5.0,
        itl_ms: 1.0,
        error_429_rate: 0.05,
        seed: 11,
        ..SimConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    run_ok(
        &server.url(),
        &out,
        &[
            "--concurrency",
            "4",
            "--requests",
            "60",
            "--max-tokens",
            "16",
            "--trials",
            "2",
            "--max-error-rate",
            "0.5",
        ],
    );
    let at_run_time = read_outputs(&out);
    for (name, _) in &at_run_time {
        fs::remove_file(out.join(name)).unwrap();
    }

    let o = report(&[out.as_os_str()]);
    assert_success(&o);
    for ((name, before), (_, after)) in at_run_time.iter().zip(read_outputs(&out)) {
        if *before != after {
            let (before, after) = (
                String::from_utf8_lossy(before),
                String::from_utf8_lossy(&after),
            );
            let first = before.lines().zip(after.lines()).position(|(a, b)| a != b);
            let line = |text: &str| {
                first
                    .and_then(|i| text.lines().nth(i))
                    .unwrap_or("")
                    .to_string()
            };
            panic!(
                "{name} differs when rebuilt from requests.jsonl, first at line {:?}:\n  run:    {}\n  report: {}",
                first.map(|i| i + 1),
                line(&before),
                line(&after)
            );
        }
    }
    let html = String::from_utf8(fs::read(out.join("report.html")).unwrap()).unwrap();
    assert_eq!(
        html.matches("<svg ").count(),
        6,
        "six charts for one scenario"
    );

    // A baseline folder overlays its CDFs on the latency charts.
    let baseline = tmp.path().join("baseline");
    fs::create_dir(&baseline).unwrap();
    for name in ["run.json", "requests.jsonl"] {
        fs::copy(out.join(name), baseline.join(name)).unwrap();
    }
    let o = report(&[
        out.as_os_str(),
        "--baseline-dir".as_ref(),
        baseline.as_os_str(),
    ]);
    assert_success(&o);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("TTFT distribution vs baseline"));
}

#[test]
fn report_explains_a_folder_that_is_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let o = report(&[tmp.path().as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("is not a results folder") && err.contains("run.json"),
        "{err}"
    );
}
