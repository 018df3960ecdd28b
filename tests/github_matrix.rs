//! The matrix workflow (benchmark-matrix.yml) run as the runner runs it, without
//! GitHub: three shard jobs (the action's `bench` step with `run-args: --shard I/3`),
//! their folders laid out as actions/download-artifact leaves them, then the merge
//! job (`bench` with `merge-from`, `publish`, `gate`): one comparison of the merged
//! run, a regression found and the job failed.

use std::path::{Path, PathBuf};

#[path = "common/action_env.rs"]
mod action_env;
use action_env::{action_step, config_repo, read_outputs, show};

const WORKLOADS: &str = "defaults:
  warmup: 1
prompts:
  short:
    text: \"Say hi.\"
scenarios:
  a: { prompt: short, concurrency: 2, requests: 8 }
  b: { prompt: short, concurrency: 2, requests: 8 }
  c: { prompt: short, rate: 100, requests: 8 }
";

fn targets(ttft_ms: u32) -> String {
    format!("default: sim\ntargets:\n  sim:\n    builtin: sim\n    sim: {{ ttft_ms: {ttft_ms}, itl_ms: 0.5 }}\n    api: chat\n")
}

fn repo(tmp: &Path) -> PathBuf {
    config_repo(tmp, &targets(3), WORKLOADS)
}

/// The `bench` step on a push; returns its outputs.
async fn bench(
    repo: &Path,
    tmp: &Path,
    name: &str,
    vars: Vec<(&'static str, String)>,
) -> std::collections::HashMap<String, String> {
    let out = tmp.join(format!("{name}-output"));
    let mut env = vec![
        ("GITHUB_EVENT_NAME", "push".to_string()),
        ("GITHUB_OUTPUT", out.display().to_string()),
    ];
    env.extend(vars);
    let o = action_step(repo, "bench", env).await;
    assert_eq!(o.status.code(), Some(0), "{name}: {}", show(&o));
    read_outputs(&out)
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_merged_by_the_action_are_judged_as_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo(tmp.path());
    // Baselines of all three scenarios, blessed from one run of a fast server.
    let blessed = bench(
        &repo,
        tmp.path(),
        "bless",
        vec![
            ("LB_BLESS", "true".into()),
            ("LB_BLESS_REASON", "first numbers".into()),
            ("LB_RUN_ARGS", "--trials 4".into()),
        ],
    )
    .await;
    assert!(blessed["runs"].starts_with("0 "), "{blessed:?}");
    for s in ["a", "b", "c"] {
        assert!(
            repo.join(format!("baselines/sim/{s}.json")).is_file(),
            "{s}"
        );
    }

    // The server got slower; each shard job runs its part and uploads its folder.
    std::fs::write(repo.join("configs/targets.yaml"), targets(40)).unwrap();
    let downloads = tmp.path().join("runner-temp-shards");
    for i in 1..=3 {
        let outputs = bench(
            &repo,
            tmp.path(),
            &format!("shard-{i}"),
            vec![
                ("LB_RUN_ARGS", format!("--shard {i}/3 --trials 4")),
                ("LB_RESULTS_DIR", format!("results-{i}")),
            ],
        )
        .await;
        let dir = repo.join(&outputs["results-dir"]);
        // actions/download-artifact with a pattern: one folder per artifact.
        let artifact = downloads.join(format!("llm-bench-shard-{i}"));
        copy_dir(&dir, &artifact);
    }

    // The merge job.
    let merged = bench(
        &repo,
        tmp.path(),
        "merge",
        vec![("LB_MERGE_FROM", downloads.display().to_string())],
    )
    .await;
    assert_eq!(merged["runs"], "1 llm-bench-results", "{merged:?}");
    let results = repo.join("llm-bench-results");
    let comparison: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("comparison.json")).unwrap())
            .unwrap();
    let mut names: Vec<&str> = comparison["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scenario"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["a", "b", "c"],
        "one comparison of every shard's scenarios"
    );

    let publish_out = tmp.path().join("publish-output");
    let o = action_step(
        &repo,
        "publish",
        vec![
            ("GITHUB_EVENT_NAME", "push".into()),
            ("GITHUB_OUTPUT", publish_out.display().to_string()),
            ("LB_RUNS", merged["runs"].clone()),
            ("LB_ERRORS", merged["errors"].clone()),
            ("LB_RESULTS_DIR", merged["results-dir"].clone()),
            ("LB_COMMENT", "false".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let published = read_outputs(&publish_out);
    assert_eq!(published["verdict"], "regression", "{}", show(&o));
    let o = action_step(
        &repo,
        "gate",
        vec![
            ("LB_VERDICT", published["verdict"].clone()),
            ("LB_REGRESSIONS", published["regressions"].clone()),
            ("LB_FAIL_ON_REGRESSION", "true".into()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));

    // A missing shard fails the merge job, naming what is missing.
    std::fs::remove_dir_all(downloads.join("llm-bench-shard-2")).unwrap();
    let out = tmp.path().join("missing-output");
    let o = action_step(
        &repo,
        "bench",
        vec![
            ("GITHUB_EVENT_NAME", "push".into()),
            ("GITHUB_OUTPUT", out.display().to_string()),
            ("LB_MERGE_FROM", downloads.display().to_string()),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let outputs = read_outputs(&out);
    assert_eq!(outputs["runs"], "2 llm-bench-results", "{}", show(&o));
    assert!(
        outputs["errors"].contains("`run.shard` 2/3 missing"),
        "{outputs:?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
