//! `conversation:` on a scenario: what loads, what is refused, and where.

use super::*;
use crate::config::Lengths;

fn with_conversation(conversation: &str) -> String {
    format!(
        "prompts:\n  p: {{ synthetic_tokens: 16 }}\nscenarios:\n  s:\n    prompt: p\n    \
         concurrency: 1\n    requests: 4\n    conversation: {conversation}\n"
    )
}

#[test]
fn a_conversation_loads_with_defaults_and_enters_the_hash() {
    let plain = load(TARGETS, MODELS, &with_conversation("{ turns: 3 }")).unwrap();
    let c = plain.workloads.scenarios[0].conversation.clone().unwrap();
    assert_eq!(c.turns, Lengths::Fixed(3));
    assert_eq!(c.think_time_ms, Lengths::Fixed(0));
    assert_eq!(c.user_tokens, None);
    assert!(
        c.written_at
            .ends_with("workloads.yaml:8:5: scenarios.s.conversation"),
        "{}",
        c.written_at
    );
    let full =
        "{ turns: { uniform: [2, 6] }, think_time_ms: { lognormal: { mean: 800, sd: 300 } }, \
                user_tokens: { empirical: [8, 32] } }";
    let drawn = load(TARGETS, MODELS, &with_conversation(full)).unwrap();
    let c = drawn.workloads.scenarios[0].conversation.clone().unwrap();
    assert_eq!(c.turns, Lengths::Uniform { lo: 2, hi: 6 });
    assert_eq!(c.user_tokens, Some(Lengths::Empirical(vec![8, 32])));
    let zero_think = load(
        TARGETS,
        MODELS,
        &with_conversation("{ turns: 3, think_time_ms: 0 }"),
    )
    .unwrap();
    let none = load(
        TARGETS,
        MODELS,
        "prompts:\n  p: { synthetic_tokens: 16 }\nscenarios:\n  s:\n    prompt: p\n    \
         concurrency: 1\n    requests: 4\n",
    )
    .unwrap();
    assert_eq!(
        plain.workloads.hash, zero_think.workloads.hash,
        "0 ms is the default"
    );
    assert_ne!(plain.workloads.hash, drawn.workloads.hash);
    assert_ne!(plain.workloads.hash, none.workloads.hash);
}

#[test]
fn bad_values_name_the_key_and_its_line() {
    for (written, key, needle) in [
        (
            "{ think_time_ms: 5 }",
            "scenarios.s.conversation",
            "no `turns`",
        ),
        (
            "{ turns: 0 }",
            "scenarios.s.conversation.turns",
            "from 1 to",
        ),
        (
            "{ turns: 5000 }",
            "scenarios.s.conversation.turns",
            "at most 1000 turns",
        ),
        (
            "{ turns: 2, think_time_ms: { uniform: [500, 100] } }",
            "scenarios.s.conversation.think_time_ms",
            "0 <= LO <= HI",
        ),
        (
            "{ turns: 2, user_tokens: 0 }",
            "scenarios.s.conversation.user_tokens",
            "from 1 to",
        ),
    ] {
        let e = only_error(TARGETS, MODELS, &with_conversation(written));
        assert_eq!(place(&e).split(": ").nth(1), Some(key), "{written}: {e}");
        assert!(place(&e).starts_with("workloads.yaml:8:"), "{written}: {e}");
        assert!(e.message.contains(needle), "{written}: {e}");
    }
    let e = only_error(
        TARGETS,
        MODELS,
        &with_conversation("{ turns: 2, think: 5 }"),
    );
    assert!(e.message.contains("unknown key `think`"), "{e}");
}
