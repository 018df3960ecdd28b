//! A `capacity:` search of a closed loop's concurrency against the simulator,
//! whose knee in concurrency follows from its timing model (`sim::timing`).
//!
//! A closed loop of N workers keeps N requests active. Up to `batch_size` they run
//! at full speed; beyond it every TTFT and inter-token gap slows by
//! N / batch_size, so a request's E2E is the unloaded E2E × max(1, N / batch).
//! An E2E SLO of `SLO_SLACK` × the unloaded E2E is then met while
//! N ≤ SLO_SLACK × batch: with a batch of 4 and a slack of 2.6, up to 10 in
//! flight (E2E 2.5×, 4% under the SLO) and not 11 (2.75×, 6% over).

mod common;

use common::*;
use llm_bench::sim::SimConfig;

const TTFT_MS: f64 = 40.0;
const ITL_MS: f64 = 4.0;
const TOKENS: u32 = 16;
const BATCH: u32 = 4;
const SLO_SLACK: f64 = 2.6;
const ATTAIN: f64 = 0.75;

#[test]
fn a_concurrency_search_finds_the_simulators_knee() {
    let _serial = timing_sensitive();
    let server = Sim::start(SimConfig {
        ttft_ms: TTFT_MS,
        itl_ms: ITL_MS,
        batch_size: BATCH,
        ..SimConfig::default()
    });
    let e2e_ms = TTFT_MS + f64::from(TOKENS - 1) * ITL_MS;
    let knee = (SLO_SLACK * f64::from(BATCH)).floor();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("configs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("targets.yaml"),
        format!(
            "default: local\ntargets:\n  local:\n    base_url: {}\n    api: chat\n",
            server.url()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("models.yaml"),
        "default: sim-model\nmodels:\n  sim-model: { max_tokens: 16 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("workloads.yaml"),
        format!(
            "prompts:\n  p: {{ synthetic_tokens: 8 }}\n\
             scenarios:\n  cap:\n    prompt: p\n    concurrency: 2\n    duration: 2s\n    \
             max_tokens: {TOKENS}\n    ignore_eos: true\n    max_error_rate: 1\n    \
             slo: {{ e2e_ms: {slo} }}\n    capacity: {{ attain: {ATTAIN}, max_steps: 12 }}\n",
            slo = SLO_SLACK * e2e_ms,
        ),
    )
    .unwrap();
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
    assert!(validator.is_valid(&found), "{found:#}");
    let search = &found["searches"][0];
    assert_eq!(search["knob"], "concurrency");
    let value = search["capacity_rate"].as_f64().unwrap();
    // Within 10%, or ±1 when that is less than one worker.
    assert!(
        (value - knee).abs() <= (knee * 0.10).max(1.0),
        "found {value}, the knee is {knee}: {search:#}\n{err}"
    );
    assert_eq!(search["stopped"], "converged", "{search:#}");
    // Every step ran a closed loop at a whole concurrency, named after it.
    let s = summary(&out);
    let steps = search["steps"].as_array().unwrap();
    assert_eq!(s.scenarios.len(), steps.len());
    for (step, scenario) in steps.iter().zip(&s.scenarios) {
        let n = step["rate"].as_f64().unwrap();
        assert_eq!(n.fract(), 0.0);
        assert_eq!(scenario.name, format!("cap.c{n}"));
        assert_eq!(
            scenario.spec.load,
            llm_bench::manifest::LoadSpec::Closed {
                concurrency: n as u32
            }
        );
    }
    assert!(err.contains("in flight with 75% of requests"), "{err}");
}
