//! Multi-turn conversations end to end against the built-in simulator: the
//! history each turn carried (from the server's request log), the think time
//! between turns, per-turn metrics, and TTFT by turn under the simulator's
//! prefill cost with and without its prefix cache.

mod common;

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

/// Each turn carries the conversation so far: turn k has k user messages and
/// k−1 assistant messages, the earlier turns' messages unchanged, and each
/// assistant message is exactly what the simulator streamed for that turn (every
/// turn draws its own output length, so a mix-up shows). Think time is not
/// latency: the next turn leaves at least the drawn think time after the last
/// answer. The summary has TTFT and input tokens by turn; the report shows them.
#[test]
fn each_turn_carries_the_history_and_waits_its_think_time() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimConfig {
        ttft_ms: 2.0,
        itl_ms: 0.0,
        ..SimConfig::default()
    };
    let workloads = "prompts:\n  p: { synthetic_tokens: 12 }\nscenarios:\n  s:\n    prompt: p\n    \
                     concurrency: 2\n    requests: 12\n    seed: 7\n    output_tokens: { uniform: [3, 12] }\n    \
                     conversation: { turns: 3, think_time_ms: { uniform: [50, 250] } }\n";
    let (out, served) = run(tmp.path(), sim, workloads);
    let rows = rows(&out);
    assert_eq!(rows.len(), 12);
    let by = conversations(&rows);
    // `requests:` counts turns: with two conversations at a time, the count can
    // run out inside the last ones, which then end early.
    let complete = by.values().filter(|t| t.len() == 3).count();
    assert!((4..=6).contains(&by.len()) && complete >= 3, "{by:?}");
    let think = ConversationPlan::new(
        &Conversation {
            turns: Lengths::Fixed(3),
            think_time_ms: Lengths::Uniform { lo: 50, hi: 250 },
            user_tokens: None,
            written_at: String::new(),
        },
        PromptGenerator::Template(String::new()),
        None,
        7,
    );
    let mut drawn_lengths = std::collections::HashSet::new();
    for (&id, turns) in &by {
        let numbers: Vec<u32> = turns.iter().map(|r| r.turn.unwrap()).collect();
        assert_eq!(numbers, (1..=turns.len() as u32).collect::<Vec<_>>());
        let mut previous: Vec<String> = Vec::new();
        for (k, row) in turns.iter().enumerate() {
            assert!(row.ok, "{row:?}");
            drawn_lengths.insert(row.output_tokens);
            let entry = &served[row.request_id.as_deref().unwrap()];
            let roles: Vec<&str> = entry["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            let expected: Vec<&str> = (0..=k)
                .flat_map(|j| {
                    if j < k {
                        vec!["user", "assistant"]
                    } else {
                        vec!["user"]
                    }
                })
                .collect();
            assert_eq!(roles, expected, "conversation {id} turn {}", k + 1);
            let contents: Vec<String> = entry["prompt"]
                .as_str()
                .unwrap()
                .split('\n')
                .map(str::to_string)
                .collect();
            assert_eq!(contents.len(), 2 * k + 1);
            assert_eq!(
                contents[..previous.len()],
                previous[..],
                "the history is kept"
            );
            if k > 0 {
                // The answer to the previous turn, as the simulator streamed it.
                assert_eq!(contents[2 * k - 1], sim_text(turns[k - 1].output_tokens));
                assert_eq!(
                    turns[k - 1].requested_output_tokens,
                    Some(turns[k - 1].output_tokens)
                );
                let drawn = think.think_before(0, id, k as u32 + 1);
                let sent_after = row.start_ms - turns[k - 1].end_ms;
                assert!(
                    sent_after >= drawn.as_secs_f64() * 1000.0 - 0.01,
                    "turn {} left {sent_after} ms after the answer, drawn {drawn:?}",
                    k + 1
                );
                assert!(sent_after < drawn.as_secs_f64() * 1000.0 + 2000.0);
                // The server saw the same gap (its own clock).
                let served_gap = entry["arrival_ns"].as_u64().unwrap()
                    - served[turns[k - 1].request_id.as_deref().unwrap()]["last_chunk_ns"]
                        .as_u64()
                        .unwrap();
                assert!(Duration::from_nanos(served_gap) >= drawn, "{served_gap} ns");
                // Think time is not latency.
                assert!(row.e2e_ms < drawn.as_secs_f64() * 1000.0 + 1000.0);
            }
            let first_word = contents[0].split(' ').next().unwrap();
            assert!(
                first_word.len() == 8 && first_word.bytes().all(|b| b.is_ascii_hexdigit()),
                "the salt starts the first user message: {contents:?}"
            );
            for user in contents.iter().step_by(2).skip(1) {
                assert_eq!(
                    user.split(' ').count(),
                    12,
                    "later user messages are unsalted"
                );
            }
            previous = contents;
            previous.push(sim_text(row.output_tokens));
        }
    }
    assert!(drawn_lengths.len() > 3, "{drawn_lengths:?}");
    let salts: std::collections::HashSet<String> = by
        .values()
        .map(|t| {
            served[t[0].request_id.as_deref().unwrap()]["prompt"]
                .as_str()
                .unwrap()[..8]
                .to_string()
        })
        .collect();
    assert_eq!(salts.len(), by.len(), "every conversation has its own salt");

    let summary = validated_summary(&out);
    let by_turn = summary["scenarios"][0]["metrics"]["by_turn"]
        .as_array()
        .unwrap();
    assert_eq!(by_turn.len(), 3);
    let mut last_input = 0.0;
    for (k, t) in by_turn.iter().enumerate() {
        assert_eq!(t["turn"], k + 1);
        let reached = by.values().filter(|turns| turns.len() > k).count() as u64;
        assert_eq!(
            (t["succeeded"].as_u64(), t["failed"].as_u64()),
            (Some(reached), Some(0))
        );
        assert_eq!(t["ttft_ms"]["count"], reached);
        assert!(t["ttft_ms"]["p50"].as_f64().unwrap() >= 2.0);
        let input = t["input_tokens_mean"].as_f64().unwrap();
        assert!(input > last_input, "the history grows: {by_turn:?}");
        last_input = input;
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("**TTFT by turn**"), "{report}");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<h3>TTFT by turn</h3>"));
}

