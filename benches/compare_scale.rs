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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use llm_bench::app::gate;
use llm_bench::app::outputs;
use llm_bench::compare::{self, BlessContext, BlessOptions};
use llm_bench::config::thresholds::Thresholds;
use llm_bench::manifest::{LoadSpec, Manifest, RunMeta, ScenarioSpec, SloSpec, SCHEMA_VERSION};
use llm_bench::metrics::ClientHealth;
use llm_bench::record::{ErrorKind, Outcome, RequestRow, RequestTiming, RowContext};
use llm_bench::report::series::SeriesBuilder;
use llm_bench::results;
use llm_bench::runner::sink::{Sink, TrialHealth};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

const SCENARIOS: usize = 50;
const TRIALS: u32 = 5;
const REQUESTS: u64 = 10_000;
const TOKENS: usize = 128;
const TARGET: &str = "vllm-h100";
/// Timed runs of the command.
const REPEATS: usize = 5;
const GOAL: Duration = Duration::from_secs(1);
/// What the two folders take on disk (requests.jsonl is 2.85 GB), with a margin.
const NEEDS_BYTES: u64 = 3_300_000_000;
/// Scenarios (by index) whose current run has a 15% slower TTFT.
const SLOWER: [usize; 2] = [7, 31];
const ENDED_AT: &str = "2026-11-28T11:00:00+00:00";

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

fn spec(i: usize) -> ScenarioSpec {
    let concurrency = [1u32, 4, 8, 16, 32, 64, 128, 256, 512, 1024][i % 10];
    ScenarioSpec {
        name: format!("chat-{:02}-c{concurrency}", i),
        prompt: ["short", "medium", "long", "rag", "code"][i / 10].into(),
        load: LoadSpec::Closed { concurrency },
        requests: Some(REQUESTS),
        duration_s: None,
        warmup: 0,
        max_tokens: TOKENS as u32,
        ignore_eos: true,
        stream: true,
        seed: 42,
        output_tokens: None,
        shared_prefix: None,
        tokenizer_sha256: None,
        approximate_lengths: None,
        prefix_cache: Default::default(),
        max_trials: None,
        trials: TRIALS,
        slo: SloSpec {
            ttft_ms: Some(200.0),
            tpot_ms: Some(20.0),
            e2e_ms: None,
        },
        max_error_rate: 0.05,
        thresholds: Thresholds::default(),
    }
}

fn manifest(id: &str) -> Manifest {
    Manifest {
        schema_version: SCHEMA_VERSION,
        run: RunMeta {
            id: id.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            target: TARGET.into(),
            base_url: "http://10.0.0.7:8000/v1".into(),
            api: "chat".into(),
            model: "meta-llama/Llama-3.1-8B-Instruct".into(),
            workload_hash: "sha256:5f1e0c".into(),
            started_at: "2026-11-28T10:00:00+00:00".into(),
            ended_at: None,
            interrupted: false,
            interrupted_by: None,
            percentile_method: "linear".into(),
            environment: None,
            distribution: Default::default(),
        },
        scenarios: (0..SCENARIOS).map(spec).collect(),
    }
}

/// One trial of a closed loop at the spec's concurrency against a server with TTFT
/// ~50 ms and ITL ~5 ms (×`ttft_factor` on TTFT), as the client records it: each
/// row from the instants of its chunks, by `RequestRow::new`.
fn trial_rows(spec: &ScenarioSpec, trial: u32, seed: u64, ttft_factor: f64) -> Vec<RequestRow> {
    let mut rng = StdRng::seed_from_u64(seed);
    let unit = Normal::new(0.0f64, 1.0).unwrap();
    // Between-trial jitter of the server's speed.
    let speed = 1.0 + 0.02 * unit.sample(&mut rng);
    let LoadSpec::Closed { concurrency } = spec.load else {
        unreachable!("closed loop")
    };
    let slots = concurrency as usize;
    let mut free_at = vec![0.0f64; slots];
    let t0 = Instant::now();
    let at = |ms: f64| t0 + Duration::from_nanos((ms * 1e6) as u64);
    (0..REQUESTS)
        .map(|index| {
            let slot = index as usize % slots;
            let scheduled = free_at[slot];
            let sent = scheduled + 0.01 + 0.02 * rng.gen::<f64>();
            let mut timing = RequestTiming::new(at(scheduled), at(sent));
            let failed = rng.gen::<f64>() < 0.001;
            let end = if failed {
                timing.headers = Some(at(sent + 1.5));
                sent + 1.6
            } else {
                let ttft = 50.0 * speed * ttft_factor * (0.1 * unit.sample(&mut rng)).exp();
                timing.headers = Some(at(sent + ttft - 0.4));
                timing.first_byte = Some(at(sent + ttft - 0.2));
                let mut t = sent + ttft;
                for _ in 0..TOKENS {
                    timing.tokens.push(at(t));
                    let stall = if rng.gen::<f64>() < 0.0005 { 25.0 } else { 0.0 };
                    t += 5.0 * speed * (1.0 + 0.04 * unit.sample(&mut rng)).max(0.5) + stall;
                }
                t + 0.05
            };
            timing.end = at(end);
            free_at[slot] = end;
            let mut outcome = Outcome::new(timing);
            outcome.status = Some(if failed { 503 } else { 200 });
            outcome.error = failed.then(|| {
                (
                    ErrorKind::Http5xx,
                    "HTTP 503 Service Unavailable: the server is overloaded".to_string(),
                )
            });
            outcome.usage_prompt_tokens = (!failed).then_some(64);
            outcome.usage_output_tokens = (!failed).then_some(TOKENS as u64);
            let ctx = RowContext {
                scenario: &spec.name,
                trial,
                index,
                request_id: None,
                warmup: false,
                trial_start: t0,
                in_flight: concurrency,
                max_tokens: None,
                requested_output_tokens: None,
                tokenizer_output_tokens: None,
            };
            RequestRow::new(ctx, &outcome)
        })
        .collect()
}

