//! What each turn carries: the conversation so far, the think time before it,
//! per-turn metrics; a target that cannot hold a history; a turn that fails.

use super::*;

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
