//! The two folders the bench judges, written by the crate's own code as a real
//! run leaves them: the blessed baselines and the current run (see `main.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use llm_bench::app::{gate, outputs};
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

pub const SCENARIOS: usize = 50;
pub const TRIALS: u32 = 5;
pub const REQUESTS: u64 = 10_000;
pub const TOKENS: usize = 128;
pub const TARGET: &str = "vllm-h100";
/// Scenarios (by index) whose current run has a 15% slower TTFT.
const SLOWER: [usize; 2] = [7, 31];
const ENDED_AT: &str = "2026-11-28T11:00:00+00:00";

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

pub fn manifest(id: &str) -> Manifest {
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
pub fn bless_baselines(baseline_dir: &Path) {
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
pub fn write_current_run(dir: &Path) {
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