fn seed(run: u64, scenario: usize, trial: u32) -> u64 {
    run * 1_000_003 + scenario as u64 * 101 + u64::from(trial)
}

/// Baselines of an earlier run, blessed by the code behind `--bless`.
fn bless_baselines(baseline_dir: &Path) {
    let manifest = manifest("20261120-090000-vllm-h100");
    let mut candidates = Vec::new();
    for (i, spec) in manifest.scenarios.iter().enumerate() {
        let rows: Vec<RequestRow> = (0..TRIALS)
            .flat_map(|t| trial_rows(spec, t, seed(1, i, t), 1.0))
            .collect();
        candidates.extend(compare::candidates(&manifest, &rows));
    }
    let report = compare::bless(
        &candidates,
        baseline_dir,
        &BlessOptions {
            reason: Some("compare_scale bench".into()),
            allow_ci: true,
            scenarios: Vec::new(),
            append: false,
            keep_runs: 5,
        },
        &BlessContext {
            ci: false,
            blessed_by: "compare_scale".into(),
            now: "2026-11-20T10:00:00+00:00".into(),
        },
        false,
    )
    .expect("blessed");
    assert_eq!(report.matches("blessed ").count(), SCENARIOS);
}

/// The current run's results folder, written as `llm-bench run` writes it
/// (src/app.rs `benchmark`): run.json, rows and client health through the sink,
/// summary.json and reports, then the candidates.
fn write_current_run(dir: &Path) {
    std::fs::create_dir_all(dir).expect("results dir");
    let mut manifest = manifest("20261128-100000-vllm-h100");
    results::write_json_atomic(&dir.join(results::MANIFEST), &manifest).expect("run.json");
    // What run.json says once the run ended, which the candidates are computed from.
    let mut ended = manifest.clone();
    ended.run.ended_at = Some(ENDED_AT.into());
    let sink = Sink::start(
        &dir.join(results::REQUESTS),
        manifest.clone(),
        llm_bench::runner::Interrupt::new(),
    )
    .expect("sink");
    results::start_telemetry(dir, false).expect("no telemetry");
    let mut series = SeriesBuilder::new(&manifest);
    // Per scenario from its rows: what `candidates_from_dir` computes from the whole
    // file, since every statistic is per scenario.
    let mut candidates = Vec::new();
    let handle = sink.handle();
    for (i, spec) in manifest.scenarios.iter().enumerate() {
        let factor = if SLOWER.contains(&i) { 1.15 } else { 1.0 };
        let mut rows = Vec::with_capacity(TRIALS as usize * REQUESTS as usize);
        for trial in 0..TRIALS {
            let trial_rows = trial_rows(spec, trial, seed(2, i, trial), factor);
            let wall_s = trial_rows.iter().map(|r| r.end_ms).fold(0.0, f64::max) / 1e3;
            for row in trial_rows {
                series.add(&row);
                handle.send(row.clone());
                rows.push(row);
            }
            handle.send_health(TrialHealth {
                scenario: spec.name.clone(),
                trial,
                clock_start_ns: None,
                health: ClientHealth {
                    client_limited: false,
                    reasons: Vec::new(),
                    sched_lag_samples: (wall_s * 100.0) as u64,
                    sched_lag_p50_ms: 0.06,
                    sched_lag_p99_ms: 0.4,
                    sched_lag_max_ms: 1.2,
                    sched_lag_over_limit: 0,
                    cpu_s: wall_s * 0.3,
                    wall_s,
                    cpus: 16,
                    cpu_utilisation: 0.3 / 16.0,
                    dispatch_lag_p99_ms: None,
                    dispatch_lag_over_limit: None,
                    stalls: 0,
                    stall_max_ms: 0.0,
                    stall_total_ms: 0.0,
                    requests_watched: 0,
                    requests_in_stall: 0,
                    first_token_waits_timed: 0,
                    first_token_wait_max_ms: 0.0,
                }
                .judge(),
            });
        }
        candidates.extend(compare::candidates(&ended, &rows));
    }
    drop(handle);
    let closed = sink.close().expect("writer thread");
    assert!(closed.failure.is_none(), "rows written");
    let mut builder = closed.summary;
    builder.run_meta_mut().ended_at = Some(ENDED_AT.into());
    let summary = builder.finish();
    manifest.run = summary.run.clone();
    assert_eq!(manifest, ended);
    results::write_json_atomic(&dir.join(results::MANIFEST), &manifest).expect("run.json");
    outputs::write_outputs_with(dir, &summary, &series.finish(), None).expect("reports");
    gate::write_candidates(dir, &candidates).expect("candidates");
}
