//! Datasets end to end against the built-in simulator: the prompts and
//! `max_tokens` the server received (from its request log) are the dataset's
//! records, sampled as seeded, filtered by length, salted per request; bad files
//! stop `validate` and `run` with the file, the line or record, and the reason.
//!
//! One test binary, grouped by feature: [`records`] (what reaches the server, the
//! workload hash) and [`errors`] (bad files and empty filters stop `validate` and
//! `run`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/tokenized_config.rs"]
mod tokenized_config;

mod errors;
mod records;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::*;
use llm_bench::sim::SimConfig;
use serde_json::Value;
use tokenized_config::{config, tiny};

fn sim() -> SimConfig {
    SimConfig {
        ttft_ms: 1.0,
        itl_ms: 0.0,
        ..SimConfig::default()
    }
}

/// What one request sent: its prompt without the salt, and its `max_tokens`.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    salt: String,
    prompt: String,
    max_tokens: Option<u64>,
}

/// Runs the config in `dir`; returns what the server received, by request index.
fn run(tmp: &Path, dir: &Path, tokenizer: bool, workloads: &str) -> Vec<Sent> {
    let log = tmp.join("sim-requests.jsonl");
    let _ = std::fs::remove_file(&log);
    let server = Sim::start_logged(sim(), Some(&log));
    config(dir, &server.url(), tokenizer, workloads);
    let out = tmp.join("out");
    let _ = std::fs::remove_dir_all(&out);
    let o = bin()
        .args(["run", "--config-dir"])
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    drop(server);
    let served: HashMap<String, Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| (e["request_id"].as_str().unwrap().to_string(), e))
        .collect();
    let mut rows = rows(&out);
    rows.sort_by_key(|r| r.index);
    rows.iter()
        .map(|r| {
            let e = &served[r.request_id.as_deref().unwrap()];
            let prompt = e["prompt"].as_str().unwrap();
            let (salt, rest) = prompt.split_at(9);
            assert!(
                salt[..8].bytes().all(|b| b.is_ascii_hexdigit()) && salt.ends_with(' '),
                "each prompt starts with its salt: {prompt:?}"
            );
            Sent {
                salt: salt.to_string(),
                prompt: rest.to_string(),
                max_tokens: e["max_tokens"].as_u64(),
            }
        })
        .collect()
}

/// Twelve JSONL records: `record I` and I + 1 more words, asking for 2 + I % 5
/// output tokens; record 11 asks for none.
fn jsonl_records() -> (String, HashMap<String, Option<u64>>) {
    let mut text = String::new();
    let mut lengths = HashMap::new();
    for i in 0..12u64 {
        let prompt = format!("record {i}{}", " word".repeat(i as usize + 1));
        let output = (i < 11).then_some(2 + i % 5);
        let line = match output {
            Some(n) => serde_json::json!({"prompt": prompt, "output_tokens": n, "id": i}),
            None => serde_json::json!({"prompt": prompt}),
        };
        text.push_str(&format!("{line}\n"));
        lengths.insert(prompt, output);
    }
    (text, lengths)
}
