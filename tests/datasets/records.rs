//! The records reach the server as the scenario says: sampled as seeded,
//! filtered by exact length, with their own or the scenario's `max_tokens`; the
//! workload hash follows the contents and the sampling.

use super::*;

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
