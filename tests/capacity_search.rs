//! The capacity search (`workload::capacity`) against the simulator: each step is
//! a real open-loop run of the binary, and the search finds the simulator's batch
//! knee within 10%.
//!
//! The knee comes from the simulator's timing model (`sim::timing`): a request
//! takes `ttft + (tokens − 1) × itl` alone, and up to `batch_size` requests run at
//! full speed; beyond that each slows by `active / batch_size`. By Little's law an
//! open loop at rate λ keeps `λ × e2e` requests active, so the load saturates the
//! batch at λ* = batch_size / e2e; above it the queue, and with it every latency,
//! grows without bound. An SLO 1.5× the unloaded E2E is met by (nearly) every
//! request below λ* and by ever fewer above it.

mod common;

use common::*;
use llm_bench::sim::SimConfig;
use llm_bench::workload::capacity::{CapacitySearch, SearchSettings, Stopped};

const TTFT_MS: f64 = 20.0;
const ITL_MS: f64 = 2.0;
const TOKENS: u32 = 16;
const BATCH: u32 = 4;

/// One step: `rate` req/s for about two seconds (constant arrivals, so the load is
/// the rate itself); returns (met the SLO, measured).
fn step(url: &str, rate: f64, slo_e2e_ms: f64) -> (u64, u64) {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let requests = ((rate * 2.0).ceil() as u64).clamp(40, 400);
    let o = run_against(
        url,
        &out,
        &[
            "--rate",
            &rate.to_string(),
            "--arrival",
            "constant",
            "--requests",
            &requests.to_string(),
            "--max-tokens",
            &TOKENS.to_string(),
            "--ignore-eos",
            "--prompt-tokens",
            "8",
            "--max-error-rate",
            "1",
        ],
    );
    assert!(
        matches!(o.status.code(), Some(0 | 4)),
        "{}",
        stderr(&o)
    );
    let rows = rows(&out);
    let measured: Vec<_> = rows.iter().filter(|r| !r.warmup).collect();
    // E2E from the scheduled send, as goodput counts it: queueing in the client
    // is the server's fault too.
    let good = measured
        .iter()
        .filter(|r| r.ok && r.end_ms - r.scheduled_ms <= slo_e2e_ms)
        .count();
    (good as u64, measured.len() as u64)
}

#[test]
fn the_search_finds_the_simulators_batch_knee_within_ten_percent() {
    let _serial = timing_sensitive();
    let server = Sim::start(SimConfig {
        ttft_ms: TTFT_MS,
        itl_ms: ITL_MS,
        batch_size: BATCH,
        ..SimConfig::default()
    });
    let e2e_ms = TTFT_MS + f64::from(TOKENS - 1) * ITL_MS;
    let knee = f64::from(BATCH) / (e2e_ms / 1000.0);
    let mut search = CapacitySearch::new(SearchSettings {
        start: knee / 4.0 * 1.1,
        attain: 0.9,
        tolerance: 0.05,
        max_steps: 12,
    });
    let mut log = Vec::new();
    while let Some(rate) = search.next_rate() {
        let (good, total) = step(&server.url(), rate, 1.5 * e2e_ms);
        let verdict = search.record(rate, good, total);
        log.push(format!("{rate:.1} req/s: {good}/{total} {verdict:?}"));
    }
    let found = search.result();
    let rate = found.rate.unwrap_or(0.0);
    assert!(
        (rate / knee - 1.0).abs() <= 0.10,
        "found {rate:.1} req/s, the knee is {knee:.1} ({:?}):\n{}",
        found.stopped,
        log.join("\n")
    );
    assert_ne!(found.stopped, Stopped::MaxSteps, "{}", log.join("\n"));
    eprintln!("knee {knee:.1} req/s, found {rate:.1}:\n{}", log.join("\n"));
}
