//! False-alarm rate and power of the regression gate against the real simulated
//! server, run by `cargo bench --bench verdict_study` (a couple of minutes).
//!
//! Every trial is one `llm-bench run` of 40 requests (concurrency 8, 8 tokens each)
//! against a fresh simulated server whose speed factor is drawn from N(1, 2%): the
//! between-run jitter real servers show. A pool of trials at the normal TTFT and a
//! pool with TTFT 10% slower feed 300 A/A and 300 A/B comparisons of 5 blessed
//! against 4 current trials (the defaults), each through the full verdict. The same
//! comparisons are judged by a naive request-level Mann–Whitney test on TTFT, which
//! treats a trial's requests as independent: the reason the gate works on trials.
//!
//! Deterministic up to timing: the speed factors and the pool draws are seeded.
//! Under `cargo test --all-targets` the bench only prints how to run it.

use std::path::Path;
use std::process::Command;

use llm_bench::compare::{self, baseline::Baseline, study};
use llm_bench::record::RequestRow;
use llm_bench::sim::{SimConfig, SimServer};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

const BASE_POOL: usize = 120;
const SLOW_POOL: usize = 60;
const COMPARISONS: usize = 300;
/// The sim's default TTFT: at 50 ms the 2 ms absolute floor is below the 5% relative
/// threshold, so δ is 5% and a 10% slowdown is a fair test of power.
const TTFT_MS: f64 = 50.0;

/// One trial: a fresh server at `speed`, one `llm-bench run`, read back as a
/// single-trial candidate baseline.
fn trial(runtime: &tokio::runtime::Runtime, dir: &Path, speed: f64, ttft_ms: f64) -> Baseline {
    let config = SimConfig {
        ttft_ms,
        itl_ms: 1.0,
        speed_factor: speed,
        ..SimConfig::default()
    };
    let server = runtime
        .block_on(SimServer::start(config, "127.0.0.1:0".parse().unwrap()))
        .expect("start the simulated server");
    let status = Command::new(env!("CARGO_BIN_EXE_llm-bench"))
        .args([
            "run",
            "--url",
            &server.base_url(),
            "--model",
            "sim-model",
            "--out",
        ])
        .arg(dir)
        .args([
            "--concurrency",
            "8",
            "--requests",
            "40",
            "--max-tokens",
            "8",
            "--ignore-eos",
        ])
        .args(["--prompt-tokens", "16", "--trials", "1"])
        .env_remove("CI")
        .env_remove("LLM_BENCH_BLESS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run llm-bench");
    runtime.block_on(server.shutdown());
    assert!(status.success(), "llm-bench run failed: {status}");
    let manifest = llm_bench::results::read_manifest(dir).unwrap();
    let mut rows: Vec<RequestRow> = Vec::new();
    llm_bench::results::for_each_row(dir, |r| rows.push(r.clone())).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    compare::candidates(&manifest, &rows).remove(0)
}

fn pool(
    runtime: &tokio::runtime::Runtime,
    tmp: &Path,
    rng: &mut StdRng,
    size: usize,
    ttft_ms: f64,
) -> Vec<Baseline> {
    let jitter = Normal::new(1.0f64, 0.02).unwrap();
    (0..size)
        .map(|i| {
            trial(
                runtime,
                &tmp.join(format!("t{ttft_ms}-{i}")),
                jitter.sample(rng).max(0.5),
                ttft_ms,
            )
        })
        .collect()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "verdict_study: a two-minute study; run it with `cargo bench --bench verdict_study`"
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tmp = std::env::temp_dir().join(format!("llm-bench-verdict-study-{}", std::process::id()));
    let mut rng = StdRng::seed_from_u64(20240611);
    let started = std::time::Instant::now();
    let base = pool(&runtime, &tmp, &mut rng, BASE_POOL, TTFT_MS);
    let slowed = pool(&runtime, &tmp, &mut rng, SLOW_POOL, TTFT_MS * 1.1);
    let aa = study::run(COMPARISONS, &base, None, &mut rng);
    let slow = study::run(COMPARISONS, &base, Some(&slowed), &mut rng);
    let _ = std::fs::remove_dir_all(&tmp);
    println!(
        "{}\n  ({} trials against the simulated server in {:.0} s)",
        study::describe(
            &format!("simulated server, speed factor N(1, 2%), pools of {BASE_POOL} + {SLOW_POOL} trials"),
            COMPARISONS,
            aa,
            slow
        ),
        BASE_POOL + SLOW_POOL,
        started.elapsed().as_secs_f64()
    );
}
