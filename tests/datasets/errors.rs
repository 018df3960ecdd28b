//! Bad files stop `validate` and `run` with the file, the line or record and the
//! reason; a filter that keeps nothing stops the run with exit 2.

use super::*;

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
