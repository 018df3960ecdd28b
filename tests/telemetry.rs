//! Telemetry without a GPU: the Prometheus parser and summariser on hand-written
//! vLLM, SGLang and DCGM exposition text, the simulated server's `/metrics` scraped
//! during a real run (its counters must move by exactly what llm-bench recorded),
//! GPU samples joined to the measured window, and the absent-NVML path.

mod common;

use common::*;
use llm_bench::compare::metric::MetricId;
use llm_bench::sim::SimConfig;
use llm_bench::telemetry::energy::{EnergyMethod, GpuAccumulator};
use llm_bench::telemetry::prometheus::{self, ServerAccumulator};
use llm_bench::telemetry::{GpuSample, GpuSource, Scrape, ScrapeSource, TelemetryRecord};

const VLLM_BEFORE: &str = include_str!("fixtures/prometheus/vllm_before.prom");
const VLLM_AFTER: &str = include_str!("fixtures/prometheus/vllm_after.prom");
const SGLANG_BEFORE: &str = include_str!("fixtures/prometheus/sglang_before.prom");
const SGLANG_AFTER: &str = include_str!("fixtures/prometheus/sglang_after.prom");
const DCGM_BEFORE: &str = include_str!("fixtures/prometheus/dcgm_before.prom");
const DCGM_AFTER: &str = include_str!("fixtures/prometheus/dcgm_after.prom");

