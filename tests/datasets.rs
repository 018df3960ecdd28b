//! Datasets end to end against the built-in simulator: the prompts and
//! `max_tokens` the server received (from its request log) are the dataset's
//! records, sampled as seeded, filtered by length, salted per request; bad files
//! stop `validate` and `run` with the file, the line or record, and the reason.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use common::*;
use llm_bench::sim::SimConfig;
use llm_bench::workload::tokenizer::TokenCounter;
use serde_json::Value;

fn tiny_tokenizer() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer/tiny-wordpiece.json")
}

fn tiny() -> TokenCounter {
    let path = tiny_tokenizer();
    TokenCounter::from_bytes(&path, &std::fs::read(&path).unwrap()).unwrap()
}

/// A config folder whose target is `url` (with the test tokenizer when asked).
fn config(dir: &Path, url: &str, tokenizer: bool, workloads: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("targets.yaml"),
        format!("default: t\ntargets:\n  t:\n    base_url: {url}\n    api: chat\n"),
    )
    .unwrap();
    let tokenizer = match tokenizer {
        true => format!("    tokenizer: {}\n", tiny_tokenizer().display()),
        false => String::new(),
    };
    std::fs::write(
        dir.join("models.yaml"),
        format!("default: sim-model\nmodels:\n  sim-model:\n    max_tokens: 8\n{tokenizer}"),
    )
    .unwrap();
    std::fs::write(dir.join("workloads.yaml"), workloads).unwrap();
}

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

/// Without replacement: the first 12 requests send the 12 records once each, in
/// a seeded order, each with its record's `max_tokens` (the model's for the
/// record without one); the next 12 repeat the order. The same seed in another
/// run sends the same sequence with other salts; another seed, another order.
#[test]
fn jsonl_records_reach_the_server_sampled_as_seeded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("config");
    let (text, lengths) = jsonl_records();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/chat.jsonl"), text).unwrap();
    let workloads = |seed: u64| {
        format!(
            "prompts:\n  unused:\n    text: hi\nscenarios:\n  s:\n    dataset:\n      file: \
             data/chat.jsonl\n      seed: {seed}\n    concurrency: 3\n    requests: 24\n"
        )
    };
    let first = run(tmp.path(), &dir, false, &workloads(5));
    assert_eq!(first.len(), 24);
    let pass: Vec<&str> = first[..12].iter().map(|s| s.prompt.as_str()).collect();
    assert_eq!(
        pass.iter().collect::<HashSet<_>>().len(),
        12,
        "no repeats: {pass:?}"
    );
    let file_order: Vec<String> = (0..12)
        .map(|i| format!("record {i}{}", " word".repeat(i + 1)))
        .collect();
    assert_ne!(pass, file_order, "shuffled");
    for (i, s) in first.iter().enumerate() {
        assert_eq!(
            s.prompt,
            first[i % 12].prompt,
            "the second pass repeats the first"
        );
        let want = lengths[&s.prompt].unwrap_or(8);
        assert_eq!(s.max_tokens, Some(want), "{s:?}");
    }
    let again = run(tmp.path(), &dir, false, &workloads(5));
    let prompts = |run: &[Sent]| run.iter().map(|s| s.prompt.clone()).collect::<Vec<_>>();
    assert_eq!(prompts(&again), prompts(&first), "same seed, same sequence");
    assert!(
        again.iter().zip(&first).all(|(a, b)| a.salt != b.salt),
        "another run, other salts"
    );
    let other = run(tmp.path(), &dir, false, &workloads(6));
    assert_ne!(prompts(&other), prompts(&first));
}

