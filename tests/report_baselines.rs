//! `--baseline-dir` means the committed baselines (DIR/<target>/<scenario>.json) in
//! `report` as it does in `run`, `compare` and `bless`; an earlier run's folder is
//! overlaid with `--overlay` (and, given to `--baseline-dir` as before, still works
//! with a warning).

mod common;

use common::{assert_success, bin, run_ok, stderr, Sim};
use llm_bench::sim::SimConfig;

#[test]
fn report_overlays_committed_baselines_or_an_earlier_run() {
    let server = Sim::start(SimConfig {
        ttft_ms: 3.0,
        itl_ms: 0.5,
        seed: 5,
        ..SimConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let baselines = tmp.path().join("baselines");
    let blessed = tmp.path().join("blessed");
    let args = [
        "--requests",
        "12",
        "--trials",
        "3",
        "--bless",
        "--reason",
        "first",
        "--baseline-dir",
    ];
    let mut with_dir: Vec<&str> = args.to_vec();
    let dir = baselines.to_str().unwrap().to_string();
    with_dir.push(&dir);
    let o = run_ok(&server.url(), &blessed, &with_dir);
    assert!(
        baselines.join("adhoc/adhoc.json").is_file(),
        "{}",
        stderr(&o)
    );

    let current = tmp.path().join("current");
    run_ok(&server.url(), &current, &["--requests", "12"]);
    let html = || std::fs::read_to_string(current.join("report.html")).unwrap();
    let report = |args: &[&std::ffi::OsStr]| {
        bin()
            .arg("report")
            .arg(&current)
            .args(args)
            .output()
            .unwrap()
    };

    // The committed baselines, as `run --compare --baseline-dir` reads them.
    let o = report(&["--baseline-dir".as_ref(), baselines.as_os_str()]);
    assert_success(&o);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert!(html().contains("TTFT distribution vs baseline"));
    assert!(
        html().contains(baselines.to_str().unwrap()),
        "labelled by the folder"
    );

    // An earlier run's folder.
    let o = report(&["--overlay".as_ref(), blessed.as_os_str()]);
    assert_success(&o);
    assert!(html().contains("TTFT distribution vs baseline"));
    let o = report(&["--baseline-dir".as_ref(), blessed.as_os_str()]);
    assert_success(&o);
    assert!(
        stderr(&o).contains("is a results folder, so it is overlaid as with --overlay"),
        "{}",
        stderr(&o)
    );

    // A baselines folder without this target's baselines overlays nothing, and says so.
    let empty = tmp.path().join("no-baselines");
    std::fs::create_dir_all(&empty).unwrap();
    let o = report(&["--baseline-dir".as_ref(), empty.as_os_str()]);
    assert_success(&o);
    assert!(
        stderr(&o).contains("has no baseline for target `adhoc`"),
        "{}",
        stderr(&o)
    );
}
