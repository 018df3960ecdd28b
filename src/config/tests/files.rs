//! Whole-file problems, and the configs shipped in the repository.

use super::*;

#[test]
fn invalid_yaml_syntax() {
    let text = "prompts:\n  p: { text: hi }\nscenarios:\n  s:\n    prompt: p\n   concurrency: 1\n";
    let e = only_error(TARGETS, MODELS, text);
    assert_eq!(place(&e), "workloads.yaml:6:4: ");
    assert!(
        e.message
            .starts_with("invalid YAML: did not find expected key"),
        "{}",
        e.message
    );
    assert!(e.message.contains("check the indentation"), "{}", e.message);
}

#[test]
fn tabs_are_a_syntax_error() {
    let e = only_error(TARGETS, "models:\n\tm: {}\n", WORKLOADS);
    assert_eq!(place(&e), "models.yaml:2:1: ");
    assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
}

#[test]
fn missing_file_says_how_to_point_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), TARGETS, MODELS, WORKLOADS);
    std::fs::remove_file(dir.path().join("models.yaml")).unwrap();
    let errors = load_dir(dir.path(), &env).unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].file, dir.path().join("models.yaml"));
    assert_eq!((errors[0].line, errors[0].column), (None, None));
    assert!(
        errors[0].message.starts_with("file not found"),
        "{}",
        errors[0].message
    );
    assert!(errors[0]
        .message
        .contains("llm-bench validate --config-dir DIR"));
}

#[test]
fn missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let errors = load_dir(&missing, &env).unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("nope: folder not found"),
        "{}",
        errors[0]
    );
    assert!(errors[0].message.contains("--config-dir DIR"));
}

#[test]
fn empty_file() {
    let e = only_error(TARGETS, MODELS, "# nothing here yet\n\n");
    assert_eq!(place(&e), "workloads.yaml: ");
    assert!(
        e.message
            .starts_with("the file is empty; it should hold `prompts:` and `scenarios:`"),
        "{}",
        e.message
    );
}

#[test]
fn a_file_that_is_not_a_mapping() {
    let e = only_error(TARGETS, "just text\n", WORKLOADS);
    assert_eq!(place(&e), "models.yaml:1:1: ");
    assert!(
        e.message.starts_with("the file should hold `models:`"),
        "{}",
        e.message
    );
    let e = only_error(TARGETS, "models: [a, b]\n", WORKLOADS);
    assert_eq!(place(&e), "models.yaml:1:9: models");
    assert_eq!(
        e.message,
        "expected a mapping of names to settings, got a list"
    );
}

#[test]
fn unknown_top_level_key() {
    let e = only_error(TARGETS, MODELS, &format!("{WORKLOADS}senarios: {{}}\n"));
    assert_eq!(place(&e), "workloads.yaml:8:1: senarios");
    assert_eq!(
        e.message,
        "unknown key `senarios`; did you mean `scenarios`?"
    );
}

#[test]
fn errors_from_every_file_are_reported_together() {
    let errors = load(
        "targets: {}\n",
        "models:\n  m: { max_tokens: x }\n",
        "oops: [\n",
    )
    .unwrap_err()
    .0;
    let files: Vec<String> = errors
        .iter()
        .map(|e| place(e).split(':').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(files, ["targets.yaml", "models.yaml", "workloads.yaml"]);
}

#[test]
fn odd_input_never_panics() {
    let odd = [
        "", "~", "[]", "{}", "---\n---\n", "a: *x", "? [a]\n: b", "\u{feff}models: {}", "!!binary x",
        "scenarios:\n  s: { prompt: p, rate: .nan, burstiness: .inf, requests: 18446744073709551615 }",
        "scenarios: { \"\": {} }\nprompts: { \"\": {} }", "targets: { t: { base_url: \"${\" } }",
        "models: { m: { extra_body: { a: [1, {b: ~}] } } }", "defaults: { slo: { ttft_ms: .inf } }",
    ];
    for text in odd {
        let _ = load(text, text, text);
        let _ = load(TARGETS, MODELS, text);
    }
}

fn shipped() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs")
}