/// ShareGPT with the model's tokenizer: only prompts whose exact length is in
/// [min, max] are sent, and each asks for its first answer's length in tokens.
#[test]
fn sharegpt_prompts_are_filtered_by_exact_length_and_ask_for_the_answers_length() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("config");
    std::fs::create_dir_all(&dir).unwrap();
    let tokenizer = tiny();
    let words = ["the", "sim", "says", "hello", "to", "every", "bench", "run"];
    let mut records = Vec::new();
    for i in 0..30usize {
        let prompt: Vec<&str> = (0..=i).map(|j| words[(i * 3 + j) % words.len()]).collect();
        let answer: Vec<&str> = (0..(i % 4 + 1)).map(|j| words[j]).collect();
        records.push(serde_json::json!({"id": i, "conversations": [
            {"from": "human", "value": prompt.join(" ")},
            {"from": "gpt", "value": answer.join(" ")},
        ]}));
    }
    let text = serde_json::to_string_pretty(&records).unwrap();
    std::fs::write(dir.join("sharegpt.json"), text).unwrap();
    let (lo, hi) = (20, 45);
    let kept: HashMap<String, usize> = records
        .iter()
        .map(|r| {
            let c = &r["conversations"];
            let prompt = c[0]["value"].as_str().unwrap().to_string();
            let answer = tokenizer.count(c[1]["value"].as_str().unwrap()).unwrap();
            (prompt, answer)
        })
        .filter(|(p, _)| (lo..=hi).contains(&tokenizer.count(p).unwrap()))
        .collect();
    assert!(
        kept.len() >= 5 && kept.len() < 25,
        "the filter matters: {}",
        kept.len()
    );
    let workloads = format!(
        "prompts:\n  unused:\n    text: hi\nscenarios:\n  s:\n    dataset: {{ file: sharegpt.json, \
         format: sharegpt, sample: with_replacement, min_input_tokens: {lo}, max_input_tokens: \
         {hi} }}\n    concurrency: 2\n    requests: 40\n"
    );
    let sent = run(tmp.path(), &dir, true, &workloads);
    assert_eq!(sent.len(), 40);
    for s in &sent {
        let answer = kept
            .get(&s.prompt)
            .unwrap_or_else(|| panic!("filtered out: {s:?}"));
        assert_eq!(s.max_tokens, Some(*answer as u64), "{s:?}");
    }
    let distinct: HashSet<&str> = sent.iter().map(|s| s.prompt.as_str()).collect();
    assert!(distinct.len() > 3, "drawn: {distinct:?}");
    assert!(
        distinct.len() < 40,
        "with replacement, 40 draws of {} repeat",
        kept.len()
    );
}

/// The scenario's own `max_tokens` wins over the records'.
#[test]
fn a_scenarios_max_tokens_overrides_the_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("chat.jsonl"), jsonl_records().0).unwrap();
    let workloads = "prompts:\n  unused:\n    text: hi\nscenarios:\n  s:\n    dataset: { file: chat.jsonl, sample: sequential }\n    max_tokens: 5\n    concurrency: 1\n    requests: 6\n";
    let sent = run(tmp.path(), &dir, false, workloads);
    for (i, s) in sent.iter().enumerate() {
        assert!(
            s.prompt.starts_with(&format!("record {i} ")),
            "file order: {s:?}"
        );
        assert_eq!(s.max_tokens, Some(5));
    }
}

/// `validate` on a dataset scenario; returns the exit code and stderr.
fn validate(dir: &Path, file: &str, contents: &str, dataset: &str) -> (Option<i32>, String) {
    config(dir, "http://127.0.0.1:9", false, &format!(
        "prompts:\n  unused:\n    text: hi\nscenarios:\n  s:\n    dataset: {dataset}\n    concurrency: 1\n    requests: 3\n"
    ));
    if !file.is_empty() {
        std::fs::write(dir.join(file), contents).unwrap();
    }
    let o = bin()
        .args(["validate", "--config-dir"])
        .arg(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code(), text)
}

