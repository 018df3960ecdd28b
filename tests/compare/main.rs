//! End to end over loopback: bless a baseline against the simulated server, then
//! judge an unchanged run (exit 0), a run with 20% slower TTFT (exit 1, named in the
//! Markdown), a run with another model (exit 3), and a corrupted or too-new baseline
//! (a clear error, nothing overwritten). The real binary is run as a user would.
//!
//! One test binary, grouped by feature: [`gate`] (bless, then judge unchanged,
//! slower and other-model runs; broken baselines), [`prefix_cache`] (the salt keeps
//! a warm cache from passing for a regression), [`trials`] (zero statistics,
//! outlier trials, `--max-trials`) and [`append`] (multi-run baselines).

#[path = "../common/mod.rs"]
mod common;

mod append;
mod gate;
mod prefix_cache;
mod trials;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use llm_bench::compare::baseline;
use llm_bench::compare::verdict::{Comparison, Outcome, Status, Verdict};
use llm_bench::sim::SimConfig;

const TTFT_MS: f64 = 60.0;

fn sim(ttft_ms: f64) -> Sim {
    Sim::start(SimConfig {
        ttft_ms,
        itl_ms: 5.0,
        ..SimConfig::default()
    })
}

/// A config folder whose one target points at `url`. Only TTFT keeps a tight
/// threshold: the other latencies sum many timer sleeps, which a loaded CI machine
/// stretches, and this test is about TTFT.
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
        "default: sim-model\nmodels:\n  sim-model: { max_tokens: 8 }\n  other-model: { max_tokens: 8 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("workloads.yaml"),
        "thresholds:\n  tpot: { relative: 0.5 }\n  itl: { relative: 0.5 }\n  e2e: { relative: 0.5 }\n  \
         throughput: { relative: 0.5 }\n\
         prompts:\n  short: { text: \"Say hello.\" }\n\
         scenarios:\n  chat:\n    prompt: short\n    concurrency: 4\n    requests: 16\n    ignore_eos: true\n    \
         thresholds:\n      ttft: { relative: 0.08 }\n",
    )
    .unwrap();
    dir
}

struct Bench {
    tmp: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        Bench {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn baselines(&self) -> PathBuf {
        self.tmp.path().join("baselines")
    }

    fn baseline_file(&self) -> PathBuf {
        self.baselines().join("local").join("chat.json")
    }

    /// `llm-bench run` against `url` into `out`, with extra flags.
    fn run(&self, url: &str, out: &str, args: &[&str]) -> (Output, PathBuf) {
        let config = config_dir(&self.tmp.path().join(out), url);
        let out_dir = self.tmp.path().join(out).join("results");
        let o = bin()
            .env_remove("LLM_BENCH_BLESS")
            .env("LLM_BENCH_BLESSED_BY", "e2e-test")
            .args(["run", "--config-dir"])
            .arg(&config)
            .arg("--out")
            .arg(&out_dir)
            .arg("--baseline-dir")
            .arg(self.baselines())
            .args(if args.contains(&"--trials") {
                &[][..]
            } else {
                &["--trials", "3"][..]
            })
            .args(args)
            .output()
            .unwrap();
        (o, out_dir)
    }

    fn cli(&self, args: &[&str]) -> Output {
        bin()
            .env_remove("LLM_BENCH_BLESS")
            .env("LLM_BENCH_BLESSED_BY", "e2e-test")
            .args(args)
            .output()
            .unwrap()
    }
}

/// Checks a baseline file against the committed JSON Schema.
fn assert_valid(text: &str) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schemas/baseline.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: serde_json::Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut broken = instance.clone();
    broken["trials"][0]["samples"]["error_kind"][0] = "exploded".into();
    assert!(
        !validator.is_valid(&broken),
        "the schema checks error kinds"
    );
}

fn comparison(dir: &Path) -> Comparison {
    serde_json::from_str(&std::fs::read_to_string(dir.join("comparison.json")).unwrap()).unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn both(o: &Output) -> String {
    format!("--- stdout\n{}\n--- stderr\n{}", stdout(o), stderr(o))
}

fn metric<'a>(c: &'a Comparison, key: &str) -> &'a llm_bench::compare::verdict::MetricComparison {
    c.scenarios[0]
        .metrics
        .iter()
        .find(|m| m.metric.key() == key)
        .unwrap_or_else(|| panic!("no {key} in {c:?}"))
}
