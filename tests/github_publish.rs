//! What the action publishes for scenarios without a baseline and for several targets:
//! the `new` verdict with one warning per new scenario, and one heading per target in
//! the job summary, each section closed before the next begins.

#[path = "common/action_env.rs"]
mod action_env;
use action_env::{action_step, config_repo, read_outputs, show, CONFIG_WORKLOADS};

const TWO_TARGETS: &str = "default: sim\ntargets:\n  sim:\n    builtin: sim\n    sim: { ttft_ms: 3, itl_ms: 0.5 }\n    api: chat\n  sim2:\n    builtin: sim\n    sim: { ttft_ms: 4, itl_ms: 0.5 }\n    api: chat\n";

/// No baselines at all, two targets: nothing was compared, so the verdict is `new`,
/// not `pass`; every new scenario is a warning; the job summary has a section per
/// target.
#[tokio::test(flavor = "multi_thread")]
async fn new_scenarios_warn_and_each_target_has_its_own_section() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = config_repo(tmp.path(), TWO_TARGETS, CONFIG_WORKLOADS);
    let bench_out = tmp.path().join("bench-output");
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("GITHUB_EVENT_NAME", "push".into()),
            ("GITHUB_OUTPUT", bench_out.display().to_string()),
            ("LB_TARGETS", "sim, sim2".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let bench = read_outputs(&bench_out);
    assert_eq!(
        bench["runs"],
        "0 llm-bench-results/sim\n0 llm-bench-results/sim2",
        "{}",
        show(&o)
    );

    let summary = tmp.path().join("summary.md");
    let publish_out = tmp.path().join("publish-output");
    let o = action_step(
        &repo,
        "publish",
        vec![
            ("GITHUB_EVENT_NAME", "push".into()),
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
    assert_eq!(read_outputs(&publish_out)["verdict"], "new", "{}", show(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        stdout
            .matches("::warning title=llm-bench%3A no baseline::smoke: no baseline at ")
            .count(),
        2,
        "one warning per new scenario and target: {stdout}"
    );
    assert!(!stdout.contains("runner-temp"), "{stdout}");

    let text = std::fs::read_to_string(&summary).unwrap();
    let first = text.find("## llm-bench · target `sim`\n").expect(&text);
    let second = text.find("## llm-bench · target `sim2`\n").expect(&text);
    assert_eq!(first, 0, "{text}");
    assert!(
        text[..second].ends_with("</sub>\n\n"),
        "the first section's footer is closed by a blank line before the next heading: {text}"
    );
    assert_eq!(
        text.matches("🆕 Nothing compared: no baseline yet for `smoke`")
            .count(),
        2,
        "{text}"
    );

    // The gate passes `new`, with a note.
    let o = action_step(&repo, "gate", vec![("LB_VERDICT", "new".into())]).await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing was compared"));
}
