//! The capacity search (`workload::capacity`) against the simulator: each step is
//! a real open-loop run of the binary, and the search finds the simulator's batch
//! knee within 10%.
//!
//! The knee comes from the simulator's timing model (`sim::timing`): a request
//! takes `ttft + (tokens − 1) × itl` alone, and up to `batch_size` requests run at
//! full speed; beyond that each slows by `active / batch_size`. By Little's law an
//! open loop at rate λ keeps `λ × e2e` requests active, so the load saturates the
//! batch at λ* = batch_size / e2e; above it the queue, and with it every latency,
//! grows without bound. An SLO twice the unloaded E2E is met by (nearly) every
//! request below λ* and by ever fewer above it.

mod common;

use common::*;
use llm_bench::sim::SimConfig;
use llm_bench::workload::capacity::{CapacitySearch, Knob, SearchSettings, Stopped};

const TTFT_MS: f64 = 20.0;
const ITL_MS: f64 = 2.0;
const TOKENS: u32 = 16;
const BATCH: u32 = 4;
/// The SLO over the unloaded E2E: room for a loaded CI machine's late sends and
/// wake-ups below the knee, where above it the queue outgrows any fixed bound
/// within a step.
const SLO_SLACK: f64 = 2.0;
/// Below the knee a machine busy with other work can stall the client long enough
/// to miss the SLO for a tenth of a step; above it most requests miss it (under
/// a tenth at 10% over the knee), so a lower target keeps the knee as sharp.
const ATTAIN: f64 = 0.75;

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
    assert!(matches!(o.status.code(), Some(0 | 4)), "{}", stderr(&o));
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
        knob: Knob::Rate,
        start: knee / 4.0 * 1.1,
        attain: ATTAIN,
        tolerance: 0.05,
        max_steps: 12,
    });
    let mut log = Vec::new();
    while let Some(rate) = search.next_rate() {
        let (good, total) = step(&server.url(), rate, SLO_SLACK * e2e_ms);
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

/// A config folder whose target is `url` and whose workloads.yaml is `workloads`.
fn config_dir(root: &std::path::Path, url: &str, workloads: &str) -> std::path::PathBuf {
    let dir = root.join("configs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("targets.yaml"),
        format!("default: local\ntargets:\n  local:\n    base_url: {url}\n    api: chat\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("models.yaml"),
        "default: sim-model\nmodels:\n  sim-model: { max_tokens: 16 }\n",
    )
    .unwrap();
    std::fs::write(dir.join("workloads.yaml"), workloads).unwrap();
    dir
}

/// The same search as a `capacity:` scenario of `llm-bench run`: every step is a
/// scenario of the results, `capacity.json` holds the answer and its bracket, and
/// the answer is the knee within 10%.
#[test]
fn a_capacity_scenario_reports_the_knee_with_its_bracket() {
    let _serial = timing_sensitive();
    let server = Sim::start(SimConfig {
        ttft_ms: TTFT_MS,
        itl_ms: ITL_MS,
        batch_size: BATCH,
        ..SimConfig::default()
    });
    let e2e_ms = TTFT_MS + f64::from(TOKENS - 1) * ITL_MS;
    let knee = f64::from(BATCH) / (e2e_ms / 1000.0);
    let tmp = tempfile::tempdir().unwrap();
    let workloads = format!(
        "prompts:\n  p: {{ synthetic_tokens: 8 }}\n\
         scenarios:\n  cap:\n    prompt: p\n    rate: {start}\n    arrival: constant\n    \
         duration: 2s\n    max_tokens: {TOKENS}\n    ignore_eos: true\n    max_error_rate: 1\n    \
         slo: {{ e2e_ms: {slo} }}\n    capacity: {{ attain: {ATTAIN}, tolerance: 0.05, max_steps: 12 }}\n",
        start = knee / 4.0 * 1.1,
        slo = SLO_SLACK * e2e_ms,
    );
    let dir = config_dir(tmp.path(), &server.url(), &workloads);
    let out = out_dir(&tmp);
    let o = bin()
        .args(["run", "--config-dir"])
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(matches!(o.status.code(), Some(0 | 4)), "{err}");
    let found: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("capacity.json")).unwrap()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/capacity.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&found)
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    let search = &found["searches"][0];
    let rate = search["capacity_rate"].as_f64().unwrap();
    assert!(
        (rate / knee - 1.0).abs() <= 0.10,
        "found {rate} req/s, the knee is {knee}: {search:#}\n{err}"
    );
    let (lo, hi) = (search["lower_rate"].as_f64(), search["upper_rate"].as_f64());
    assert!(lo.unwrap() <= rate, "{search:#}");
    if let Some(hi) = hi {
        assert!(rate <= hi, "{search:#}");
    }
    assert!(err.contains("capacity at SLO of `cap`"), "{err}");
    // Every step is a scenario of the summary, with the goodput the search read.
    let steps = search["steps"].as_array().unwrap();
    let s = summary(&out);
    assert_eq!(s.scenarios.len(), steps.len());
    for (step, scenario) in steps.iter().zip(&s.scenarios) {
        assert_eq!(step["scenario"].as_str(), Some(scenario.name.as_str()));
        let goodput = scenario.metrics.goodput.as_ref().unwrap();
        assert_eq!(step["good"].as_u64(), Some(goodput.requests));
    }
    validated_summary(&out);
    // The HTML report charts the steps as a load sweep: goodput against load.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Throughput and goodput against load"));
}

/// `capacity:` needs an SLO and one start rate; both are named with file:line.
#[test]
fn a_capacity_scenario_without_slo_or_rate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let workloads = "prompts:\n  p: { text: hi }\n\
                     scenarios:\n  a:\n    prompt: p\n    rate: [1, 2]\n    requests: 4\n    \
                     capacity: { attain: 1.5 }\n";
    let dir = config_dir(tmp.path(), "http://127.0.0.1:9", workloads);
    let o = bin()
        .args(["validate", "--config-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains("workloads.yaml:8:25: scenarios.a.capacity.attain"),
        "{text}"
    );
    assert!(text.contains("needs one `rate: R`"), "{text}");
    assert!(text.contains("has none; add e.g. `slo:"), "{text}");
}
