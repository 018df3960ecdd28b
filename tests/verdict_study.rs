//! False-alarm rate and power of the gate, measured on a deterministic model of a
//! server whose speed wobbles from run to run (the fast, in-process variant of
//! `benches/verdict_study.rs`, which drives the real simulated server).
//!
//! Each trial draws its speed factor from N(1, 2%) and 200 closed-loop requests
//! whose TTFT varies by 10% (log-normal) around 50 ms × speed. The rows go through the
//! same code as a real run (summary → candidate baseline → verdicts), with the
//! default trial counts: 5 blessed trials against 4 current ones.
//!
//! Figures: the gate's A/A false-alarm rate (any regression verdict) and its power
//! against a 10% TTFT slowdown, next to a naive request-level Mann–Whitney test on
//! TTFT (pooled requests, one-sided p < 0.05) to show why trials are the unit.

use llm_bench::compare::baseline::Baseline;
use llm_bench::compare::{self, study};
use llm_bench::config::thresholds::Thresholds;
use llm_bench::manifest::{LoadSpec, Manifest, RunMeta, ScenarioSpec, SloSpec};
use llm_bench::record::{RequestRow, TokenSource};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

const REQUESTS: u64 = 200;
const CONCURRENCY: usize = 8;
const TOKENS: u64 = 16;

fn spec() -> ScenarioSpec {
    ScenarioSpec {
        name: "chat".into(),
        prompt: "synthetic-64".into(),
        load: LoadSpec::Closed {
            concurrency: CONCURRENCY as u32,
        },
        requests: Some(REQUESTS),
        duration_s: None,
        warmup: 0,
        max_tokens: TOKENS as u32,
        ignore_eos: true,
        stream: true,
        seed: 42,
        trials: 1,
        slo: SloSpec::default(),
        max_error_rate: 0.05,
        thresholds: Thresholds::default(),
    }
}

fn manifest() -> Manifest {
    Manifest {
        schema_version: llm_bench::manifest::SCHEMA_VERSION,
        run: RunMeta {
            id: "study".into(),
            tool_version: "0.0.0".into(),
            git_commit: None,
            target: "model".into(),
            base_url: "builtin:sim".into(),
            api: "chat".into(),
            model: "sim-model".into(),
            workload_hash: "w".into(),
            started_at: "2024-01-01T00:00:00Z".into(),
            ended_at: None,
            interrupted: false,
            percentile_method: "linear".into(),
            environment: None,
        },
        scenarios: vec![spec()],
    }
}

/// One trial's rows: a closed loop of CONCURRENCY slots, each request starting when
/// its slot's previous one ended.
fn trial(rng: &mut StdRng, trial: u32, ttft_factor: f64) -> Vec<RequestRow> {
    let speed = 1.0 + 0.02 * Normal::new(0.0f64, 1.0).unwrap().sample(rng);
    let spread = Normal::new(0.0f64, 0.10).unwrap();
    let mut slots = [0.0f64; CONCURRENCY];
    (0..REQUESTS)
        .map(|index| {
            let slot = (index as usize) % CONCURRENCY;
            let start = slots[slot];
            let ttft = 50.0 * speed * ttft_factor * spread.sample(rng).exp();
            let itl: Vec<f64> = (1..TOKENS)
                .map(|_| 5.0 * speed * (1.0 + 0.05 * rng.gen::<f64>()))
                .collect();
            let e2e = ttft + itl.iter().sum::<f64>();
            slots[slot] = start + e2e;
            let round = |v: f64| (v * 1000.0).round() / 1000.0;
            RequestRow {
                scenario: "chat".into(),
                trial,
                index,
                request_id: None,
                warmup: false,
                ok: true,
                status: Some(200),
                error_kind: None,
                error: None,
                scheduled_ms: round(start),
                start_ms: round(start),
                end_ms: round(start + e2e),
                send_lag_ms: 0.0,
                ttfb_ms: Some(round(ttft)),
                ttft_ms: Some(round(ttft)),
                ttfr_ms: None,
                response_ttft_ms: Some(round(ttft)),
                e2e_ms: round(e2e),
                response_e2e_ms: round(e2e),
                tpot_ms: Some(round((e2e - ttft) / (TOKENS - 1) as f64)),
                itl_ms: itl.into_iter().map(round).collect(),
                prompt_tokens: Some(64),
                output_tokens: TOKENS,
                chunks: TOKENS,
                token_source: TokenSource::Usage,
                in_flight: CONCURRENCY as u32,
                itl_rest: None,
                flags: Vec::new(),
                attempts: 1,
                first_attempt_error: None,
                new_connection: None,
                connect_ms: None,
            }
        })
        .collect()
}

/// A pool of independent single-trial measurements, each through the real pipeline
/// (rows → summary → candidate). Comparisons draw disjoint trials from the pools, so
/// each is a fair A/A or A/B comparison while the pools stay small enough for a fast
/// test.
fn pool(rng: &mut StdRng, size: usize, ttft_factor: f64) -> Vec<Baseline> {
    (0..size)
        .map(|_| compare::candidates(&manifest(), &trial(rng, 0, ttft_factor)).remove(0))
        .collect()
}

#[test]
fn false_alarms_are_rare_and_a_ten_percent_ttft_slowdown_is_found() {
    let n = 300;
    let mut rng = StdRng::seed_from_u64(20240611);
    let base = pool(&mut rng, 120, 1.0);
    let slowed = pool(&mut rng, 60, 1.10);
    let aa = study::run(n, &base, None, &mut rng);
    let slow = study::run(n, &base, Some(&slowed), &mut rng);
    println!(
        "{}",
        study::describe(
            "model: 2% speed jitter, 10% request spread, pools of 120 + 60 trials",
            n,
            aa,
            slow
        )
    );
    assert!(
        aa.gate <= 0.05,
        "A/A false-alarm rate {:.1}% > 5%",
        aa.gate * 100.0
    );
    assert!(
        slow.gate >= 0.90,
        "power {:.1}% < 90% for a 10% TTFT slowdown",
        slow.gate * 100.0
    );
    assert!(
        aa.naive > aa.gate,
        "the naive test should cry wolf more often than the gate ({:.1}% vs {:.1}%)",
        aa.naive * 100.0,
        aa.gate * 100.0
    );
}
