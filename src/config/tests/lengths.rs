//! Mistakes in length distributions (`synthetic_tokens:`, `output_tokens:`) and
//! in a model's `tokenizer:`.

use super::*;
use crate::config::{Lengths, PromptSource};

fn with_prompt(prompt: &str, scenario_extra: &str) -> String {
    format!(
        "prompts:\n  p:\n{prompt}scenarios:\n  s:\n    prompt: p\n    concurrency: 1\n    requests: 1\n{scenario_extra}"
    )
}

fn error(prompt: &str, scenario_extra: &str) -> ConfigError {
    only_error(TARGETS, MODELS, &with_prompt(prompt, scenario_extra))
}

#[test]
fn every_distribution_loads_and_hashes_apart() {
    let mut hashes = std::collections::HashSet::new();
    for (written, expected) in [
        ("128", None),
        ("{ fixed: 64 }", Some(Lengths::Fixed(64))),
        (
            "{ uniform: [10, 20] }",
            Some(Lengths::Uniform { lo: 10, hi: 20 }),
        ),
        (
            "{ normal: { mean: 100, sd: 10 } }",
            Some(Lengths::Normal {
                mean: 100.0,
                sd: 10.0,
            }),
        ),
        (
            "{ lognormal: { mean: 100, sd: 50 } }",
            Some(Lengths::LogNormal {
                mean: 100.0,
                sd: 50.0,
            }),
        ),
        (
            "{ empirical: [1, 5, 9] }",
            Some(Lengths::Empirical(vec![1, 5, 9])),
        ),
    ] {
        let text = with_prompt(
            &format!("    synthetic_tokens: {written}\n"),
            &format!("    output_tokens: {written}\n"),
        );
        let config = load(TARGETS, MODELS, &text).unwrap_or_else(|e| panic!("{written}: {e}"));
        let prompt = &config.workloads.prompts[0];
        match (&prompt.source, &expected) {
            (PromptSource::Synthetic { tokens: 128, .. }, None) => {}
            (PromptSource::SyntheticLengths { lengths }, Some(l)) => assert_eq!(lengths, l),
            other => panic!("{written}: {other:?}"),
        }
        let output = config.workloads.scenarios[0].output_tokens.clone();
        assert_eq!(output, Some(expected.unwrap_or(Lengths::Fixed(128))));
        hashes.insert(config.workloads.hash.clone());
    }
    assert_eq!(hashes.len(), 6, "each distribution is its own workload");
}

#[test]
fn a_plain_count_keeps_the_hash_it_had() {
    // The same config without `output_tokens` hashes as before the key existed:
    // baselines recorded then stay comparable.
    let config = load(
        TARGETS,
        MODELS,
        &with_prompt("    synthetic_tokens: 64\n", ""),
    )
    .unwrap();
    let same = load(
        TARGETS,
        MODELS,
        &with_prompt("    synthetic_tokens: 64  # note\n", ""),
    )
    .unwrap();
    assert_eq!(config.workloads.hash, same.workloads.hash);
    assert_eq!(config.workloads.scenarios[0].output_tokens, None);
}

#[test]
fn bad_distributions_name_the_line_and_the_rule() {
    let e = error("    synthetic_tokens: { uniform: [50, 10] }\n", "");
    assert_eq!(place(&e), "workloads.yaml:3:23: prompts.p.synthetic_tokens");
    assert!(e.message.contains("1 <= LO <= HI"), "{}", e.message);

    let e = error(
        "    synthetic_tokens: 8\n",
        "    output_tokens: { normal: { mean: 0, sd: 3 } }\n",
    );
    assert_eq!(place(&e), "workloads.yaml:9:20: scenarios.s.output_tokens");
    assert!(e.message.contains("mean"), "{}", e.message);

    let e = error("    synthetic_tokens: { empirical: [] }\n", "");
    assert!(e.message.contains("is empty"), "{}", e.message);

    let e = error("    synthetic_tokens: { gamma: 3 }\n", "");
    assert_eq!(e.path, "prompts.p.synthetic_tokens");
    assert!(e.message.contains("gamma"), "{}", e.message);

    let e = error(
        "    synthetic_tokens: { uniform: [1, 9] }\n    spread: 0.1\n",
        "",
    );
    assert_eq!(place(&e), "workloads.yaml:4:5: prompts.p.spread");
}

#[test]
fn output_tokens_and_max_tokens_together_are_a_mistake() {
    let e = error(
        "    synthetic_tokens: 8\n",
        "    max_tokens: 9\n    output_tokens: { uniform: [1, 9] }\n",
    );
    assert_eq!(place(&e), "workloads.yaml:10:5: scenarios.s.output_tokens");
    assert!(e.message.contains("not both"), "{}", e.message);
}

#[test]
fn a_missing_tokenizer_file_is_named_with_its_line() {
    let models = "models:\n  m:\n    tokenizer: no/such/tokenizer.json\n";
    let e = only_error(TARGETS, models, WORKLOADS);
    assert_eq!(place(&e), "models.yaml:3:16: models.m.tokenizer");
    assert!(
        e.message.contains("no/such/tokenizer.json"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("relative paths are from the config folder"),
        "{}",
        e.message
    );
}

#[test]
fn a_tokenizer_path_is_relative_to_the_config_folder() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        TARGETS,
        "models:\n  m:\n    tokenizer: tok.json\n",
        WORKLOADS,
    );
    std::fs::write(dir.path().join("tok.json"), "{}").unwrap();
    let config = load_dir(dir.path(), &env).unwrap();
    assert_eq!(
        config.model("m").and_then(|m| m.tokenizer.clone()),
        Some(dir.path().join("tok.json"))
    );
}

#[test]
fn shared_prefixes_load_hash_and_name_their_mistakes() {
    let text = |prefix: &str| {
        with_prompt(
            &format!("    synthetic_tokens: 8\n    shared_prefix: {prefix}\n"),
            "",
        )
    };
    let a = load(TARGETS, MODELS, &text("{ groups: 4, tokens: 64 }")).unwrap();
    let shared = a.workloads.prompts[0].shared_prefix;
    assert_eq!(
        shared,
        Some(crate::config::SharedPrefix {
            groups: 4,
            tokens: 64
        })
    );
    let b = load(TARGETS, MODELS, &text("{ groups: 2, tokens: 64 }")).unwrap();
    assert_ne!(a.workloads.hash, b.workloads.hash);

    let e = error(
        "    synthetic_tokens: 8\n    shared_prefix: { groups: 0, tokens: 64 }\n",
        "",
    );
    assert_eq!(
        place(&e),
        "workloads.yaml:4:30: prompts.p.shared_prefix.groups"
    );
    let e = error(
        "    synthetic_tokens: 8\n    shared_prefix: { groups: 2 }\n",
        "",
    );
    assert_eq!(place(&e), "workloads.yaml:4:5: prompts.p.shared_prefix");
    assert!(e.message.contains("no `tokens`"), "{}", e.message);
    let e = error(
        "    text: hi\n    shared_prefix: { groups: 2, tokens: 3 }\n",
        "",
    );
    assert_eq!(place(&e), "workloads.yaml:4:5: prompts.p.shared_prefix");
}
