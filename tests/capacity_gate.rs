//! Capacity at SLO as a gated metric, end to end: a `capacity:` run blessed
//! against the simulator, then compared with a run against a simulator with a
//! smaller batch (its knee, `batch_size / E2E`, falls by a quarter: exit 1 and
//! "capacity at SLO fell") and with a run against the same simulator (exit 0,
//! even under `--strict`: the steps, whose rates differ from run to run, are not
//! compared as scenarios of their own).

mod common;

use std::path::{Path, PathBuf};

use common::*;
use llm_bench::sim::SimConfig;

const TTFT_MS: f64 = 20.0;
const ITL_MS: f64 = 2.0;
const TOKENS: u32 = 16;
/// As in tests/capacity_search.rs: room below the knee for a loaded machine.
const SLO_SLACK: f64 = 2.0;
const ATTAIN: f64 = 0.75;

fn e2e_ms() -> f64 {
    TTFT_MS + f64::from(TOKENS - 1) * ITL_MS
}

fn knee(batch: u32) -> f64 {
    f64::from(batch) / (e2e_ms() / 1000.0)
}

fn sim(batch: u32) -> Sim {
    Sim::start(SimConfig {
        ttft_ms: TTFT_MS,
        itl_ms: ITL_MS,
        batch_size: batch,
        ..SimConfig::default()
    })
}

/// A config folder whose target is `url`, with one capacity scenario `cap`
/// starting well below the knee of a batch of 4. A fall of 15% counts: a client
/// stalled by a busy machine can find the same server's knee 10% lower, where
/// the smaller batch's is 25% lower.
fn config_dir(root: &Path, url: &str) -> PathBuf {
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
    let workloads = format!(
        "prompts:\n  p: {{ synthetic_tokens: 8 }}\n\
         scenarios:\n  cap:\n    prompt: p\n    rate: {start}\n    arrival: constant\n    \
         duration: 1500ms\n    max_tokens: {TOKENS}\n    ignore_eos: true\n    max_error_rate: 1\n    \
         slo: {{ e2e_ms: {slo} }}\n    capacity: {{ attain: {ATTAIN}, tolerance: 0.06, max_steps: 12 }}\n    \
         thresholds: {{ capacity: {{ relative: 0.15 }} }}\n",
        start = knee(4) / 4.0 * 1.1,
        slo = SLO_SLACK * e2e_ms(),
    );
    std::fs::write(dir.join("workloads.yaml"), workloads).unwrap();
    dir
}

/// `llm-bench run` of the capacity scenario against a simulator with `batch`,
/// with `args` (`--bless ...`, `--compare ...`); returns (exit code, stderr,
/// results folder).
fn run(root: &Path, name: &str, batch: u32, args: &[&str]) -> (i32, String, PathBuf) {
    let server = sim(batch);
    let dir = config_dir(&root.join(name), &server.url());
    let out = root.join(name).join("results");
    let o = bin()
        .args(["run", "--config-dir"])
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .arg("--baseline-dir")
        .arg(root.join("baselines"))
        .args(args)
        .output()
        .unwrap();
    let printed = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    (o.status.code().unwrap_or(-1), printed, out)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn capacity_at_slo_gates_a_smaller_batch_and_passes_the_same_server() {
    let _serial = timing_sensitive();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();

    let (code, out, _) = run(root, "blessed", 4, &["--bless", "--reason", "first"]);
    assert_eq!(code, 0, "{out}");
    let blessed_path = root.join("baselines/local/cap.capacity.json");
    let blessed = json(&blessed_path);
    let schema =
        json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/baseline-capacity.schema.json"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&blessed)
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    let base_rate = blessed["search"]["capacity_rate"].as_f64().unwrap();
    assert!(
        (base_rate / knee(4) - 1.0).abs() <= 0.10,
        "blessed {base_rate}, knee {}: {out}",
        knee(4)
    );
    assert_eq!(blessed["reason"], "first");
    // Only the search's answer is blessed: no step has a baseline of its own.
    let files: Vec<String> = std::fs::read_dir(root.join("baselines/local"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["cap.capacity.json"], "{out}");

    // A batch of 3: the knee falls by a quarter.
    let (code, out, results) = run(root, "smaller", 3, &["--compare"]);
    assert_eq!(code, 1, "{out}");
    let comparison = json(&results.join("comparison.json"));
    let scenarios = comparison["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 1, "{comparison:#}");
    let row = &scenarios[0]["metrics"][0];
    assert_eq!(row["metric"], "capacity_rate");
    assert_eq!(row["verdict"], "regression", "{comparison:#}");
    let fell = 1.0 - row["current"].as_f64().unwrap() / row["baseline"].as_f64().unwrap();
    assert!((0.15..=0.35).contains(&fell), "fell {fell}: {comparison:#}");
    let md = std::fs::read_to_string(results.join("comparison.md")).unwrap();
    assert!(md.contains("| Capacity at SLO |"), "{md}");
    let said = format!("capacity at SLO fell {:.1}%", fell * 100.0);
    assert!(md.contains(&said), "{said} not in\n{md}");
    assert!(out.contains(&said), "{said} not in\n{out}");
    eprintln!("smaller batch: {}", row["note"]);

    // The same server: its steps ran at other rates than the blessed run's, yet
    // nothing is new under --strict, and nothing fell.
    let (code, out, results) = run(root, "same", 4, &["--compare", "--strict"]);
    let comparison = json(&results.join("comparison.json"));
    assert_eq!(code, 0, "{out}\n{comparison:#}");
    assert_eq!(comparison["totals"]["new"], 0);
    assert_eq!(comparison["scenarios"].as_array().unwrap().len(), 1);
    assert_ne!(
        comparison["scenarios"][0]["metrics"][0]["verdict"],
        "regression"
    );
    eprintln!(
        "same server: {}",
        comparison["scenarios"][0]["metrics"][0]["note"]
    );
}
