//! Workloads end to end against the built-in simulator: what the server received
//! (prompts and `max_tokens`, from its request log) and what the rows say.

mod common;
#[path = "common/tokenized_config.rs"]
mod tokenized_config;

use std::path::{Path, PathBuf};

use common::*;
use llm_bench::record::TokenSource;
use llm_bench::sim::{SimConfig, UsageMode};
use serde_json::Value;
use tokenized_config::{config, tiny};

/// Runs the config folder's only scenario; returns the server's request log.
fn run(tmp: &Path, sim: SimConfig, tokenizer: bool, workloads: &str) -> (PathBuf, Vec<Value>) {
    let log = tmp.join("sim-requests.jsonl");
    let server = Sim::start_logged(sim, Some(&log));
    let dir = tmp.join("config");
    config(&dir, &server.url(), tokenizer, workloads);
    let out = tmp.join("out");
    let o = bin()
        .args(["run", "--config-dir"])
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    drop(server);
    let served = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, served)
}

fn by_request_id(served: &[Value]) -> std::collections::HashMap<String, Value> {
    served
        .iter()
        .map(|e| (e["request_id"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

/// With `tokenizer:`, every prompt the server received (salt included) is exactly
/// `synthetic_tokens` long as the tokenizer counts it, and a stream without
/// usage is counted with the tokenizer (`token_source: tokenizer`).
#[test]
fn a_tokenizer_makes_prompt_lengths_exact_and_counts_output_without_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimConfig {
        ttft_ms: 1.0,
        itl_ms: 0.0,
        usage: UsageMode::None,
        tokens_per_chunk: 4,
        ..SimConfig::default()
    };
    let workloads = "prompts:\n  p:\n    synthetic_tokens: 37\nscenarios:\n  s:\n    prompt: p\n    concurrency: 2\n    requests: 12\n";
    let (out, served) = run(tmp.path(), sim, true, workloads);
    let tokenizer = tiny();
    assert_eq!(served.len(), 12);
    let mut prompts = std::collections::HashSet::new();
    for e in &served {
        let prompt = e["prompt"].as_str().expect("the log has the prompt");
        assert_eq!(tokenizer.count(prompt), Some(37), "{prompt:?}");
        // The words alone would not be 37 tokens: many are spelled out.
        assert_ne!(prompt.split_whitespace().count(), 37, "{prompt:?}");
        prompts.insert(prompt.to_string());
    }
    assert_eq!(prompts.len(), 12, "each request has its own salted prompt");
    // The sim's 8 tokens " the sim says hello to every bench run" are 25 tokens
    // of the test tokenizer (the, s-i-m, s-a-y-s, he-l-l-o, to, e-v-e-r-y,
    // be-n-c-h, r-u-n), in 2 chunks of 4.
    let sent = " the sim says hello to every bench run";
    assert_eq!(tokenizer.count(sent), Some(25));
    for r in rows(&out) {
        assert_eq!(r.token_source, TokenSource::Tokenizer, "{r:?}");
        assert_eq!((r.output_tokens, r.chunks), (25, 2), "{r:?}");
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["scenarios"][0]["tokenizer_sha256"]
            .as_str()
            .map(str::len),
        Some(64),
        "{manifest:#}"
    );
}

/// Input and output lengths drawn per request: the server receives prompts of
/// the drawn lengths and each request's own `max_tokens`, which the rows record
/// beside what came back.
#[test]
fn length_distributions_reach_the_server_per_request() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimConfig {
        ttft_ms: 1.0,
        itl_ms: 0.0,
        ..SimConfig::default()
    };
    let workloads = "prompts:\n  p:\n    synthetic_tokens: { uniform: [5, 40] }\nscenarios:\n  s:\n    prompt: p\n    concurrency: 4\n    requests: 60\n    output_tokens: { empirical: [3, 8, 13] }\n";
    let (out, served) = run(tmp.path(), sim, true, workloads);
    let tokenizer = tiny();
    let served = by_request_id(&served);
    let rows = rows(&out);
    assert_eq!((rows.len(), served.len()), (60, 60));
    let mut input_lengths = std::collections::HashSet::new();
    let mut output_lengths = std::collections::HashSet::new();
    for r in &rows {
        let e = &served[r.request_id.as_deref().unwrap()];
        let asked = r.requested_output_tokens.expect("a drawn output length");
        assert!([3, 8, 13].contains(&asked), "{r:?}");
        assert_eq!(
            e["max_tokens"].as_u64(),
            Some(asked),
            "the server got the row's length"
        );
        // The simulator generates exactly max_tokens and reports it in usage.
        assert_eq!(
            (r.output_tokens, r.token_source),
            (asked, TokenSource::Usage)
        );
        let n = tokenizer.count(e["prompt"].as_str().unwrap()).unwrap();
        assert!((5..=40).contains(&n), "{n}");
        input_lengths.insert(n);
        output_lengths.insert(asked);
    }
    assert!(input_lengths.len() > 15, "{input_lengths:?}");
    assert_eq!(output_lengths.len(), 3);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let check = &summary["scenarios"][0]["metrics"]["output_length"];
    let requested = rows
        .iter()
        .map(|r| r.requested_output_tokens.unwrap())
        .sum::<u64>() as f64
        / 60.0;
    assert!(
        (check["requested_mean"].as_f64().unwrap() - requested).abs() < 1e-9,
        "{check}"
    );
    assert!(
        (check["received_mean"].as_f64().unwrap() - requested).abs() < 1e-9,
        "{check}"
    );
    assert_eq!(check["short"].as_u64(), Some(0), "{check}");
}

/// Shared prefixes: the server receives, for each of G groups, one prefix of
/// exactly L tokens, then each request's own salt and suffix of the drawn length.
#[test]
fn shared_prefix_groups_reach_the_server_with_the_salt_after_the_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimConfig {
        ttft_ms: 1.0,
        itl_ms: 0.0,
        ..SimConfig::default()
    };
    let workloads = "prompts:\n  p:\n    synthetic_tokens: { uniform: [10, 16] }\n    shared_prefix: { groups: 3, tokens: 40 }\nscenarios:\n  s:\n    prompt: p\n    concurrency: 3\n    requests: 30\n";
    let (out, served) = run(tmp.path(), sim, true, workloads);
    let tokenizer = tiny();
    let served = by_request_id(&served);
    let mut prefixes: Vec<std::collections::HashSet<String>> = vec![Default::default(); 3];
    for r in rows(&out) {
        let prompt = served[r.request_id.as_deref().unwrap()]["prompt"]
            .as_str()
            .unwrap()
            .to_string();
        // The request's salt is the second 8-hex-digit word (the first starts the
        // group's prefix).
        let words: Vec<&str> = prompt.split(' ').collect();
        let is_salt = |w: &&str| w.len() == 8 && w.bytes().all(|b| b.is_ascii_hexdigit());
        assert!(is_salt(&words[0]), "{prompt}");
        let at = 1 + words[1..].iter().position(is_salt).expect("a request salt");
        let (prefix, own) = (words[..at].join(" "), words[at..].join(" "));
        assert_eq!(tokenizer.count(&prefix), Some(40), "{prefix}");
        let own_tokens = tokenizer.count(&own).unwrap();
        assert!((10..=16).contains(&own_tokens), "{own}");
        prefixes[(r.index % 3) as usize].insert(prefix);
    }
    for group in &prefixes {
        assert_eq!(group.len(), 1, "one prefix per group: {group:?}");
    }
    let all: std::collections::HashSet<&String> = prefixes.iter().flatten().collect();
    assert_eq!(all.len(), 3, "groups differ");
}

/// A trace row's prompt is exactly its input length with the model's tokenizer
/// (salt included), as synthetic prompts are, not one word per token.
#[test]
fn trace_prompts_are_exact_with_a_tokenizer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("config");
    std::fs::create_dir_all(&dir).unwrap();
    let lengths: [(u32, usize, u64); 3] = [(0, 19, 3), (5, 33, 4), (10, 52, 2)];
    let trace: String = lengths
        .iter()
        .map(|(t, i, o)| {
            format!("{{\"timestamp\": {t}, \"input_length\": {i}, \"output_length\": {o}}}\n")
        })
        .collect();
    std::fs::write(dir.join("t.jsonl"), trace).unwrap();
    let sim = SimConfig {
        ttft_ms: 1.0,
        itl_ms: 0.0,
        ..SimConfig::default()
    };
    let workloads =
        "prompts:\n  p:\n    text: hi\nscenarios:\n  s:\n    trace: { file: t.jsonl }\n";
    let (out, served) = run(tmp.path(), sim, true, workloads);
    let tokenizer = tiny();
    let served = by_request_id(&served);
    let rows = rows(&out);
    assert_eq!(rows.len(), 3);
    for r in &rows {
        let (_, input, output) = lengths[r.index as usize];
        let e = &served[r.request_id.as_deref().unwrap()];
        let prompt = e["prompt"].as_str().unwrap();
        assert_eq!(tokenizer.count(prompt), Some(input), "{prompt:?}");
        assert_ne!(prompt.split_whitespace().count(), input, "{prompt:?}");
        assert_eq!(e["max_tokens"].as_u64(), Some(output));
    }
}

