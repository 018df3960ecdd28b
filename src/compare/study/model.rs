//! The server the verdict study measures: closed-loop trials whose speed drifts
//! from run to run and wobbles a little from trial to trial.
//!
//! A run draws a speed factor exp(N(0, `between_run_sd`)); each of its trials
//! multiplies it by exp(N(0, `within_run_sd`), [`WITHIN_RUN_SD`] unless a case
//! says otherwise); each of a trial's [`REQUESTS`]
//! requests has a TTFT of 50 ms × speed × the injected change × exp(N(0, 10%)) and
//! [`TOKENS`] − 1 inter-token gaps of 5 ms × speed × U(1, 1.05), on
//! [`CONCURRENCY`] closed-loop slots. The rows go through the code a real run's
//! rows go through (summary → candidate baseline), so the statistics the gate sees
//! are computed exactly as in production.

use rand::rngs::StdRng;
use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::compare::baseline::Baseline;
use crate::config::thresholds::Thresholds;
use crate::manifest::{LoadSpec, Manifest, RunMeta, ScenarioSpec, SloSpec};
use crate::record::{RequestRow, TokenSource};

pub const REQUESTS: u64 = 200;
pub const CONCURRENCY: usize = 8;
pub const TOKENS: u64 = 16;
/// Trial-to-trial SD of the speed within one run (log scale), by default.
pub const WITHIN_RUN_SD: f64 = 0.01;
/// TTFT of the unchanged server, ms: large enough that the 2 ms absolute floor is
/// below 5%, so δ is the relative 5%.
pub const TTFT_MS: f64 = 50.0;

/// One run of the modelled server.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// exp(N(0, between-run SD)), drawn once per run.
    pub speed: f64,
    /// Multiplies TTFT only: 1.10 is a 10% TTFT regression.
    pub ttft_factor: f64,
    /// Trial-to-trial SD of the speed within the run (log scale).
    pub within_run_sd: f64,
}

impl Run {
    pub fn draw(
        rng: &mut StdRng,
        between_run_sd: f64,
        within_run_sd: f64,
        ttft_factor: f64,
    ) -> Run {
        let z: f64 = Normal::new(0.0, 1.0).expect("valid").sample(rng);
        Run {
            speed: (between_run_sd * z).exp(),
            ttft_factor,
            within_run_sd,
        }
    }

    /// `trials` trials of this run as one candidate baseline; a trial listed in
    /// `outliers` runs 1.6× slower (a restart, a noisy neighbour).
    pub fn measure(
        &self,
        rng: &mut StdRng,
        trials: u32,
        outliers: &[u32],
        thresholds: &Thresholds,
    ) -> Baseline {
        self.measure_planned(rng, trials, outliers, thresholds, None)
    }

    /// [`Run::measure`], recorded as a `--max-trials` run planned for
    /// `planned.0` trials and allowed up to `planned.1`.
    pub fn measure_planned(
        &self,
        rng: &mut StdRng,
        trials: u32,
        outliers: &[u32],
        thresholds: &Thresholds,
        planned: Option<(u32, u32)>,
    ) -> Baseline {
        let rows: Vec<RequestRow> = (0..trials)
            .flat_map(|trial| {
                let slow = if outliers.contains(&trial) { 1.6 } else { 1.0 };
                let z: f64 = Normal::new(0.0, 1.0).expect("valid").sample(rng);
                let speed = self.speed * (self.within_run_sd * z).exp() * slow;
                trial_rows(rng, trial, speed, self.ttft_factor)
            })
            .collect();
        let mut manifest = manifest(thresholds);
        if let Some((planned, max)) = planned {
            manifest.scenarios[0].trials = planned;
            manifest.scenarios[0].max_trials = Some(max);
        }
        crate::compare::candidates(&manifest, &rows).remove(0)
    }
}

fn spec(thresholds: &Thresholds) -> ScenarioSpec {
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
        output_tokens: None,
        shared_prefix: None,
        tokenizer_sha256: None,
        approximate_lengths: None,
        prefix_cache: Default::default(),
        trials: 1,
        max_trials: None,
        slo: SloSpec::default(),
        max_error_rate: 0.05,
        thresholds: thresholds.clone(),
    }
}

fn manifest(thresholds: &Thresholds) -> Manifest {
    Manifest {
        schema_version: crate::manifest::SCHEMA_VERSION,
        run: RunMeta {
            id: "study".into(),
            tool_version: "0.0.0".into(),
            git_commit: None,
            target: "model".into(),
            base_url: "builtin:model".into(),
            api: "chat".into(),
            model: "model".into(),
            workload_hash: "w".into(),
            started_at: "2024-01-01T00:00:00Z".into(),
            ended_at: None,
            interrupted: false,
            interrupted_by: None,
            percentile_method: "linear".into(),
            environment: None,
            distribution: Default::default(),
        },
        scenarios: vec![spec(thresholds)],
    }
}

/// One trial's rows: a closed loop of [`CONCURRENCY`] slots, each request starting
/// when its slot's previous one ended.
fn trial_rows(rng: &mut StdRng, trial: u32, speed: f64, ttft_factor: f64) -> Vec<RequestRow> {
    let spread = Normal::new(0.0f64, 0.10).expect("valid");
    let mut slots = [0.0f64; CONCURRENCY];
    (0..REQUESTS)
        .map(|index| {
            let slot = (index as usize) % CONCURRENCY;
            let start = slots[slot];
            let ttft = TTFT_MS * speed * ttft_factor * spread.sample(rng).exp();
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
                requested_output_tokens: None,
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
                conversation: None,
                turn: None,
                first_token_wait_ms: None,
                client_stall: false,
            }
        })
        .collect()
}