#[test]
fn the_shipped_configs_load() {
    let config = match load_dir(&shipped(), &|_| None) {
        Ok(config) => config,
        Err(errors) => panic!("configs/ has problems:\n{errors}"),
    };
    let names: Vec<&str> = config
        .workloads
        .scenarios
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["low-load", "medium-load", "high-load", "stress-test"]
    );
    assert_eq!(config.default_target, "sim");
    assert!(matches!(
        config.target("sim").map(|t| &t.endpoint),
        Some(crate::config::Endpoint::Sim(_))
    ));
    assert!(config.model(&config.default_model).is_some());
}

#[test]
fn shipped_workloads_hash_ignores_comment_and_whitespace_edits() {
    let original = load_dir(&shipped(), &|_| None)
        .expect("valid")
        .workloads
        .hash;
    let dir = tempfile::tempdir().unwrap();
    for name in ["targets.yaml", "models.yaml"] {
        std::fs::copy(shipped().join(name), dir.path().join(name)).unwrap();
    }
    let text = std::fs::read_to_string(shipped().join("workloads.yaml")).unwrap();
    // Drop comment lines, add blank lines before top-level keys, add a comment.
    let edited: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| {
            if l.starts_with(' ') {
                format!("{l}\n")
            } else {
                format!("\n\n{l}\n")
            }
        })
        .chain(["# edited\n".to_string()])
        .collect();
    assert_ne!(edited, text);
    std::fs::write(dir.path().join("workloads.yaml"), edited).unwrap();
    let edited_hash = load_dir(dir.path(), &|_| None)
        .expect("still valid")
        .workloads
        .hash;
    assert_eq!(original, edited_hash);
}

#[test]
fn every_unknown_key_of_a_file_is_reported_with_what_follows() {
    let workloads = "prompts:\n  p: { text: hi }\nsenarios: {}\nscenarios:\n  s:\n    prompt: p\n    concurency: 1\n    requets: 2\n    rate: -1\n  t:\n    prompt: p\n    banana: 1\n";
    let errors = load(TARGETS, MODELS, workloads).unwrap_err().0;
    let found: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", place(e), e.message))
        .collect();
    for expected in [
        "workloads.yaml:3:1: senarios: unknown key `senarios`; did you mean `scenarios`?",
        "workloads.yaml:7:5: scenarios.s.concurency: unknown key `concurency`; did you mean `concurrency`?",
        "workloads.yaml:8:5: scenarios.s.requets: unknown key `requets`; did you mean `requests`?",
        "workloads.yaml:12:5: scenarios.t.banana: unknown key `banana`",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(expected)),
            "`{expected}` missing from {found:#?}"
        );
    }
    assert!(
        found.iter().all(|f| f.starts_with("workloads.yaml:")),
        "{found:#?}"
    );
}

/// 100,000 levels of `[[[…]]]` in 200 KB are refused before parsing, at the line
/// and column where the depth limit is crossed.
#[test]
fn deeply_nested_yaml_is_refused_before_parsing() {
    let n = 100_000;
    let text = format!("scenarios: {}{}\n", "[".repeat(n), "]".repeat(n));
    let e = only_error(TARGETS, MODELS, &text);
    assert_eq!(place(&e), "workloads.yaml:1:75: ");
    assert!(
        e.message.starts_with("nested more than 64 levels deep"),
        "{}",
        e.message
    );
}

/// A file over 1 MiB is refused unread, with its size.
#[test]
fn oversized_file_is_refused() {
    let text = format!("models:\n  m: {{}}\n# {}\n", "x".repeat(1 << 20));
    let e = only_error(TARGETS, &text, WORKLOADS);
    assert_eq!(place(&e), "models.yaml: ");
    assert!(
        e.message
            .starts_with(&format!("the file is {} bytes", text.len())),
        "{}",
        e.message
    );
}

/// A large file with thousands of entries and a typo in the last one still gets
/// its first error (the per-entry re-parse is bounded, not one parse per entry).
#[test]
fn many_entries_with_a_typo_report_the_first_error() {
    let mut text = String::from("prompts:\n  p: { text: hi }\nscenarios:\n");
    let mut i = 0;
    while text.len() < 900_000 {
        text.push_str(&format!(
            "  s{i}:\n    prompt: p\n    concurrency: 1\n    requests: 1\n"
        ));
        i += 1;
    }
    text.push_str("  bad:\n    prompt: p\n    concurrenc: 1\n");
    let errors = load(TARGETS, MODELS, &text).unwrap_err().0;
    assert!(
        errors[0].message.contains("unknown key `concurrenc`"),
        "{}",
        errors[0]
    );
}