/// The report says lengths were approximated only for a scenario whose lengths
/// were: synthetic prompts without a tokenizer, not `text` prompts sent as written.
#[test]
fn the_approximate_lengths_note_is_shown_only_where_lengths_were_approximated() {
    let note = "prompt lengths approximate";
    let sim = || SimConfig {
        ttft_ms: 1.0,
        itl_ms: 0.0,
        ..SimConfig::default()
    };
    let report = |name: &str, prompt: &str| {
        let tmp = tempfile::tempdir().unwrap();
        let workloads = format!(
            "prompts:\n  p:\n    {prompt}\nscenarios:\n  {name}:\n    prompt: p\n    concurrency: 1\n    requests: 2\n"
        );
        let (out, _) = run(tmp.path(), sim(), false, &workloads);
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let spec = summary["scenarios"][0]["spec"].clone();
        (
            std::fs::read_to_string(out.join("report.md")).unwrap(),
            spec,
        )
    };
    let (text, spec) = report("plain", "text: Say hello.");
    assert!(!text.contains(note), "{text}");
    assert!(spec.get("approximate_lengths").is_none(), "{spec}");
    let (synthetic, spec) = report("words", "synthetic_tokens: 12");
    assert!(
        synthetic.contains(&format!("synthetic {note}")),
        "{synthetic}"
    );
    assert_eq!(spec["approximate_lengths"], "synthetic prompt lengths");
}
