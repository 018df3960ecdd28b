//! A failed run is published as failed, for this commit.

use super::*;

/// A broken config: the comment says the run failed, for this commit, with its first
/// error line, and never publishes what an earlier run left in the results folder.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_is_published_as_failed_not_as_the_last_report() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = config_repo(
        tmp.path(),
        CONFIG_TARGETS,
        "prompts:\n  short:\n    text: hi\nscenarios:\n  smoke:\n    prompt: short\n    concurency: 2\n",
    );
    // What last week's run left behind.
    let results = repo.join("llm-bench-results");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(results.join("comparison.md"), "✅ all good last week\n").unwrap();
    std::fs::write(results.join("smoke.baseline.json.new"), "{}").unwrap();

    let bench_out = tmp.path().join("bench-output");
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("GITHUB_EVENT_NAME", "push".into()),
            ("GITHUB_OUTPUT", bench_out.display().to_string()),
        ],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "the step records the failure\n{}",
        show(&o)
    );
    let bench = read_outputs(&bench_out);
    assert_eq!(bench["runs"], "2 llm-bench-results");
    assert!(bench["errors"].contains("concurency"), "{bench:?}");
    assert!(
        !results.join("comparison.md").exists(),
        "the old results are gone"
    );
    assert!(!results.join("smoke.baseline.json.new").exists());

    let summary = tmp.path().join("summary.md");
    let publish_out = tmp.path().join("publish-output");
    let o = action_step(
        &repo,
        "publish",
        vec![
            ("GITHUB_EVENT_NAME", "push".into()),
            (
                "GITHUB_SHA",
                "abcdef0123456789abcdef0123456789abcdef01".into(),
            ),
            ("GITHUB_RUN_NUMBER", "77".into()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
            ("GITHUB_OUTPUT", publish_out.display().to_string()),
            ("LB_RUNS", bench["runs"].clone()),
            ("LB_ERRORS", bench["errors"].clone()),
            ("LB_RESULTS_DIR", bench["results-dir"].clone()),
            ("LB_COMMENT", "false".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let outputs = read_outputs(&publish_out);
    assert_eq!(outputs["verdict"], "error");
    assert_eq!(outputs["report"], "", "no report was written: {outputs:?}");
    let text = std::fs::read_to_string(&summary).unwrap();
    let headline = text.lines().nth(2).unwrap_or_default();
    assert!(
        headline.starts_with("⛔ benchmark failed (exit 2): ")
            && headline.contains("concurency")
            && headline.ends_with(" · `abcdef0` · run #77"),
        "{text}"
    );
    assert!(!text.contains("all good last week"), "{text}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("⛔ benchmark failed (exit 2)"),
        "the dry run prints the comment: {stdout}"
    );
}
