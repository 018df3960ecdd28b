//! `llm-bench compare` at the scale of issue #6: a results folder of 50 scenarios ×
//! 5 trials × 10,000 streamed requests (128 output tokens each, 2.5M rows in
//! `requests.jsonl`) judged against blessed baselines of the same shape. Goal: < 1 s.
//!
//! Both folders are written in a temp dir by the crate's own code, as a real run
//! leaves them: rows built by `RequestRow::new` from per-chunk instants (TTFT
//! ~50 ms, ITL ~5 ms, both noisy, 0.1% failed requests) and written by the run's
//! `Sink` thread, `run.json`, `client_health.jsonl`, `summary.json`, the reports and
//! `chart_data.json` (`outputs::write_outputs_with`), and the `<scenario>.baseline.json.new`
//! candidates. The baselines come from another such run through `compare::bless`,
//! the code behind `--bless`. Two of the 50 scenarios are 15% slower on TTFT.
//!
//! Timed: the built binary, `llm-bench compare RESULTS --baseline-dir BASELINES`, as
//! a user runs it (wall time, median of several runs, page cache warm), then the
//! same steps in process for a breakdown, including what `compare` did before runs
//! saved their chart data (summary and charts rebuilt from every row, checked equal
//! to the saved ones). Same-run references: `std::fs::read` of every file the
//! command reads, and parsing `requests.jsonl` once (`results::for_each_row`).
//!
//! `cargo bench --bench compare_scale` (needs 3.3 GB free in the temp dir, else it
//! says so and stops: `TMPDIR=/dev/shm` works; setup a few minutes). With `COMPARE_SCALE_DIR=DIR` the folders are written to DIR and reused
//! by later runs (e.g. to profile `llm-bench compare` on them).
//! Under `cargo test --all-targets` it only prints how to run it.

mod fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fixture::{bless_baselines, manifest, write_current_run};
use fixture::{REQUESTS, SCENARIOS, TARGET, TOKENS, TRIALS};
use llm_bench::app::gate;
use llm_bench::app::outputs;
use llm_bench::compare;
use llm_bench::results;

/// Timed runs of the command.
const REPEATS: usize = 5;
const GOAL: Duration = Duration::from_secs(1);
/// What the two folders take on disk (requests.jsonl is 2.85 GB), with a margin.
const NEEDS_BYTES: u64 = 3_300_000_000;

