//! `llm-bench comment` as a library call: step summary, outputs, truncation.

use super::*;

pub(super) fn results_dir(
    tmp: &Path,
    markdown: &str,
    comparison: Option<serde_json::Value>,
) -> std::path::PathBuf {
    let dir = tmp.join("results");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.md"), "## report.md: not this one\n").unwrap();
    std::fs::write(dir.join("comparison.md"), markdown).unwrap();
    if let Some(json) = comparison {
        std::fs::write(
            dir.join("comparison.json"),
            serde_json::to_string_pretty(&json).unwrap(),
        )
        .unwrap();
    }
    dir
}

fn env_for(server: &MockServer, tmp: &Path) -> GithubEnv {
    let event = tmp.join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"pull_request": {"number": PR}, "number": PR}).to_string(),
    )
    .unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
        ("GITHUB_REPOSITORY", "acme/serving".to_string()),
        ("GITHUB_EVENT_NAME", "pull_request".to_string()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_API_URL", server.uri()),
        ("GITHUB_SERVER_URL", "https://github.com".to_string()),
        ("GITHUB_RUN_ID", "99".to_string()),
        (
            "GITHUB_STEP_SUMMARY",
            tmp.join("summary.md").display().to_string(),
        ),
        ("GITHUB_OUTPUT", tmp.join("output").display().to_string()),
    ]);
    GithubEnv::from_lookup(&move |k| vars.get(k).cloned())
}

fn options(dir: &Path, strict: bool) -> CommentOptions {
    let args = CommentArgs {
        results_dir: dir.to_path_buf(),
        key: "default".into(),
        pr: None,
        strict,
        file: None,
        notes: vec!["This pull request changes `baselines/`.".into()],
        artifact_url: None,
        dry_run: false,
        author: None,
        path_aliases: vec![],
        run_failed: None,
        error: None,
        bless_workflow: None,
    };
    CommentOptions::try_from(&args).unwrap()
}

/// A comparison far over 65,536 characters: per-scenario details go first, the note
/// says so and points at the run's artifacts, and the job summary keeps it all.
#[tokio::test]
async fn long_reports_are_shortened_to_the_limit() {
    let server = MockServer::start().await;
    let fake = FakeGithub::default();
    fake.mount(&server).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut md = String::from("## llm-bench comparison\n\n❌ 1 regression\n\n");
    for i in 0..12 {
        md.push_str(&format!(
            "<details><summary><b>scenario-{i}</b></summary>\n\n{}\n\n</details>\n\n",
            "| x | y |\n".repeat(1000)
        ));
    }
    let dir = results_dir(tmp.path(), &md, None);
    let code = run_comment(&options(&dir, false), &env_for(&server, tmp.path()), fast())
        .await
        .unwrap();
    assert_eq!(code, 0);
    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    let posted = &comments[0].1;
    assert!(
        posted.chars().count() <= 65_536,
        "{} characters",
        posted.chars().count()
    );
    assert!(posted.starts_with(&marker("default")));
    assert!(
        posted.contains("> [!WARNING]\n> This pull request changes `baselines/`."),
        "the note comes first"
    );
    assert!(posted.contains("❌ 1 regression"));
    assert!(
        posted.contains("`scenario-11`"),
        "the note names what was left out"
    );
    assert!(posted.contains("https://github.com/acme/serving/actions/runs/99"));
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("scenario-11</b>"),
        "the job summary (1 MiB) keeps every scenario"
    );
    assert!(
        !summary.contains("llm-bench:default"),
        "no marker in the summary"
    );
}

#[tokio::test]
async fn outputs_and_summary_are_written_even_when_posting_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            serde_json::json!({"message": "Resource not accessible by integration"}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    FakeGithub::default().mount(&server).await;
    let tmp = tempfile::tempdir().unwrap();
    let comparison = serde_json::json!({
        "schema_version": 1, "tool_version": "0.1.0", "run_id": "r1", "target": "sim", "baseline_dir": "baselines",
        "correction": "holm", "gated_tests": 8, "strict": false,
        "totals": {"regressions": 2, "improvements": 0, "within_noise": 6, "inconclusive": 0, "not_comparable": 0, "new": 0},
        "outcome": "regression", "scenarios": []
    });
    let dir = results_dir(
        tmp.path(),
        "## comparison\n\n❌ 2 regressions\n",
        Some(comparison),
    );
    let env = env_for(&server, tmp.path());
    // Not strict: a warning, exit 0.
    assert_eq!(
        run_comment(&options(&dir, false), &env, fast())
            .await
            .unwrap(),
        0
    );
    let outputs = std::fs::read_to_string(tmp.path().join("output")).unwrap();
    assert!(outputs.contains("verdict=regression\n"), "{outputs}");
    assert!(outputs.contains("regressions=2\n"), "{outputs}");
    assert!(
        outputs.contains(&format!("results-dir={}\n", dir.display())),
        "{outputs}"
    );
    assert!(
        outputs.contains(&format!("report={}\n", dir.join("comparison.md").display())),
        "{outputs}"
    );
    assert!(std::fs::read_to_string(tmp.path().join("summary.md"))
        .unwrap()
        .contains("❌ 2 regressions"));
    // Strict: the same refusal fails the command, with the fix in the message.
    let err = run_comment(&options(&dir, true), &env, fast())
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("pull-requests: write"),
        "{err:#}"
    );
}
