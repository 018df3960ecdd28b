//! When turns are fast and when conversations start: TTFT by turn under the
//! simulator's prefill cost and prefix cache, open-loop conversation starts.

use super::*;

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