fn main() {
    // `cargo test --all-targets` runs benches unoptimised, without `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("compare_scale: a load test; run it with `cargo bench --bench compare_scale`");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    // COMPARE_SCALE_DIR keeps the generated folders there and reuses them next time.
    let root =
        std::env::var_os("COMPARE_SCALE_DIR").map_or(tmp.path().to_path_buf(), PathBuf::from);
    let results_dir = root.join("results");
    let baseline_dir = root.join("baselines");

    // Folders written before the run saved its chart data are written again.
    let reuse = results_dir.join(compare::COMPARISON_JSON).is_file()
        && results_dir.join(results::CHART_DATA).is_file();
    if !reuse {
        std::fs::create_dir_all(&root).expect("data dir");
        let free = free_bytes(&root);
        if free < NEEDS_BYTES {
            println!(
                "compare_scale: needs {:.1} GB free in {}, has {:.1} GB; point TMPDIR or \
                 COMPARE_SCALE_DIR elsewhere (e.g. /dev/shm)",
                NEEDS_BYTES as f64 / 1e9,
                root.display(),
                free as f64 / 1e9
            );
            return;
        }
    }
    let started = Instant::now();
    if !reuse {
        bless_baselines(&baseline_dir);
    }
    let blessed = started.elapsed();
    let started = Instant::now();
    if !reuse {
        write_current_run(&results_dir);
    }
    let written = started.elapsed();
    let inputs = input_files(&results_dir, &baseline_dir);
    let input_bytes: u64 = inputs.iter().map(|p| file_len(p)).sum();
    let jsonl_bytes = file_len(&results_dir.join(results::REQUESTS));
    if reuse {
        println!("setup: reusing {}", root.display());
    } else {
        println!(
            "setup: baselines blessed in {:.1} s, current run written in {:.1} s",
            blessed.as_secs_f64(),
            written.as_secs_f64()
        );
    }
    println!(
        "{SCENARIOS} scenarios × {TRIALS} trials × {REQUESTS} requests × {TOKENS} tokens: \
         requests.jsonl {:.0} MB, {} files read by compare, {:.0} MB in all",
        jsonl_bytes as f64 / 1e6,
        inputs.len(),
        input_bytes as f64 / 1e6
    );

    // The command, as a user runs it.
    let bin = env!("CARGO_BIN_EXE_llm-bench");
    let mut walls = Vec::new();
    let mut code = None;
    for _ in 0..REPEATS {
        let started = Instant::now();
        let out = Command::new(bin)
            .env_remove("LLM_BENCH_BLESS")
            .arg("compare")
            .arg(&results_dir)
            .arg("--baseline-dir")
            .arg(&baseline_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("llm-bench runs");
        walls.push(started.elapsed());
        code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "llm-bench compare failed ({code:?}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let wall = median(&mut walls);

    // The same-run floor: reading every input file, and parsing the rows once.
    let mut reads = Vec::new();
    let mut parses = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let bytes: usize = inputs
            .iter()
            .map(|p| std::fs::read(p).expect("readable").len())
            .sum();
        reads.push(started.elapsed());
        assert_eq!(bytes as u64, input_bytes);
        let started = Instant::now();
        let mut rows = 0u64;
        results::for_each_row(&results_dir, |_| rows += 1).expect("rows");
        parses.push(started.elapsed());
        assert_eq!(rows, SCENARIOS as u64 * u64::from(TRIALS) * REQUESTS);
    }
    let read = median(&mut reads);
    let parse = median(&mut parses);

    println!(
        "\n`llm-bench compare RESULTS --baseline-dir BASELINES` (exit {}), wall time over {REPEATS} runs:",
        code.unwrap_or(-1)
    );
    println!(
        "  median {}   min {}   max {}",
        secs(wall),
        secs(walls[0]),
        secs(*walls.last().unwrap())
    );
    println!("same-run references (median of 3):");
    println!(
        "  std::fs::read of the {} input files  {}   compare / read  {:.2}x",
        inputs.len(),
        secs(read),
        wall.as_secs_f64() / read.as_secs_f64()
    );
    println!(
        "  parse requests.jsonl once            {}   compare / parse {:.2}x",
        secs(parse),
        wall.as_secs_f64() / parse.as_secs_f64()
    );
    breakdown(&results_dir, &baseline_dir);
    println!(
        "\ngoal < 1 s: {} (median {})",
        if wall < GOAL { "met" } else { "missed" },
        secs(wall)
    );
}

/// The steps of `llm-bench compare` (src/app.rs `compare_command`) in process, once.
fn breakdown(results_dir: &Path, baseline_dir: &Path) {
    println!("in process, once:");
    let step = |name: &str, started: Instant| {
        println!("  {name:<36} {}", secs(started.elapsed()));
    };
    let verdict_started = Instant::now();
    let started = Instant::now();
    let (manifest, candidates) = gate::read_candidates(results_dir).expect("candidates");
    step("read the candidates", started);
    let started = Instant::now();
    let info = compare::verdict::RunInfo {
        run_id: manifest.run.id.clone(),
        target: manifest.run.target.clone(),
        baseline_dir: baseline_dir.display().to_string(),
        looks: 1,
    };
    let judged = gate::judge(
        &candidates,
        baseline_dir,
        false,
        info,
        Some(&outputs::baseline_curves),
    )
    .expect("compare");
    step("read baselines + verdicts + curves", started);
    let started = Instant::now();
    gate::write_comparison(results_dir, &judged.comparison).expect("written");
    std::hint::black_box(compare::render::console(&judged.comparison));
    step("write comparison.{json,md} + console", started);
    println!(
        "  {:<36} {}",
        "= comparison, before report.html",
        secs(verdict_started.elapsed())
    );
    let started = Instant::now();
    let (summary, series) = outputs::report_data(results_dir)
        .expect("summary")
        .expect("a results folder");
    step("summary.json + chart_data.json", started);
    let started = Instant::now();
    outputs::write_html_judged(results_dir, &summary, &series, &judged).expect("report.html");
    step("write report.html", started);
    let started = Instant::now();
    let rebuilt = outputs::analyse_dir(results_dir).expect("rows");
    step("(before: summary + charts from rows)", started);
    assert_eq!(
        (&summary, &series),
        (&rebuilt.0, &rebuilt.1),
        "the saved summary and chart data are what the rows give"
    );
}

/// Every file `llm-bench compare` reads: the run's manifest, summary and chart data,
/// its candidates and the baselines (no longer the rows: see `breakdown`).
fn input_files(results_dir: &Path, baseline_dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![
        results_dir.join(results::MANIFEST),
        results_dir.join(results::SUMMARY),
        results_dir.join(results::CHART_DATA),
    ];
    for s in &manifest("any").scenarios {
        files.push(gate::candidate_path(results_dir, &s.name).unwrap());
        files.push(compare::baseline_path(baseline_dir, TARGET, &s.name).unwrap());
    }
    files
}

/// Bytes available to this user on the file system of `path`.
#[cfg(unix)]
fn free_bytes(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in path");
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a writable statvfs.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return u64::MAX;
    }
    stat.f_bavail as u64 * stat.f_frsize as u64
}

#[cfg(not(unix))]
fn free_bytes(_: &Path) -> u64 {
    u64::MAX
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}