#[test]
fn bad_files_name_the_file_the_line_or_record_and_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let ok_turn = r#"{"conversations": [{"from": "human", "value": "hi there"}]}"#;
    let cases: Vec<(&str, String, &str, Vec<&str>)> = vec![
        (
            "d.jsonl",
            "{\"prompt\": \"fine\"}\nnot json\n".into(),
            "{ file: d.jsonl }",
            vec!["d.jsonl:2: ", "expected"],
        ),
        (
            "d.jsonl",
            "{\"prompt\": \"fine\"}\n\n{\"text\": \"x\"}\n".into(),
            "{ file: d.jsonl }",
            vec!["d.jsonl:3: ", "missing field `prompt`"],
        ),
        (
            "d.jsonl",
            "{\"prompt\": [\"x\"]}\n".into(),
            "{ file: d.jsonl }",
            vec!["d.jsonl:1: ", "invalid type"],
        ),
        (
            "s.json",
            format!(
                "[{ok_turn}, {{\"conversations\": [{{\"from\": \"gpt\", \"value\": \"x\"}}]}}]"
            ),
            "{ file: s.json }",
            vec!["s.json: record 2: ", "no human turn"],
        ),
        (
            "s.json",
            format!("[{ok_turn}, {ok_turn}"),
            "{ file: s.json }",
            vec!["s.json: record 3: ", "cut short"],
        ),
        (
            "s.json",
            "{\"prompt\": \"x\"}".to_string(),
            "{ file: s.json, format: sharegpt }",
            vec!["s.json: ", "not a JSON array"],
        ),
        (
            "",
            String::new(),
            "{ file: missing.jsonl }",
            vec!["missing.jsonl: ", "cannot read the dataset"],
        ),
        (
            "d.txt",
            "x".into(),
            "{ file: d.txt }",
            vec!["workloads.yaml:", "add `format: sharegpt`"],
        ),
        (
            "d.jsonl",
            "{\"prompt\": \"x\"}\n".into(),
            "{ file: d.jsonl, min_input_tokens: 9, max_input_tokens: 3 }",
            vec!["workloads.yaml:", "max_input_tokens", "must be at least"],
        ),
        (
            "d.jsonl",
            "{\"prompt\": \"x\"}\n".into(),
            "{ file: d.jsonl, sample: random }",
            vec!["workloads.yaml:", "without_replacement"],
        ),
    ];
    for (i, (file, contents, dataset, wanted)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("c{i}"));
        let (code, text) = validate(&dir, file, contents, dataset);
        assert_eq!(code, Some(2), "{dataset}: {text}");
        for w in wanted {
            assert!(
                text.contains(w),
                "{dataset} {contents:?}: missing {w:?} in {text}"
            );
        }
        assert!(!text.contains("panicked"), "{text}");
    }
}

/// Nothing left after the filter stops the run before a request is sent, with
/// exit 2 and the lengths the file has.
#[test]
fn a_filter_that_keeps_nothing_stops_the_run_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("config");
    let log = tmp.path().join("log.jsonl");
    let server = Sim::start_logged(sim(), Some(&log));
    config(&dir, &server.url(), false, "prompts:\n  unused:\n    text: hi\nscenarios:\n  s:\n    dataset: { file: d.jsonl, min_input_tokens: 50 }\n    concurrency: 1\n    requests: 3\n");
    std::fs::write(dir.join("d.jsonl"), jsonl_records().0).unwrap();
    let o = bin()
        .args(["run", "--config-dir"])
        .arg(&dir)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no record's prompt is at least 50 tokens")
            && stderr.contains("3 to 14 tokens"),
        "{stderr}"
    );
    drop(server);
    assert!(std::fs::read_to_string(&log).unwrap_or_default().is_empty());
}

/// The workload hash follows the file's contents and the sampling, not its path.
#[test]
fn the_workload_hash_follows_the_contents_and_the_sampling() {
    let tmp = tempfile::tempdir().unwrap();
    let hash = |name: &str, file: &str, contents: &str, sample: &str| {
        let dir = tmp.path().join(name);
        config(&dir, "http://127.0.0.1:9", false, &format!(
            "prompts:\n  unused:\n    text: hi\nscenarios:\n  s:\n    dataset: {{ file: {file}, sample: {sample} }}\n    concurrency: 1\n    requests: 3\n"
        ));
        std::fs::write(dir.join(file), contents).unwrap();
        llm_bench::config::load_dir(&dir, &|_| None)
            .unwrap()
            .workloads
            .hash
    };
    let text = jsonl_records().0;
    let base = hash("a", "chat.jsonl", &text, "sequential");
    assert_eq!(base, hash("b", "other-name.jsonl", &text, "sequential"));
    assert_ne!(
        base,
        hash(
            "c",
            "chat.jsonl",
            &text.replace("record 3", "record three"),
            "sequential"
        )
    );
    assert_ne!(base, hash("d", "chat.jsonl", &text, "with_replacement"));
}
