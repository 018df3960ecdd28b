//! The action's shell steps (.github/action/run.sh) with a fake Actions environment.

use super::*;

use super::binary::all_files;

/// The action end to end, as a pull request sees it: bless a baseline on the base
/// branch, change `baselines/` in the pull request, run, compare (against the base
/// branch's baselines), publish the comment, job summary and outputs, and gate.
#[tokio::test(flavor = "multi_thread")]
async fn the_action_steps_run_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = config_repo(tmp.path(), CONFIG_TARGETS, CONFIG_WORKLOADS);
    std::fs::write(repo.join(".gitignore"), "llm-bench-results/\n").unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "configs"]);

    // 1. The bless workflow: run with bless on a workflow_dispatch event.
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("GITHUB_EVENT_NAME", "workflow_dispatch".into()),
            (
                "GITHUB_OUTPUT",
                tmp.path().join("bless-output").display().to_string(),
            ),
            ("LB_BLESS", "true".into()),
            ("LB_BLESS_REASON", "first baseline".into()),
            ("LB_BLESSED_BY", "octocat".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("::group::llm-bench run"),
        "long logs are grouped"
    );
    let baseline = repo.join("baselines/sim/smoke.json");
    assert!(baseline.is_file(), "bless wrote the baseline\n{}", show(&o));
    assert!(
        std::fs::read_to_string(&baseline)
            .unwrap()
            .contains("octocat"),
        "blessed by the actor"
    );
    // The same workflow with `append`: the run joins the baseline's window of runs.
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("GITHUB_EVENT_NAME", "workflow_dispatch".into()),
            (
                "GITHUB_OUTPUT",
                tmp.path().join("append-output").display().to_string(),
            ),
            ("LB_BLESS", "true".into()),
            ("LB_BLESS_APPEND", "true".into()),
            ("LB_BLESS_REASON", "second run".into()),
            ("LB_BLESSED_BY", "octocat".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let appended: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(
        appended["runs"].as_array().map(Vec::len),
        Some(2),
        "bless-append keeps both runs\n{}",
        show(&o)
    );
    git(&repo, &["add", "baselines"]);
    git(&repo, &["commit", "-q", "-m", "bless"]);
    let base_sha = git(&repo, &["rev-parse", "HEAD"]);

    // 2. The pull request deletes that baseline: were its own baselines used, the
    // scenario would be "new"; the base branch's make it "compared".
    git(&repo, &["checkout", "-q", "-b", "pr"]);
    git(&repo, &["rm", "-q", "baselines/sim/smoke.json"]);
    git(&repo, &["commit", "-q", "-m", "drop the baseline"]);

    let bench_out = tmp.path().join("bench-output");
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("GITHUB_EVENT_NAME", "pull_request".into()),
            ("GITHUB_OUTPUT", bench_out.display().to_string()),
            ("LB_BASE_SHA", base_sha.clone()),
            ("LB_WORKLOADS", "smoke".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let bench = read_outputs(&bench_out);
    assert_eq!(bench["results-dir"], "llm-bench-results");
    assert_eq!(bench["baselines-changed"], "baselines/sim/smoke.json");
    let (code, dir) = bench["runs"].split_once(' ').unwrap();
    assert_eq!(dir, "llm-bench-results");
    assert!(["0", "1"].contains(&code), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("::warning title=llm-bench::this pull request changes baselines/"),
        "{}",
        show(&o)
    );
    let results = repo.join("llm-bench-results");
    let comparison: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("comparison.json")).unwrap())
            .unwrap();
    assert_eq!(
        comparison["scenarios"][0]["status"], "compared",
        "judged by the base branch's baseline"
    );

    // 3. Publish: the sticky comment on the mock API, the job summary, the outputs.
    let server = MockServer::start().await;
    let fake = FakeGithub::default();
    fake.mount(&server).await;
    let head_sha = git(&repo, &["rev-parse", "HEAD"]);
    let event = tmp.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({"pull_request": {"number": PR, "base": {"sha": base_sha}, "head": {"sha": head_sha}}})
            .to_string(),
    )
    .unwrap();
    let summary = tmp.path().join("step-summary.md");
    let publish_out = tmp.path().join("publish-output");
    let publish_env = || {
        vec![
            ("GITHUB_EVENT_NAME", "pull_request".to_string()),
            ("GITHUB_EVENT_PATH", event.display().to_string()),
            ("GITHUB_REPOSITORY", "acme/serving".to_string()),
            ("GITHUB_API_URL", server.uri()),
            ("GITHUB_SERVER_URL", "https://github.com".to_string()),
            ("GITHUB_RUN_ID", "4242".to_string()),
            ("GITHUB_TOKEN", TOKEN.to_string()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
            ("GITHUB_OUTPUT", publish_out.display().to_string()),
            ("LB_RUNS", bench["runs"].clone()),
            ("LB_RESULTS_DIR", bench["results-dir"].clone()),
            ("LB_BASELINES_CHANGED", bench["baselines-changed"].clone()),
            ("LB_ERRORS", bench["errors"].clone()),
            ("LB_PATH_ALIAS", bench["path-alias"].clone()),
            ("GITHUB_RUN_NUMBER", "12".to_string()),
            ("LB_BASELINE_DIR", "baselines".to_string()),
            ("LB_COMMENT", "true".to_string()),
            ("LB_COMMENT_KEY", "sim-pr".to_string()),
            (
                "LB_ARTIFACT_URL",
                "https://github.com/acme/serving/actions/runs/4242/artifacts/1".to_string(),
            ),
        ]
    };
    let o = action_step(&repo, "publish", publish_env()).await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let comments = fake.comments();
    assert_eq!(comments.len(), 1, "{}", show(&o));
    let posted = &comments[0].1;
    let mut lines = posted.lines();
    assert_eq!(lines.next(), Some("<!-- llm-bench:sim-pr -->"));
    let headline = lines.next().unwrap();
    assert!(
        (headline.starts_with("✅ No regression in 1 scenario · `")
            || headline.starts_with("❌ Regression in `smoke`: "))
            && headline.contains(&format!(" · `{}` · [run #12]", &head_sha[..7])),
        "the verdict comes first, with the pull request's head commit: {headline}"
    );
    assert!(
        headline.contains(" · [run #12](https://github.com/acme/serving/actions/runs/4242) · [results artifact](https://github.com/acme/serving/actions/runs/4242/artifacts/1)"),
        "the verdict comes first: {headline}"
    );
    assert!(
        posted.contains(
            "> [!WARNING]\n> This pull request changes `baselines/` (`baselines/sim/smoke.json`)."
        ),
        "{posted}"
    );
    assert!(
        posted.contains("### ") && posted.contains("`smoke`"),
        "{posted}"
    );
    assert!(
        !posted.contains("runner-temp") && posted.contains("baselines in `baselines`"),
        "the base commit's baselines are shown under their own name, not the runner's scratch path: {posted}"
    );
    let step_summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        step_summary.starts_with(&format!("## llm-bench · target `sim`\n\n{headline}\n")),
        "the job summary has a heading per target: {step_summary}"
    );
    assert!(step_summary.contains("This pull request changes `baselines/`"));
    let outputs = read_outputs(&publish_out);
    let expected_verdict = match comparison["outcome"].as_str().unwrap() {
        "not_comparable" => "not-comparable",
        other => other,
    };
    assert_eq!(outputs["verdict"], expected_verdict);
    assert_eq!(
        outputs["regressions"],
        comparison["totals"]["regressions"].to_string()
    );
    assert_eq!(outputs["results-dir"], "llm-bench-results");
    assert_eq!(outputs["report"], "llm-bench-results/comparison.md");
    assert!(
        outputs["comment-url"].ends_with("#issuecomment-1000"),
        "{outputs:?}"
    );

    // Publishing again (a re-run) edits the same comment.
    std::fs::remove_file(&publish_out).unwrap();
    let o = action_step(&repo, "publish", publish_env()).await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(fake.comments().len(), 1);
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains(TOKEN)
            && !String::from_utf8_lossy(&o.stderr).contains(TOKEN),
        "{}",
        show(&o)
    );
    for (path, text) in all_files(tmp.path()) {
        assert!(!text.contains(TOKEN), "token in {}", path.display());
    }

    // 4. The gate: the real verdict, then each verdict on its own.
    let gate = |verdict: &str, fail: &str| {
        vec![
            ("LB_VERDICT", verdict.to_string()),
            ("LB_REGRESSIONS", "2".to_string()),
            ("LB_FAIL_ON_REGRESSION", fail.to_string()),
        ]
    };
    let o = action_step(&repo, "gate", gate(&outputs["verdict"], "true")).await;
    assert_eq!(
        o.status.code(),
        Some(if outputs["verdict"] == "regression" {
            1
        } else {
            0
        }),
        "{}",
        show(&o)
    );
    for (verdict, fail, code) in [
        ("pass", "true", 0),
        ("regression", "true", 1),
        ("regression", "false", 0),
        ("not-comparable", "true", 0),
        ("error", "false", 1),
        ("", "true", 1),
    ] {
        let o = action_step(&repo, "gate", gate(verdict, fail)).await;
        assert_eq!(
            o.status.code(),
            Some(code),
            "gate {verdict:?} fail-on-regression {fail}\n{}",
            show(&o)
        );
        if code == 1 {
            assert!(
                String::from_utf8_lossy(&o.stderr).contains("::error title=llm-bench::"),
                "{}",
                show(&o)
            );
        }
    }

    // 5. A pull request may not bless.
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("LB_BLESS", "true".into()),
            ("LB_BLESS_REASON", "sneaky".into()),
            ("LB_BASE_SHA", base_sha.clone()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("bless is refused on pull requests and merge queues"),
        "{}",
        show(&o)
    );
}
