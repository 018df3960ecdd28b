//! Multi-turn conversations end to end against the built-in simulator: the
//! history each turn carried (from the server's request log), the think time
//! between turns, per-turn metrics, and TTFT by turn under the simulator's
//! prefill cost with and without its prefix cache.
//!
//! One test binary, grouped by feature: [`history`] (what each turn carries and
//! its think time, completions refused, a failed turn) and [`timing`] (TTFT by
//! turn under prefill cost and prefix cache, open-loop starts).

#[path = "../common/mod.rs"]
mod common;

mod history;
mod timing;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use llm_bench::config::{Conversation, Lengths};
use llm_bench::record::RequestRow;
use llm_bench::sim::SimConfig;
use llm_bench::workload::conversation::ConversationPlan;
use llm_bench::workload::PromptGenerator;
use serde_json::Value;

/// A config folder with one chat (or completions) target at `url`.
fn config(dir: &Path, url: &str, api: &str, workloads: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("targets.yaml"),
        format!("default: t\ntargets:\n  t:\n    base_url: {url}\n    api: {api}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("models.yaml"),
        "default: sim-model\nmodels:\n  sim-model:\n    max_tokens: 8\n",
    )
    .unwrap();
    std::fs::write(dir.join("workloads.yaml"), workloads).unwrap();
}

/// Runs the config folder's only scenario; returns the results folder and the
/// server's request log by request id.
fn run(tmp: &Path, sim: SimConfig, workloads: &str) -> (PathBuf, HashMap<String, Value>) {
    let log = tmp.join("sim-requests.jsonl");
    let server = Sim::start_logged(sim, Some(&log));
    let dir = tmp.join("config");
    config(&dir, &server.url(), "chat", workloads);
    let out = tmp.join("out");
    let o = bin()
        .args(["run", "--config-dir"])
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    drop(server);
    let served = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| (e["request_id"].as_str().unwrap().to_string(), e))
        .collect();
    (out, served)
}

/// Rows by conversation, each in turn order.
fn conversations(rows: &[RequestRow]) -> BTreeMap<u64, Vec<&RequestRow>> {
    let mut by: BTreeMap<u64, Vec<&RequestRow>> = BTreeMap::new();
    for r in rows {
        by.entry(r.conversation.expect("every row is a turn"))
            .or_default()
            .push(r);
    }
    for turns in by.values_mut() {
        turns.sort_by_key(|r| r.turn);
    }
    by
}

/// What the simulator streams for `n` tokens.
fn sim_text(n: u64) -> String {
    let words = [
        " the", " sim", " says", " hello", " to", " every", " bench", " run",
    ];
    (0..n as usize).map(|i| words[i % words.len()]).collect()
}