fn scrape(source: ScrapeSource, t_ms: f64, text: &str) -> Scrape {
    Scrape {
        scenario: "s".into(),
        trial: 0,
        t_ms,
        source,
        samples: prometheus::parse(text).unwrap(),
        error: None,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// 64 requests between the two vLLM pages: every known series moves as written.
#[test]
fn vllm_exposition_summarised() {
    let before = scrape(ScrapeSource::Server, 0.0, VLLM_BEFORE);
    let after = scrape(ScrapeSource::Server, 10_000.0, VLLM_AFTER);
    let s = ServerAccumulator::from_scrapes(&[&after, &before])
        .finish()
        .unwrap();
    assert_eq!(s.engine.as_deref(), Some("vllm"));
    assert_eq!((s.scrapes, s.failed_scrapes), (2, 0));
    // request_success_total has three label sets; only `length` moved.
    assert_eq!(s.requests_finished, Some(64.0));
    assert_eq!(s.generation_tokens, Some(64.0 * 128.0));
    assert_eq!(s.prompt_tokens, Some(64.0 * 256.0));
    assert_eq!(s.preemptions, Some(2.0));
    assert_eq!(s.prefix_cache_hit_rate, Some(4096.0 / 16384.0));
    let running = s.requests_running.unwrap();
    assert_eq!((running.mean, running.max), (1.5, 3.0));
    assert!(close(s.kv_cache_usage.unwrap().max, 0.0125));
    // TTFT buckets moved by [.., 18 ≤ 60 ms, 47 ≤ 80 ms, 56 ≤ 100 ms, 64 ≤ 250 ms]:
    // the median (rank 32) is 60 + 20 × (32 − 18)/(47 − 18) ms.
    let ttft = s.ttft_ms.unwrap();
    assert_eq!(ttft.count, 64.0);
    assert!(close(ttft.p50, 60.0 + 20.0 * 14.0 / 29.0), "{ttft:?}");
    assert!(close(ttft.mean, (4.43 - 0.27) / 64.0 * 1000.0), "{ttft:?}");
    // ITL comes from inter_token_latency_seconds, not the deprecated duplicate.
    assert_eq!(s.itl_ms.unwrap().count, 8128.0);
    assert_eq!(s.e2e_ms.unwrap().count, 64.0);
}

/// SGLang's names, its rank labels and the multiprocess layout (sums first, no
/// `_created`): 32 requests between the pages.
#[test]
fn sglang_exposition_summarised() {
    let before = scrape(ScrapeSource::Server, 0.0, SGLANG_BEFORE);
    let after = scrape(ScrapeSource::Server, 5_000.0, SGLANG_AFTER);
    let s = ServerAccumulator::from_scrapes(&[&before, &after])
        .finish()
        .unwrap();
    assert_eq!(s.engine.as_deref(), Some("sglang"));
    assert_eq!(s.requests_finished, Some(32.0));
    assert_eq!(s.generation_tokens, Some(32.0 * 256.0));
    assert_eq!(s.prompt_tokens, Some(32.0 * 512.0));
    assert_eq!(s.preemptions, None);
    let kv = s.kv_cache_usage.unwrap();
    assert!(close(kv.mean, 0.14) && close(kv.max, 0.28), "{kv:?}");
    assert!(close(
        s.prefix_cache_hit_rate.unwrap(),
        0.007507552643049313 / 2.0
    ));
    assert_eq!(s.requests_waiting.unwrap().max, 2.0);
    assert_eq!(s.ttft_ms.unwrap().count, 32.0);
    let itl = s.itl_ms.unwrap();
    assert_eq!(itl.count, 8160.0);
    // 3000 of 8160 gaps are ≤ 10 ms, all ≤ 15 ms: the median lies in (10, 15].
    assert!(itl.p50 > 10.0 && itl.p50 <= 15.0, "{itl:?}");
}

/// A scrape that failed counts as failed and does not break the deltas.
#[test]
fn failed_scrapes_are_counted_not_fatal() {
    let before = scrape(ScrapeSource::Server, 0.0, VLLM_BEFORE);
    let failed = Scrape {
        error: Some("HTTP 503".into()),
        samples: Vec::new(),
        ..scrape(ScrapeSource::Server, 1_000.0, VLLM_BEFORE)
    };
    let after = scrape(ScrapeSource::Server, 2_000.0, VLLM_AFTER);
    let s = ServerAccumulator::from_scrapes(&[&before, &failed, &after])
        .finish()
        .unwrap();
    assert_eq!((s.scrapes, s.failed_scrapes), (2, 1));
    assert_eq!(s.requests_finished, Some(64.0));
}

/// Two DCGM pages 10 s apart: GPU 0 used 4 kJ, GPU 1 1 kJ, from the counter; the
/// power gauges integrate to the same within their drift.
#[test]
fn dcgm_exporter_as_a_gpu_source() {
    let before = scrape(ScrapeSource::Dcgm, 0.0, DCGM_BEFORE);
    let after = scrape(ScrapeSource::Dcgm, 10_000.0, DCGM_AFTER);
    let samples: Vec<GpuSample> = [&before, &after]
        .iter()
        .flat_map(|s| prometheus::dcgm_gpu_samples(s))
        .collect();
    assert_eq!(samples.len(), 4);
    let refs: Vec<&GpuSample> = samples.iter().collect();
    let m = GpuAccumulator::from_samples(GpuSource::Dcgm, &refs, Some((0.0, 10_000.0)))
        .unwrap()
        .finish(10_000, None);
    assert_eq!(m.gpus, 2);
    assert_eq!(m.energy_method, Some(EnergyMethod::Counter));
    assert!(close(m.energy_j.unwrap(), 5000.0));
    assert!(close(m.joules_per_output_token.unwrap(), 0.5));
    let integrated = m.energy_integrated_j.unwrap();
    assert!((integrated / 5000.0 - 1.0).abs() < 0.01, "{integrated}");
    assert_eq!(m.gpu_util_mean_pct, Some((97.0 + 99.0) / 4.0));
    let gpus = prometheus::dcgm_gpus(&after.samples);
    assert_eq!(gpus.len(), 2);
    assert_eq!(gpus[0].name, "NVIDIA H100 80GB HBM3");
    assert_eq!(gpus[0].memory_total_mib, Some(81559));
}

fn sim() -> Sim {
    Sim::start(SimConfig {
        ttft_ms: 5.0,
        itl_ms: 2.0,
        ..SimConfig::default()
    })
}

fn records(dir: &std::path::Path) -> Vec<TelemetryRecord> {
    std::fs::read_to_string(dir.join("telemetry.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The simulator's `/metrics` scraped during a real run moves by exactly the
/// requests and tokens llm-bench recorded, per trial and pooled, and the scrapes
/// bracket every request.
#[test]
fn sim_metrics_deltas_match_recorded_requests() {
    let server = sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    run_ok(
        &server.url(),
        &out,
        &[
            "--concurrency",
            "4",
            "--requests",
            "24",
            "--max-tokens",
            "16",
            "--prompt-tokens",
            "32",
            "--trials",
            "2",
            "--scrape-interval",
            "50ms",
        ],
    );
    let s = summary(&out);
    let scenario = &s.scenarios[0];
    assert_eq!(scenario.trials.len(), 2);
    for m in scenario.trials.iter().chain([&scenario.metrics]) {
        let server_metrics = m
            .telemetry
            .as_ref()
            .and_then(|t| t.server.as_ref())
            .unwrap_or_else(|| panic!("no server telemetry in {m:?}"));
        assert_eq!(server_metrics.engine.as_deref(), Some("vllm"));
        assert_eq!(
            server_metrics.requests_finished,
            Some(m.requests.succeeded as f64)
        );
        assert_eq!(
            server_metrics.generation_tokens,
            Some(m.output_tokens_total as f64)
        );
        assert_eq!(
            server_metrics.prompt_tokens,
            Some(m.prompt_tokens_total as f64)
        );
        assert!(server_metrics.scrapes >= 2);
        assert_eq!(server_metrics.failed_scrapes, 0);
    }
    assert_eq!(scenario.metrics.requests.succeeded, 48);
    assert_eq!(server.stats().requests_ok, 48);
    // Scrapes bracket each trial's requests on the rows' clock.
    let rows = rows(&out);
    let telemetry = records(&out);
    for trial in 0..2 {
        let t: Vec<f64> = telemetry
            .iter()
            .filter(|r| r.trial() == trial)
            .map(|r| match r {
                TelemetryRecord::Scrape(s) => s.t_ms,
                TelemetryRecord::Gpu(g) => g.t_ms,
            })
            .collect();
        let first_send = rows
            .iter()
            .filter(|r| r.trial == trial)
            .map(|r| r.start_ms)
            .fold(f64::MAX, f64::min);
        let last_end = rows
            .iter()
            .filter(|r| r.trial == trial)
            .map(|r| r.end_ms)
            .fold(f64::MIN, f64::max);
        assert!(
            t.iter().any(|&x| x <= first_send),
            "no scrape before the first send"
        );
        assert!(
            t.iter().any(|&x| x >= last_end),
            "no scrape after the last response"
        );
    }
    // The environment names the server.
    let env = s.run.environment.as_ref().unwrap();
    let info = env.server.as_ref().unwrap();
    assert_eq!(info.engine.as_deref(), Some("llm-bench-sim"));
    assert_eq!(info.models, vec!["sim-model".to_string()]);
    validated_summary(&out);
}

/// GPU samples written into a results folder are joined to each trial's measured
/// window by `llm-bench report`: a constant 250 W gives 250 W × window / tokens
/// joules per token, the comparison candidates carry it, and the report shows it.
#[test]
fn gpu_samples_join_the_measured_window() {
    let server = sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    run_ok(
        &server.url(),
        &out,
        &[
            "--concurrency",
            "2",
            "--requests",
            "12",
            "--max-tokens",
            "8",
            "--no-telemetry",
        ],
    );
    let before = summary(&out);
    let m = &before.scenarios[0].metrics;
    assert!(m.telemetry.is_none(), "telemetry off: {:?}", m.telemetry);
    // A GPU at 250 W every 50 ms from before the trial to after it, with a counter.
    let rows = rows(&out);
    let end = rows.iter().map(|r| r.end_ms).fold(0.0, f64::max) + 100.0;
    let mut lines = String::new();
    let mut t = -50.0;
    while t <= end {
        let record = TelemetryRecord::Gpu(GpuSample {
            scenario: "adhoc".into(),
            trial: 0,
            t_ms: t,
            gpu: 0,
            power_w: Some(250.0),
            energy_mj: Some(7e9 + 250.0 * t),
            gpu_util_pct: Some(80.0),
            memory_used_mib: Some(20_000.0),
            sm_clock_mhz: Some(1755.0),
            temperature_c: Some(50.0),
        });
        lines.push_str(&serde_json::to_string(&record).unwrap());
        lines.push('\n');
        t += 50.0;
    }
    std::fs::write(out.join("telemetry.jsonl"), lines).unwrap();
    let o = bin().arg("report").arg(&out).output().unwrap();
    assert_success(&o);
    let after = summary(&out);
    let m = &after.scenarios[0].metrics;
    let gpu = m.telemetry.as_ref().unwrap().gpu.as_ref().unwrap();
    let expected_j = 250.0 * m.duration_s;
    assert!(close(gpu.energy_j.unwrap(), expected_j), "{gpu:?}");
    assert!(close(gpu.energy_integrated_j.unwrap(), expected_j));
    assert!(close(gpu.power_mean_w.unwrap(), 250.0));
    assert!(close(
        gpu.joules_per_output_token.unwrap(),
        expected_j / m.output_tokens_total as f64
    ));
    assert_eq!(gpu.gpu_util_mean_pct, Some(80.0));
    // The comparison sees energy per token as a metric of each trial.
    let (_, candidates) = llm_bench::app::gate::candidates_from_dir(&out).unwrap();
    let stat = candidates[0].trials[0].stats[&MetricId::JoulesPerOutputToken];
    assert!(close(stat, gpu.joules_per_output_token.unwrap()));
    // CSV, Markdown and HTML show it.
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("joules_per_output_token"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("J/output token"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("GPU power over time"));
    validated_summary(&out);
}

/// No NVML library: one line says so, the run goes on and records why.
#[test]
fn absent_nvml_is_one_line_and_the_run_goes_on() {
    let server = sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let o = run_command(&server.url(), &out)
        .env(
            "LLM_BENCH_NVML_LIB",
            tmp.path().join("no-libnvidia-ml.so.1"),
        )
        .args(["--requests", "4", "--max-tokens", "4", "--gpus", "0"])
        .output()
        .unwrap();
    assert_success(&o);
    let err = stderr(&o);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("NVIDIA GPU") || l.contains("NVML"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("no NVIDIA GPU visible (NVML: ")
            && lines[0].ends_with("); GPU power and energy are not measured"),
        "{}",
        lines[0]
    );
    let s = summary(&out);
    let env = s.run.environment.as_ref().unwrap();
    assert!(env.gpus.is_empty());
    assert!(env.gpu_note.as_deref().unwrap().contains("NVML"));
    let t = s.scenarios[0].metrics.telemetry.as_ref().unwrap();
    assert!(t.gpu.is_none() && t.server.is_some());
}

/// `--no-telemetry` reads nothing and writes no telemetry; an unreachable metrics
/// endpoint is one line and the run goes on.
#[test]
fn telemetry_can_be_off_or_unreachable() {
    let server = sim();
    let tmp = tempfile::tempdir().unwrap();
    let off = tmp.path().join("off");
    let o = run_ok(&server.url(), &off, &["--requests", "4", "--no-telemetry"]);
    assert!(!off.join("telemetry.jsonl").exists());
    let s = summary(&off);
    assert!(s.scenarios[0].metrics.telemetry.is_none());
    assert!(!stderr(&o).contains("NVML"), "{}", stderr(&o));

    let unreachable = tmp.path().join("unreachable");
    let o = run_ok(
        &server.url(),
        &unreachable,
        &[
            "--requests",
            "4",
            "--metrics-url",
            "http://127.0.0.1:9/metrics",
        ],
    );
    assert!(
        stderr(&o).contains("server metrics not collected: http://127.0.0.1:9/metrics"),
        "{}",
        stderr(&o)
    );
    let s = summary(&unreachable);
    assert!(s.scenarios[0]
        .metrics
        .telemetry
        .as_ref()
        .is_none_or(|t| t.server.is_none()));
}