/// The simulator charges `ttft_per_prompt_token_ms` for every prompt token its
/// prefix cache does not hold. Without the cache, TTFT by turn rises with the
/// history (at least the injected prefill of each turn's prompt); with it, a
/// turn pays only for what the previous turn did not send (its answer, the new
/// question and the last partial block), so later turns stay far below that.
#[test]
fn ttft_by_turn_follows_the_simulators_prefill_and_prefix_cache() {
    let _quiet = timing_sensitive();
    const PER_TOKEN_MS: f64 = 1.0;
    let workloads =
        "prompts:\n  p: { synthetic_tokens: 16 }\nscenarios:\n  s:\n    prompt: p\n    \
                     concurrency: 2\n    requests: 8\n    \
                     conversation: { turns: 4, user_tokens: 64 }\n";
    let by_turn = |prefix_cache: bool| -> Vec<(f64, f64)> {
        let tmp = tempfile::tempdir().unwrap();
        let sim = SimConfig {
            ttft_ms: 1.0,
            ttft_per_prompt_token_ms: PER_TOKEN_MS,
            itl_ms: 0.0,
            prefix_cache,
            ..SimConfig::default()
        };
        let (out, _) = run(tmp.path(), sim, workloads);
        let summary = validated_summary(&out);
        summary["scenarios"][0]["metrics"]["by_turn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["ttft_ms"]["mean"].as_f64().unwrap(),
                    t["input_tokens_mean"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let cold = by_turn(false);
    assert_eq!(cold.len(), 4);
    for (k, &(ttft, input)) in cold.iter().enumerate() {
        // Turn k: 64 words per question (the first also a salt), 8 per answer.
        assert_eq!(
            input,
            64.0 * (k as f64 + 1.0) + 8.0 * k as f64 + 1.0,
            "{cold:?}"
        );
        assert!(
            ttft >= 1.0 + PER_TOKEN_MS * input,
            "turn {}: {cold:?}",
            k + 1
        );
        assert!(ttft < 1.0 + PER_TOKEN_MS * input + 1000.0, "{cold:?}");
    }
    let warm = by_turn(true);
    assert_eq!(warm.len(), 4);
    // Turn 1 has nothing cached; later turns at most 15 + 8 + 64 new tokens.
    assert!(warm[0].0 >= 1.0 + PER_TOKEN_MS * warm[0].1, "{warm:?}");
    for &(ttft, _) in &warm[1..] {
        assert!(ttft >= 1.0 + PER_TOKEN_MS * (8.0 + 64.0), "{warm:?}");
    }
    // From turn 3 on the history is long enough for the saving to be plain.
    for &(ttft, input) in &warm[2..] {
        assert!(
            ttft < 0.6 * (1.0 + PER_TOKEN_MS * input),
            "the cache spares the history: {warm:?} vs cold {cold:?}"
        );
    }
}

/// A completions target has no messages to hold a history: the run stops before
/// sending anything, naming the scenario, where `conversation:` is written and
/// what to change.
#[test]
fn a_completions_target_is_refused_with_the_place_of_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Sim::start(SimConfig::default());
    let dir = tmp.path().join("config");
    let workloads = "prompts:\n  p: { text: hi }\nscenarios:\n  s:\n    prompt: p\n    \
                     concurrency: 1\n    requests: 2\n    conversation: { turns: 2 }\n";
    config(&dir, &server.url(), "completions", workloads);
    let o = bin()
        .args(["run", "--config-dir"])
        .arg(&dir)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(
        text.contains("workloads.yaml:8:5: scenarios.s.conversation: scenario `s` has `conversation:`, which needs the chat API"),
        "{text}"
    );
    assert_eq!(server.stats().requests_total, 0);
}

/// A turn that fails ends its conversation there, recorded with its reason; the
/// run goes on with the next conversations.
#[test]
fn a_failed_turn_ends_its_conversation_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimConfig {
        ttft_ms: 1.0,
        itl_ms: 0.0,
        error_500_rate: 0.25,
        seed: 3,
        ..SimConfig::default()
    };
    let workloads = "prompts:\n  p: { synthetic_tokens: 8 }\nscenarios:\n  s:\n    prompt: p\n    \
                     concurrency: 2\n    requests: 40\n    max_error_rate: 1.0\n    \
                     conversation: { turns: 4 }\n";
    let (out, _) = run(tmp.path(), sim, workloads);
    let rows = rows(&out);
    assert_eq!(rows.len(), 40, "every request was sent and recorded");
    let by = conversations(&rows);
    let mut failed = 0;
    for turns in by.values() {
        let numbers: Vec<u32> = turns.iter().map(|r| r.turn.unwrap()).collect();
        assert_eq!(numbers, (1..=turns.len() as u32).collect::<Vec<_>>());
        let (last, before) = turns.split_last().unwrap();
        assert!(
            before.iter().all(|r| r.ok),
            "only the last turn may fail: {turns:?}"
        );
        if !last.ok {
            failed += 1;
            assert_eq!(last.error_kind, Some(llm_bench::record::ErrorKind::Http5xx));
            assert!(last.error.as_deref().is_some_and(|e| !e.is_empty()));
        }
    }
    assert!(failed >= 3, "about a quarter of 40 turns fail: {failed}");
    let first_failure = by
        .iter()
        .find(|(_, t)| !t.last().unwrap().ok)
        .map(|(&id, _)| id);
    let last_started = *by.keys().last().unwrap();
    assert!(
        first_failure.is_some_and(|id| id + 2 < last_started),
        "the run went on"
    );
    let summary = validated_summary(&out);
    let by_turn = summary["scenarios"][0]["metrics"]["by_turn"]
        .as_array()
        .unwrap();
    let failed_by_turn: u64 = by_turn.iter().map(|t| t["failed"].as_u64().unwrap()).sum();
    assert_eq!(failed_by_turn, failed as u64);
}

/// Open loop: conversations start on the arrival schedule (constant: one every
/// 1/rate seconds), each later turn after its predecessor's answer, and
/// `max_concurrency` caps the conversations in flight.
#[test]
fn open_loop_conversations_start_on_the_schedule() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = SimConfig {
        ttft_ms: 5.0,
        itl_ms: 1.0,
        ..SimConfig::default()
    };
    let workloads = "prompts:\n  p: { synthetic_tokens: 8 }\nscenarios:\n  s:\n    prompt: p\n    \
                     rate: 20\n    arrival: constant\n    max_concurrency: 2\n    requests: 12\n    \
                     conversation: { turns: 2 }\n";
    let (out, _) = run(tmp.path(), sim, workloads);
    let rows = rows(&out);
    assert_eq!(rows.len(), 12);
    for (&id, turns) in &conversations(&rows) {
        assert_eq!(turns.len(), 2, "{turns:?}");
        let expected_ms = id as f64 * 50.0;
        assert!(
            (turns[0].scheduled_ms - expected_ms).abs() < 0.01,
            "conversation {id} scheduled at {} ms",
            turns[0].scheduled_ms
        );
        assert!(turns[1].scheduled_ms >= turns[0].end_ms, "{turns:?}");
        assert!(turns.iter().all(|r| r.ok && r.in_flight <= 2), "{turns:?}");
    }
}
